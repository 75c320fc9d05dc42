// {{name}}.csx: a workflow written as a C# script. Run it with
//     orchestrator run {{name}}.csx --input '{"who":"world"}'
//
// The script talks to the orchestrator through a few verbs. Every verb that does work is a *step*: it gets
// a stable id (its name and its place in the step tree), and its input, output and timing go to the journal
// in .orchestrator/journal.db. If the run is interrupted, `orchestrator resume <run id>` replays the finished
// steps from the journal and goes on from the first unfinished one; so keep time, randomness and I/O inside steps.
// Everything that crosses a step is JSON (System.Text.Json.Nodes.JsonNode).

// The run's input (--input JSON), or null.
var who = Input?["who"]?.GetValue<string>() ?? "world";

// Run an agent: a plugin found by its kind. `shell` runs a real process and returns
// { exitCode, stdout, stderr, durationMs }; a non-zero exit code fails the step (and throws here).
// Options: name:, recovery: Recovery("retry", new { maxAttempts = 3 }), timeout:, severity:, fallback:, compensate:.
var greeting = await Agent("shell").RunAsync(new { command = "echo", args = new[] { $"hello, {who}" } }, name: "greet");

// Branches that run at the same time, merged by a policy: AllMustSucceed, FirstSuccess, CollectAll or
// Merge.Combine((key, current, incoming) => ...). The result is an object with one key per branch.
var facts = await Parallel("facts", Merge.AllMustSucceed,
    Branch("kernel", () => Agent("shell").RunAsync(new { command = "uname", args = new[] { "-s" } })),
    Branch("words", () => Agent("shell").RunAsync(new { script = "echo one two three | wc -w" })));

// A step of your own code: its result is journaled, so a resumed run gets the same value without running it again.
var summary = await Step("summary", () => new
{
    greeting = greeting!["stdout"]!.GetValue<string>().Trim(),
    kernel = facts!["kernel"]!["stdout"]!.GetValue<string>().Trim(),
    words = int.Parse(facts!["words"]!["stdout"]!.GetValue<string>().Trim()),
});

// Log goes to the run's log file (and stderr with -v).
Log($"summary ready for {who}");

// The handoff: data for the run's report (.orchestrator/reports/<run id>.md, .html, .json); a Scriban
// template of your own may be passed as a third argument, relative to this script.
await Handoff("{{name}}", summary);

// More verbs: Sequence(...) for stages that pass a context on, Checkpoint(...) and SetRecovery(...) for
// recovery, MasterWorker(...), Consensus(...), Validate(...), Qa(...). Every verb, in both
// languages: docs/reference/dsl.md in the OrchestratorEngine repository.

// What the script returns is the run's result.
return summary;
