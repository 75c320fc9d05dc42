// fan-out.js: master-worker over real processes. The master lists the files to count and makes one
// subtask per file; `shell` workers count each file's lines and characters with `wc`, three at a time;
// the master hears as each finishes and adds up what they found. Run it with
//   dotnet run --project engine/Orchestrator.Cli -- run scripts/fan-out.js --input '{"dir":"scripts","pattern":"*.js"}'
// The journal shows count/split (with its own count/split/list), count/subtask-0, -1, … and count/integrate.

const dir = input?.dir ?? ".";
const pattern = input?.pattern ?? "*";

const counted = await masterWorker("count", { dir, pattern }, {
  // The master: each subtask is a ready-made input for the shell agent.
  split: async (task) => {
    const listed = await agent("shell").run(
      { command: "find", args: [".", "-maxdepth", "1", "-type", "f", "-name", task.pattern], cwd: task.dir }, "list");
    return listed.stdout.split("\n")
      .filter((line) => line !== "")
      .map((path) => path.replace(/^\.\//, ""))
      .sort()
      .map((file) => ({ command: "wc", args: ["-l", "-m", file], cwd: task.dir }));
  },
  worker: "shell",
  recovery: [{ strategy: "retry", maxAttempts: 2, delayMs: 100 }],
  concurrency: 3,
  onProgress: (p) => log(`counted ${p.done} of ${p.total} files`),
  // `wc -l -m name` prints "lines chars name"; the results come in subtask order, whatever finished first.
  integrate: (results) => {
    const perFile = results.map((result) => {
      const [lines, chars, ...name] = result.stdout.trim().split(/\s+/);
      return { file: name.join(" "), lines: Number(lines), chars: Number(chars) };
    });
    return {
      files: perFile.length,
      lines: perFile.reduce((sum, f) => sum + f.lines, 0),
      chars: perFile.reduce((sum, f) => sum + f.chars, 0),
      perFile,
    };
  },
});

await handoff("fan-out", counted);
export default counted;
