// hello.js: the same workflow as hello.csx, in JavaScript. Run it with
//   dotnet run --project engine/Orchestrator.Cli -- run scripts/hello.js --input '{"name":"you"}'
// Every verb below is a journaled step; `orchestrator runs show <id>` lists them.

const name = input?.name ?? "world";

// One agent call: the standard `shell` agent runs a real child process.
const greeting = await agent("shell").run({ command: "echo", args: [`hello, ${name}`] });

// Two branches at once; every branch must succeed, and the result maps branch name to output.
const facts = await parallel("facts", {
  kernel: () => agent("shell").run({ command: "uname", args: ["-s"] }),
  words: () => agent("shell").run({ script: "echo one two three | wc -w" }),
}, { merge: "allMustSucceed" });

// Script code as a step: its result is journaled like an agent's.
const summary = await step("summary", async () => ({
  greeting: greeting.stdout.trim(),
  kernel: facts.kernel.stdout.trim(),
  words: parseInt(facts.words.stdout.trim(), 10),
}));

// The handoff: what the run's report shows.
await handoff("hello", summary);
export default summary;
