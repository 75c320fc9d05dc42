// phases.csx: a phase that learns how to run. It checksums every file of a folder with `sha256sum`, one
// process per file, and offers the engine two strategies: one file at a time, or four at once. The first
// runs try each; from then on the engine picks the one that has done better (UCB over success and speed,
// from the store), and a strategy whose items start failing or slowing down is left mid-phase for the next
// best. Run it a few times, then see what was learned:
//   dotnet run --project engine/Orchestrator.Cli -- run scripts/phases.csx --input '{"dir":"scripts"}'
//   dotnet run --project engine/Orchestrator.Cli -- stats
// The journal shows checksum/strategy (the choice and its reasons), checksum/item-0, -1, … and any checksum/adapt.

var dir = Input?["dir"]?.GetValue<string>() ?? ".";
var files = Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();

// Anomalies (a latency spike against the baselines of earlier runs) are journaled; here they are also logged.
OnAnomaly(anomaly => { Log($"anomaly: {anomaly["metric"]} at {anomaly["value"]} ms"); return "logged"; });

var sums = await Phase("checksum", files.Select(file => new { command = "sha256sum", args = new[] { file! }, cwd = dir }),
    new[]
    {
        Strategy("one-at-a-time", agent: "shell"),
        Strategy("fan-out", agent: "shell", mode: "parallel", concurrency: 4, minEffectiveness: 0.2),
    },
    integrate: results => results.Select(r => r!["stdout"]!.GetValue<string>().Split(' ', 2)[0]).ToList());

var summary = new { files = files.Count, distinct = sums!.AsArray().Select(s => s!.GetValue<string>()).Distinct().Count() };
await Handoff("phases", summary);
return summary;
