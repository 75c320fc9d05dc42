// {{name}}.js: a workflow written in JavaScript. Run it with
//     orchestrator run {{name}}.js --input '{"who":"world"}'
//
// The script runs as the body of an async function, so it may `await` at the top level; `export default` at the end
// gives the run's result (a top-level `return` ends the run early, which editors flag as outside a function).
// Every verb that does work is a *step*: it gets a stable id (its name and its place in the step tree), and
// its input, output and timing go to the journal in .orchestrator/journal.db. If the run is interrupted,
// `orchestrator resume <run id>` replays the finished steps from the journal and goes on from the first
// unfinished one; so keep time, randomness and I/O inside steps. Everything that crosses a step is JSON.

// The run's input (--input JSON), or null.
const who = input?.who ?? "world";

// Run an agent: a plugin found by its kind. `shell` runs a real process and returns
// { exitCode, stdout, stderr, durationMs }; a non-zero exit code rejects (throws here).
// The second argument is a step name or options: { name, recovery: ["retry"], timeoutMs, severity, fallback, compensate }.
const greeting = await agent("shell").run({ command: "echo", args: [`hello, ${who}`] }, "greet");

// Branches that run at the same time, merged by a policy: allMustSucceed (the default), firstSuccess,
// collectAll, or a function (key, current, incoming) => value. The result has one key per branch.
const facts = await parallel("facts", {
  kernel: () => agent("shell").run({ command: "uname", args: ["-s"] }),
  words: () => agent("shell").run({ script: "echo one two three | wc -w" }),
}, { merge: "allMustSucceed" });

// A step of your own code: its result is journaled, so a resumed run gets the same value without running it again.
const summary = await step("summary", async () => ({
  greeting: greeting.stdout.trim(),
  kernel: facts.kernel.stdout.trim(),
  words: parseInt(facts.words.stdout.trim(), 10),
}));

// log goes to the run's log file (and stderr with -v).
log(`summary ready for ${who}`);

// The handoff: data for the run's report (.orchestrator/reports/<run id>.md, .html, .json); a Scriban
// template of your own may be passed as a third argument, relative to this script.
await handoff("{{name}}", summary);

// More verbs: sequence(...) for stages that pass a context on, checkpoint(...) and setRecovery(...) for
// recovery, masterWorker(...), consensus(...), validate(...), qa(...). Every verb, in both
// languages: docs/reference/dsl.md in the OrchestratorEngine repository.

// The run's result.
export default summary;
