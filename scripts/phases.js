// phases.js: the same learning phase as phases.csx, in JavaScript. Each file of a folder is checksummed
// by a real `sha256sum` process; the engine chooses between running one file at a time and four at once
// from what earlier runs in the store learned, and switches mid-phase if the chosen one stops working.
//   dotnet run --project engine/Orchestrator.Cli -- run scripts/phases.js --input '{"files":["hello.js","hello.csx"],"dir":"scripts"}'
//   dotnet run --project engine/Orchestrator.Cli -- stats --phase checksum

const dir = input?.dir ?? ".";
const files = input?.files ?? ["phases.js"];

onAnomaly((anomaly) => { log(`anomaly: ${anomaly.metric} at ${anomaly.value} ms`); return "logged"; });

const sums = await phase("checksum", files.map((file) => ({ command: "sha256sum", args: [file], cwd: dir })), {
  strategies: [
    { name: "one-at-a-time", agent: "shell" },
    { name: "fan-out", agent: "shell", mode: "parallel", concurrency: 4, minEffectiveness: 0.2 },
  ],
  integrate: (results) => results.map((r) => r.stdout.split(" ")[0]),
});

const summary = { files: files.length, distinct: new Set(sums).size };
await handoff("phases", summary);
export default summary;
