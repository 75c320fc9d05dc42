// resilient.js: recovery, degradation and rollback in one small release workflow. Run it with
//   dotnet run --project engine/Orchestrator.Cli -- run scripts/resilient.js
// Each failure below is real (a process that exits 1, a port nobody listens on) and each rescue is
// journaled: `orchestrator runs show <id>` lists every attempt under the step it rescued.

const work = `/tmp/orchestrator-resilient-${runId}`;
await agent("shell").run({ command: "mkdir", args: ["-p", work] }, "workspace");

// A flaky step: it fails the first time (leaving a marker) and succeeds after. Retry rescues it.
const flaky = `if [ -f ${work}/tried ]; then echo built; else touch ${work}/tried; echo 'first build flakes' >&2; exit 1; fi`;
const build = await agent("shell").run({ script: flaky },
  { name: "build", recovery: [{ strategy: "retry", maxAttempts: 2, delayMs: 50, jitter: false }] });

// The primary mirror is down; fallback fetches from the local copy instead.
const fetched = await agent("http").run({ url: "http://127.0.0.1:1/artifact", timeoutMs: 2000 },
  { name: "fetch", recovery: [{ strategy: "fallback", agent: "shell", input: { command: "echo", args: ["artifact from the local cache"] } }] });

// Telemetry is nice to have: a failure there is minor and the run goes on.
classifyFailures((failure) => failure.stepId.startsWith("telemetry") ? "minor" : null);
await agent("http").run({ url: "http://127.0.0.1:1/telemetry", timeoutMs: 2000 }, "telemetry");

// Lint is optional: when it fails, its branch is dropped and the checks still pass.
const checks = await parallel("checks", {
  unit: () => agent("shell").run({ script: "echo 12 passed" }),
  lint: () => agent("shell").run({ script: "echo 'linter crashed' >&2; exit 3" }),
}, { optional: ["lint"] });

// A small saga: after the checkpoint, each step says how to undo itself. Publishing fails until the
// undo log exists, so only a rollback (compensations newest first, then one more try) gets it through.
await checkpoint("verified");
await agent("shell").run({ script: `echo staged >> ${work}/state` },
  { name: "stage", compensate: () => agent("shell").run({ script: `echo unstage >> ${work}/undo.log` }) });
await agent("shell").run({ script: `echo tagged >> ${work}/state` },
  { name: "tag", compensate: () => agent("shell").run({ script: `echo untag >> ${work}/undo.log` }) });
await agent("shell").run({ script: `test -f ${work}/undo.log` }, { name: "publish", recovery: ["rollback"] });

const undo = await agent("shell").run({ command: "cat", args: [`${work}/undo.log`] }, "undo-log");
const summary = {
  build: build.stdout.trim(),
  fetched: fetched.stdout.trim(),
  checks: Object.keys(checks),
  undone: undo.stdout.trim().split("\n"),
};
await handoff("resilient release", summary);
export default summary;
