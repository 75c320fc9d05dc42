// hello.csx: the smallest complete workflow. Run it with
//   dotnet run --project engine/Orchestrator.Cli -- run scripts/hello.csx --input '{"name":"you"}'
// Every verb below is a journaled step; `orchestrator runs show <id>` lists them.

var name = Input?["name"]?.GetValue<string>() ?? "world";

// One agent call: the standard `shell` agent runs a real child process.
var greeting = await Agent("shell").RunAsync(new { command = "echo", args = new[] { $"hello, {name}" } });

// Two branches at once; every branch must succeed, and the result maps branch name to output.
var facts = await Parallel("facts", Merge.AllMustSucceed,
    Branch("kernel", () => Agent("shell").RunAsync(new { command = "uname", args = new[] { "-s" } })),
    Branch("words", () => Agent("shell").RunAsync(new { script = "echo one two three | wc -w" })));

// Script code as a step: its result is journaled like an agent's.
var summary = await Step("summary", () => new
{
    greeting = greeting!["stdout"]!.GetValue<string>().Trim(),
    kernel = facts!["kernel"]!["stdout"]!.GetValue<string>().Trim(),
    words = int.Parse(facts!["words"]!["stdout"]!.GetValue<string>().Trim()),
});

// The handoff: what the run's report shows.
await Handoff("hello", summary);
return summary;
