using Orchestrator.Core.Mcp;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Mcp;

/// <summary>mcp.json: the common shape, the engine's own keys, discovery order and clear errors.</summary>
public sealed class McpConfigurationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Discovery_reads_the_store_then_the_scripts_folder_then_the_explicit_file_later_ones_winning_by_name()
    {
        _dir.Write("store/mcp.json", """{ "mcpServers": { "shared": { "command": "from-store" }, "store-only": { "url": "http://127.0.0.1:1/mcp" } } }""");
        _dir.Write("flow/mcp.json", """{ "mcpServers": { "shared": { "command": "./bin/from-script", "args": ["stdio"] } }, "loadBalancing": "roundRobin" }""");
        var extra = _dir.Write("extra.json", """{ "mcpServers": { "extra": { "command": "x", "disabled": false }, "off": { "command": "y", "disabled": true } }, "healthCheckIntervalMs": 2500 }""");

        var config = McpConfiguration.Discover(Path.Combine(_dir.Path, "flow"), Path.Combine(_dir.Path, "store"), extra);

        config.Servers.Select(s => s.Name).Should().Equal("store-only", "shared", "extra");
        var shared = config.Servers.Single(s => s.Name == "shared");
        shared.Command.Should().Be(Path.Combine(_dir.Path, "flow", "bin", "from-script"), "a relative command path is relative to its mcp.json");
        shared.Args.Should().Equal("stdio");
        config.Servers.Single(s => s.Name == "store-only").Transport.Should().Be("http");
        config.Balancing.Should().Be(McpBalancing.RoundRobin);
        config.HealthCheckInterval.Should().Be(TimeSpan.FromMilliseconds(2500));
        config.Sources.Should().HaveCount(3);
    }

    [Theory]
    [InlineData("""{ "mcpServers": { "a": { "command": "x", "argz": [] } } }""", "server 'a': unknown key 'argz'")]
    [InlineData("""{ "mcpServers": { "a": { "url": "ftp://x" } } }""", "server 'a': \"url\" must be an absolute http or https URL")]
    [InlineData("""{ "mcpServers": { "a": { "command": "x", "args": "stdio" } } }""", "server 'a': \"args\" must be an array of strings")]
    [InlineData("""{ "mcpServers": {}, "loadBalancing": "random" }""", "\"loadBalancing\" must be \"leastOutstanding\" or \"roundRobin\"")]
    [InlineData("""{ "servers": {} }""", "unknown key 'servers'")]
    [InlineData("""[]""", "expected an object")]
    public void A_wrong_configuration_is_one_message_naming_the_file(string json, string expected)
    {
        var parse = () => McpConfiguration.Parse(json, "/cfg/mcp.json");

        parse.Should().Throw<McpConfigException>().Which.Message.Should().StartWith("/cfg/mcp.json").And.Contain(expected);
    }
}
