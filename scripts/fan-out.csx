// fan-out.csx: master-worker over real processes. The master lists the files to count and makes one
// subtask per file; `shell` workers count each file's lines and characters with `wc`, three at a time;
// the master hears as each finishes and adds up what they found. Run it with
//   dotnet run --project engine/Orchestrator.Cli -- run scripts/fan-out.csx --input '{"dir":"scripts","pattern":"*.csx"}'
// The journal shows count/split (with its own count/split/list), count/subtask-0, -1, … and count/integrate.

var dir = Input?["dir"]?.GetValue<string>() ?? ".";
var pattern = Input?["pattern"]?.GetValue<string>() ?? "*";

var counted = await MasterWorker("count", new { dir, pattern },
    // The master: each subtask is a ready-made input for the shell agent.
    Split(async task =>
    {
        var folder = task!["dir"]!.GetValue<string>();
        var listed = await Agent("shell").RunAsync(
            new { command = "find", args = new[] { ".", "-maxdepth", "1", "-type", "f", "-name", task["pattern"]!.GetValue<string>() }, cwd = folder }, "list");
        return listed!["stdout"]!.GetValue<string>().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(path => path.StartsWith("./", StringComparison.Ordinal) ? path[2..] : path)
            .Order(StringComparer.Ordinal)
            .Select(file => new { command = "wc", args = new[] { "-l", "-m", file }, cwd = folder });
    }),
    Worker("shell"),
    // `wc -l -m name` prints "lines chars name"; the results come in subtask order, whatever finished first.
    Integrate(results =>
    {
        var perFile = results.Select(result =>
        {
            var fields = result!["stdout"]!.GetValue<string>().Trim().Split((char[]?)null, 3, StringSplitOptions.RemoveEmptyEntries);
            return new { file = fields[2], lines = int.Parse(fields[0]), chars = int.Parse(fields[1]) };
        }).ToList();
        return new { files = perFile.Count, lines = perFile.Sum(f => f.lines), chars = perFile.Sum(f => f.chars), perFile };
    }),
    concurrency: 3,
    recovery: Recovery("retry", new { maxAttempts = 2, delayMs = 100 }),
    onProgress: p => Log($"counted {p.Done} of {p.Total} files"));

await Handoff("fan-out", counted);
return counted;
