// consensus.csx: three reviewers agree, peer to peer, on which file of a folder to review first. Run it with
//   dotnet run --project engine/Orchestrator.Cli -- run scripts/consensus.csx --input '{"dir":"scripts"}'
// Each reviewer judges by its own measure (lines, bytes, TODO/FIXME markers), and every measure is a real shell
// command: each proposes the file that stands out by its measure, each votes for the proposal its measure ranks
// highest, a majority decides, and each contributes its measure of the chosen file. The journal shows every phase:
// review/propose/lines/shell, review/vote/todos/shell, review/tally, review/contribute/bytes/shell, review/integrate.

var dir = Input?["dir"]?.GetValue<string>() ?? ".";
var measures = new Dictionary<string, string>
{
    ["lines"] = "wc -l < \"$f\"",
    ["bytes"] = "wc -c < \"$f\"",
    ["todos"] = "grep -c -E 'TODO|FIXME' \"$f\" || true",
};

// One shell step scores files by a measure: every file in the folder, or only the ones given (on stdin).
async Task<List<(string File, long Score)>> Score(string measure, IEnumerable<string>? files = null)
{
    var list = files is null ? "find . -maxdepth 1 -type f | sed 's|^\\./||' | sort" : "cat";
    var scored = await Agent("shell").RunAsync(new
    {
        script = list + " | while IFS= read -r f; do printf '%s\\t%s\\n' \"$(" + measures[measure] + " | tr -d ' ')\" \"$f\"; done",
        cwd = dir,
        stdin = files is null ? null : string.Join("\n", files) + "\n",
    });
    return scored!["stdout"]!.GetValue<string>().Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Select(line => line.Split('\t', 2))
        .Select(parts => (parts[1], long.Parse(parts[0])))
        .ToList();
}

// A reviewer is script code; the engine calls it once per phase, with the phase and its payload.
ConsensusPeer Reviewer(string measure) => Peer(measure, async (phase, payload) =>
{
    switch (phase)
    {
        case "propose":
            // The first file with the highest score (files are sorted, so ties go the same way every time).
            return Json((await Score(measure)).OrderByDescending(s => s.Score).First().File);
        case "vote":
            var proposals = payload!["proposals"]!.AsObject().Select(p => (Peer: p.Key, File: p.Value!.GetValue<string>())).ToList();
            var scores = (await Score(measure, proposals.Select(p => p.File).Distinct())).ToDictionary(s => s.File, s => s.Score);
            return Json(proposals.OrderByDescending(p => scores[p.File]).First().Peer);
        default:
            return Json(new Dictionary<string, long> { [measure] = (await Score(measure, new[] { payload!["plan"]!.GetValue<string>() }))[0].Score });
    }
});

return await Consensus("review", new { question = "which file to review first", dir },
    peers: new[] { Reviewer("lines"), Reviewer("bytes"), Reviewer("todos") },
    quorum: Quorum.Majority,
    integrate: (contributions, plan) =>
    {
        var report = new JsonObject { ["file"] = plan?.DeepClone() };
        foreach (var (_, contribution) in contributions)
        {
            foreach (var (key, value) in contribution!.AsObject())
            {
                report[key] = value?.DeepClone();
            }
        }

        return report;
    });
