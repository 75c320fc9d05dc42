using Orchestrator.Core.Plugins;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Plugins;

/// <summary>
/// The plugin contract is versioned on its own (1.1 now): a plugin built against an older minor loads and runs; one built
/// against another major, or a newer minor whose members this engine lacks, is refused in one line before it is loaded.
/// </summary>
public sealed class ContractVersionTests : IDisposable
{
    private const string Agent = """
        using System.Text.Json.Nodes;
        using System.Threading;
        using System.Threading.Tasks;
        using Orchestrator.Abstractions;
        public sealed class VersionedAgent : IAgent
        {
            public string Kind => "versioned";
            public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken) =>
                ValueTask.FromResult(AgentResult.Ok(JsonValue.Create("ran " + task.StepId)));
        }
        """;

    private readonly PluginFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void The_engine_has_contract_1_1_and_the_plugin_template_builds_against_it()
    {
        PluginDiscovery.ContractVersion.ToString(2).Should().Be("1.1");
        File.ReadAllText(Path.Combine(RepoPaths.Root, "plugin-template", "Directory.Packages.props"))
            .Should().Contain($"""<PackageVersion Include="Orchestrator.Abstractions" Version="{PluginDiscovery.ContractVersion.ToString(3)}" />""");
    }

    [Fact]
    public async Task A_plugin_built_against_an_older_minor_of_the_contract_loads_and_serves_a_workflow()
    {
        Write("1.0.0.0");
        var script = Path.Combine(_folder.Path, "..", $"flow-{Guid.NewGuid():N}.csx");
        await File.WriteAllTextAsync(script, """return await Agent("versioned").RunAsync(new { }, name: "call");""");
        var store = Path.Combine(Path.GetTempPath(), "orchestrator-store-" + Guid.NewGuid().ToString("N"));
        try
        {
            var run = await CliRunner.RunAsync("run", script, "--plugins", _folder.Path, "--store", store, "--json", "--no-host");

            run.ExitCode.Should().Be(0, run.ToString());
            run.LastLine.Should().Contain("ran call");
        }
        finally
        {
            File.Delete(script);
            if (Directory.Exists(store))
            {
                Directory.Delete(store, recursive: true);
            }
        }
    }

    [Theory]
    [InlineData("2.0.0.0", "2.0")]
    [InlineData("1.2.0.0", "1.2")]
    public async Task A_plugin_built_against_another_major_or_a_newer_minor_is_refused_in_one_line(string version, string shown)
    {
        var path = Write(version);

        using (var host = PluginHost.Load([_folder.Path], Serilog.Core.Logger.None))
        {
            host.AgentKinds.Should().NotContain("versioned");
            host.Errors.Should().ContainSingle().Which.Message.Should()
                .Be($"Versioned.dll was built against plugin contract {shown}, and this engine has 1.1: rebuild it against Orchestrator.Abstractions 1.x, at most 1.1");
        }

        var listed = await CliRunner.RunAsync("plugins", "--plugins", _folder.Path);
        listed.ExitCode.Should().Be(2, listed.ToString());
        listed.Stderr.Trim().Split('\n').Should().ContainSingle().Which.Should().Contain(path).And.Contain($"plugin contract {shown}");
    }

    private string Write(string contractVersion) =>
        _folder.WriteFile(Path.Combine("Versioned", "Versioned.dll"), PluginCompiler.CompileAgainst(PluginCompiler.Contract(contractVersion), "Versioned", [Agent], []));
}
