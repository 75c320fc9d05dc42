// consensus.js: three reviewers agree, peer to peer, on which file of a folder to review first. Run it with
//   dotnet run --project engine/Orchestrator.Cli -- run scripts/consensus.js --input '{"dir":"scripts"}'
// Each reviewer judges by its own measure (lines, bytes, TODO/FIXME markers), and every measure is a real shell
// command: each proposes the file that stands out by its measure, each votes for the proposal its measure ranks
// highest, a majority decides, and each contributes its measure of the chosen file. The journal shows every phase:
// review/propose/lines/shell, review/vote/todos/shell, review/tally, review/contribute/bytes/shell, review/integrate.

const dir = input?.dir ?? ".";
const measures = {
  lines: `wc -l < "$f"`,
  bytes: `wc -c < "$f"`,
  todos: `grep -c -E 'TODO|FIXME' "$f" || true`,
};

// One shell step scores files by a measure: every file in the folder, or only the ones given (on stdin).
async function score(measure, files) {
  const list = files ? "cat" : `find . -maxdepth 1 -type f | sed 's|^\\./||' | sort`;
  const scored = await agent("shell").run({
    script: `${list} | while IFS= read -r f; do printf '%s\\t%s\\n' "$(${measures[measure]} | tr -d ' ')" "$f"; done`,
    cwd: dir,
    stdin: files ? files.join("\n") + "\n" : null,
  });
  return scored.stdout.split("\n").filter((line) => line.length > 0).map((line) => {
    const tab = line.indexOf("\t");
    return { file: line.slice(tab + 1), score: Number(line.slice(0, tab)) };
  });
}

// The first entry with the highest score (files are sorted, so ties go the same way every time).
const best = (entries, scoreOf) => entries.reduce((top, e) => (scoreOf(e) > scoreOf(top) ? e : top));

// A reviewer is script code; the engine calls it once per phase, with the phase and its payload.
const reviewer = (measure) => ({
  name: measure,
  run: async (phase, payload) => {
    if (phase === "propose") {
      return best(await score(measure), (s) => s.score).file;
    }
    if (phase === "vote") {
      const proposals = Object.entries(payload.proposals);
      const scores = Object.fromEntries((await score(measure, [...new Set(proposals.map(([, file]) => file))])).map((s) => [s.file, s.score]));
      return best(proposals, ([, file]) => scores[file])[0];
    }
    return { [measure]: (await score(measure, [payload.plan]))[0].score };
  },
});

export default await consensus("review", { question: "which file to review first", dir }, {
  peers: [reviewer("lines"), reviewer("bytes"), reviewer("todos")],
  quorum: "majority",
  integrate: (contributions, plan) => Object.assign({ file: plan }, ...Object.values(contributions)),
});
