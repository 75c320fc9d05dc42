// A release that waits for people and for the world (docs/waits.md):
//   orchestrator run scripts/release.csx --input '{"version":"1.4.2"}'     exits 3: waiting for approval 'deploy'
//   orchestrator approve <runId> deploy --comment "ship it" --resume       deploys, then exits 3: waiting for event 'healthy'
//   orchestrator signal <runId> healthy --data '{"healthy":true,"p99Ms":180}'
//   orchestrator resume <runId>                                            succeeds (a running host does these resumes itself)
var version = Input?["version"]?.GetValue<string>() ?? "1.0.0";
var build = await Agent("shell").RunAsync(new { script = $"echo built release-{version}.tar.gz" }, name: "build");
var artifact = build!["stdout"]!.GetValue<string>().Trim()["built ".Length..];

var decision = await Approval("deploy", new { version, artifact }, timeout: TimeSpan.FromHours(4));
await Agent("shell").RunAsync(new { script = $"echo deployed {artifact}" }, name: "deploy-production");

// The monitoring system sends `healthy` once the new version has served traffic for a while.
var health = await WaitForEvent("healthy", TimeSpan.FromMinutes(30));
var verdict = await Step("verdict", () => new
{
    version,
    approvedBy = decision!["by"]!.GetValue<string>(),
    healthy = health?["healthy"]?.GetValue<bool>() == true,
});
await Handoff("release", verdict);
return verdict;
