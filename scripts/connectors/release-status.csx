// Reports the repository's head commit to a status webhook through two connectors: "git" from connectors.json
// beside this script, "webhook" defined here from the input. The webhook's token is a ${secret:...} reference,
// resolved by the engine and masked (***) in the journal, the log and the report.
DefineConnector("webhook", new
{
    type = "http",
    baseUrl = Input!["webhook"]!.GetValue<string>(),
    headers = new { Authorization = "Bearer ${secret:WEBHOOK_TOKEN}" },
    health = new { path = "/health" },
});

var git = await Connector("git").HealthAsync();
var webhook = await Connector("webhook").HealthAsync();
var head = await Connector("git").RunAsync("rev-parse", "--short", "HEAD");
var commit = head!["stdout"]!.GetValue<string>().Trim();
var posted = await Connector("webhook").PostAsync("/status", new { commit, state = "ready" }, name: "publish");

var summary = new
{
    commit,
    gitHealthy = git!["healthy"]!.GetValue<bool>(),
    webhookHealthy = webhook!["healthy"]!.GetValue<bool>(),
    delivered = posted!["status"]!.GetValue<int>(),
};
await Handoff("release-status", summary);
return summary;
