using System.Text.Json.Nodes;
using Jint;
using Jint.Native;

namespace Orchestrator.Scripting.JavaScript;

/// <summary>
/// MCP tools in JavaScript: <c>await mcp.call("echo", { message: "hi" })</c> (the balancer picks a server that offers
/// the tool), <c>await mcp.call("memory", "read_graph", {})</c> (a given server), <c>await mcp.tools()</c>.
/// Each call is a journaled step.
/// </summary>
internal sealed partial class JavaScriptRun
{
    private JsObject McpObject()
    {
        var mcp = new JsObject(Js);
        mcp.Set("call", Function("call", McpCall, 3));
        mcp.Set("tools", Function("tools", McpTools, 0));
        return mcp;
    }

    private JsValue McpCall(JsValue thisValue, JsValue[] arguments)
    {
        const string usage = "mcp.call(tool, args) or mcp.call(server, tool, args)";
        var byServer = Arg(arguments, 1).IsString();
        var server = byServer ? RequireName(arguments, 0, usage, "server") : null;
        var tool = RequireName(arguments, byServer ? 1 : 0, usage, "tool");
        var args = ToJsonArgument(Arg(arguments, byServer ? 2 : 1), usage, "args");
        var frame = _current;
        return Start(frame, () => frame.Scope.CallToolAsync(server, tool, args, frame.Token));
    }

    private JsValue McpTools(JsValue thisValue, JsValue[] arguments)
    {
        var frame = _current;
        return Start(frame, async () =>
        {
            var tools = await frame.Scope.McpToolsAsync(frame.Token).ConfigureAwait(false);
            return new JsonObject(tools.Select(t => KeyValuePair.Create(t.Key, (JsonNode?)new JsonArray([.. t.Value.Select(s => JsonValue.Create(s))]))));
        });
    }
}
