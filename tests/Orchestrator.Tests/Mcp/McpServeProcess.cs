using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Mcp;

/// <summary><c>orchestrator mcp serve</c> started over stdio by the MCP SDK's client, and its run_workflow called.</summary>
internal static class McpServeProcess
{
    /// <summary>A script whose result says which process ran it: <c>{ doubled, pid }</c> for the input <c>{ n }</c>.</summary>
    public const string RanBy = """
        var doubled = await Step("double", () => Input!["n"]!.GetValue<int>() * 2);
        return new { doubled, pid = await Step("pid", () => Environment.ProcessId) };
        """;

    public static Task<McpClient> StartAsync(string scripts, string[] args, Dictionary<string, string?>? environment = null) =>
        McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "orchestrator",
            Command = "dotnet",
            Arguments = [OrchestratorProcess.DllPath, "mcp", "serve", "--scripts", scripts, .. args],
            EnvironmentVariables = environment,
        }));

    /// <summary>Runs the script with the input <c>{"n":21}</c>; the tool's answer, which must not be an error.</summary>
    public static async Task<JsonNode> RunAsync(McpClient client, string script)
    {
        var answer = await client.CallToolAsync("run_workflow", new Dictionary<string, object?> { ["script"] = script, ["input"] = """{"n":21}""" });
        answer.IsError.Should().NotBe(true, Text(answer));
        return JsonNode.Parse(Text(answer))!;
    }

    public static string Text(CallToolResult result) => string.Concat(result.Content.OfType<TextContentBlock>().Select(b => b.Text));
}
