// The same release as release.csx, in JavaScript (docs/waits.md).
const version = input?.version ?? "1.0.0";
const build = await agent("shell").run({ script: `echo built release-${version}.tar.gz` }, "build");
const artifact = build.stdout.trim().slice("built ".length);

const decision = await approval("deploy", { version, artifact }, { timeoutMs: 4 * 3600 * 1000 });
await agent("shell").run({ script: `echo deployed ${artifact}` }, "deploy-production");

// The monitoring system sends `healthy` once the new version has served traffic for a while.
const health = await waitForEvent("healthy", { timeoutMs: 30 * 60 * 1000 });
const verdict = await step("verdict", async () => ({
  version,
  approvedBy: decision.by,
  healthy: health?.healthy === true,
}));
await handoff("release", verdict);
export default verdict;
