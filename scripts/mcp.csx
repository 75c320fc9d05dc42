// mcp.csx: MCP tools from two real servers, discovered from scripts/mcp.json. Run it with
//   build/install-mcp-servers.sh   # once: the pinned servers, into .tools/mcp/
//   dotnet run --project engine/Orchestrator.Cli -- run scripts/mcp.csx
// Each call is a journaled step that records the server that served it; resume never calls a finished tool again.
var tools = await Mcp.ToolsAsync();
var echo = await Mcp.CallAsync("echo", new { message = "hello from " + RunId });
var sum = await Mcp.CallAsync("get-sum", new { a = 19, b = 23 });

// server-memory: a knowledge graph; the entity is named after the run, so every run adds its own.
var entity = $"run-{RunId}";
await Mcp.CallAsync("memory", "create_entities", new
{
    entities = new[] { new { name = entity, entityType = "workflow-run", observations = new[] { "started by mcp.csx", $"sum was {sum!["text"]}" } } },
});
var read = await Mcp.CallAsync("memory", "open_nodes", new { names = new[] { entity } });

var summary = await Step("summary", () => new
{
    echo = echo!["text"]!.GetValue<string>(),
    echoServer = echo["server"]!.GetValue<string>(),
    sum = sum!["text"]!.GetValue<string>(),
    sumServer = sum["server"]!.GetValue<string>(),
    entity = read!["structuredContent"]?["entities"]?[0] ?? JsonNode.Parse(read["text"]!.GetValue<string>())!["entities"]![0],
    memoryServer = read["server"]!.GetValue<string>(),
    toolCount = tools.Count,
});
await Handoff("mcp", summary);
return summary;
