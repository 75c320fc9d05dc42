// mcp.js: the JavaScript twin of mcp.csx. Run it with
//   build/install-mcp-servers.sh   # once: the pinned servers, into .tools/mcp/
//   dotnet run --project engine/Orchestrator.Cli -- run scripts/mcp.js
const tools = await mcp.tools();
const echo = await mcp.call("echo", { message: `hello from ${runId}` });
const sum = await mcp.call("get-sum", { a: 19, b: 23 });

// server-memory: a knowledge graph; the entity is named after the run, so every run adds its own.
const entity = `run-${runId}`;
await mcp.call("memory", "create_entities", {
  entities: [{ name: entity, entityType: "workflow-run", observations: ["started by mcp.js", `sum was ${sum.text}`] }],
});
const read = await mcp.call("memory", "open_nodes", { names: [entity] });

const summary = await step("summary", async () => ({
  echo: echo.text,
  echoServer: echo.server,
  sum: sum.text,
  sumServer: sum.server,
  entity: (read.structuredContent ?? JSON.parse(read.text)).entities[0],
  memoryServer: read.server,
  toolCount: Object.keys(tools).length,
}));
await handoff("mcp", summary);
export default summary;
