using System.Diagnostics;
using System.Text.Json.Nodes;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Mcp;

/// <summary>
/// The real MCP servers the tests start over stdio: the pinned npm packages that build/install-mcp-servers.sh puts
/// in .tools/mcp/ (.ci/run runs it; on a fresh clone the first test that needs them runs it the same way).
/// </summary>
internal static class McpServers
{
    private static readonly SemaphoreSlim InstallGate = new(1, 1);
    private static bool _installed;

    private static string Bin => Path.Combine(RepoPaths.Root, ".tools", "mcp", "node_modules", ".bin");

    public static string Everything => Path.Combine(Bin, "mcp-server-everything");

    public static string Memory => Path.Combine(Bin, "mcp-server-memory");

    public static async Task EnsureInstalledAsync()
    {
        await InstallGate.WaitAsync();
        try
        {
            if (_installed)
            {
                return;
            }

            await BuildScripts.RunAsync("install-mcp-servers.sh");
            _installed = true;
        }
        finally
        {
            InstallGate.Release();
        }
    }

    /// <summary>A server-everything instance that writes its process id to <paramref name="pidFile"/>, so a test can kill it.</summary>
    public static JsonObject KillableEverything(string pidFile) => new()
    {
        ["command"] = "sh",
        ["args"] = new JsonArray("-c", $"echo $$ > '{pidFile}'; exec '{Everything}' stdio"),
    };

    public static JsonObject EverythingServer() => new() { ["command"] = Everything, ["args"] = new JsonArray("stdio") };

    /// <summary>A server-memory instance whose knowledge graph lives in <paramref name="file"/> (a test's own).</summary>
    public static JsonObject MemoryServer(string file) => new() { ["command"] = Memory, ["env"] = new JsonObject { ["MEMORY_FILE_PATH"] = file } };

    public static string Config(params (string Name, JsonObject Server)[] servers) => Config(null, servers);

    public static string Config(string? balancing, params (string Name, JsonObject Server)[] servers)
    {
        var root = new JsonObject { ["mcpServers"] = new JsonObject(servers.Select(s => KeyValuePair.Create(s.Name, (JsonNode?)s.Server))) };
        if (balancing is not null)
        {
            root["loadBalancing"] = balancing;
        }

        return root.ToJsonString();
    }

    public static void Kill(string pidFile) => Process.GetProcessById(int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture)).Kill();
}
