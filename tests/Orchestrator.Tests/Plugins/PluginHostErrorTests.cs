using Microsoft.CodeAnalysis;
using Orchestrator.Core.Plugins;
using Orchestrator.Tests.Support;
using Serilog.Events;

namespace Orchestrator.Tests.Plugins;

public sealed class PluginHostErrorTests : IDisposable
{
    private readonly PluginFolder _folder = new();
    private readonly CapturingLog _log = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_corrupt_dll_gives_one_error_naming_it_and_the_others_still_load()
    {
        _folder.AddFixture(FixturePlugins.JsonV12);
        var broken = _folder.WriteFile(Path.Combine("Broken", "Broken.dll"), [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 31 % 251))]);
        _folder.AddFixture(FixturePlugins.Faults);

        using var host = PluginHost.Load([_folder.Path], _log.Logger);

        var error = host.Errors.Should().ContainSingle().Subject;
        error.Path.Should().Be(broken);
        error.Message.Should().Contain("Broken.dll").And.Contain("not a valid .NET assembly").And.NotContain("\n");
        host.AgentKinds.Should().BeEquivalentTo("json12", "flaky");
        ErrorsLogged().Should().ContainSingle().Which.Properties["Path"].ToString().Should().Contain("Broken.dll");
    }

    [Fact]
    public async Task The_plugins_command_fails_naming_a_dependency_that_a_plugin_loads_without_but_needs_when_called()
    {
        var helper = PluginCompiler.Compile("Needed.Helper", "public static class Helper { public static string Hi() => \"hi\"; }");
        var plugin = _folder.WriteFile(Path.Combine("Needy", "Needy.dll"), PluginCompiler.Compile("Needy", """
            using System.Text.Json.Nodes;
            using System.Threading;
            using System.Threading.Tasks;
            using Orchestrator.Abstractions;
            public sealed class NeedyAgent : IAgent
            {
                public string Kind => "needy";
                public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken) =>
                    ValueTask.FromResult(AgentResult.Ok(JsonValue.Create(Helper.Hi())));
            }
            """, MetadataReference.CreateFromImage(helper)));
        _folder.AddFixture(FixturePlugins.Faults);

        var listed = await CliRunner.RunAsync("plugins", "--plugins", _folder.Path);

        listed.ExitCode.Should().Be(2, listed.ToString());
        listed.Stdout.Should().Contain("needy", "the plugin itself loads: only a call would have failed");
        var line = listed.Stderr.Trim().Split('\n').Should().ContainSingle().Subject;
        line.Should().StartWith($"orchestrator: plugin dependency missing: {plugin}: Needy.dll needs Needed.Helper 0.0.0.0, which could not be loaded: FileNotFoundException");

        _folder.WriteFile(Path.Combine("Needy", "Needed.Helper.dll"), helper);
        var whole = await CliRunner.RunAsync("plugins", "--plugins", _folder.Path);
        whole.ExitCode.Should().Be(0, whole.ToString());
    }

    [Fact]
    public void A_corrupt_top_level_dll_is_an_error_too()
    {
        var broken = _folder.WriteFile("Garbage.dll", [0x4D, 0x5A, 1, 2, 3]);

        using var host = PluginHost.Load([_folder.Path], _log.Logger);

        host.Errors.Should().ContainSingle().Which.Path.Should().Be(broken);
    }

    [Fact]
    public void A_throwing_constructor_gives_one_error_naming_the_file_type_and_message_and_the_others_still_load()
    {
        _folder.AddFixture(FixturePlugins.JsonV13);
        var throwing = _folder.AddFixture(FixturePlugins.Throwing);
        _folder.AddFixture(FixturePlugins.Faults);

        using var host = PluginHost.Load([_folder.Path], _log.Logger);

        var error = host.Errors.Should().ContainSingle().Subject;
        error.Path.Should().Be(throwing);
        error.Message.Should().Contain("Fixture.Throwing.dll")
            .And.Contain("Fixture.Throwing.ThrowingAgent")
            .And.Contain("InvalidOperationException: fixture constructor failure");
        host.AgentKinds.Should().BeEquivalentTo("json13", "flaky");
        host.Plugins.Should().NotContain(p => p.AssemblyPath == throwing);

        var logged = ErrorsLogged().Should().ContainSingle().Subject;
        logged.MessageTemplate.Text.Should().Be("Plugin {Path} failed to load: {Error}");
        logged.Properties["Error"].ToString().Should().Contain("fixture constructor failure");
    }

    [Fact]
    public void A_folder_dll_that_does_not_reference_the_contract_is_an_error()
    {
        var json13 = FixturePlugins.OutputOf(FixturePlugins.JsonV13);
        var stray = Path.Combine(_folder.Path, "Newtonsoft.Json", "Newtonsoft.Json.dll");
        Directory.CreateDirectory(Path.GetDirectoryName(stray)!);
        File.Copy(Path.Combine(json13, "Newtonsoft.Json.dll"), stray);

        using var host = PluginHost.Load([_folder.Path], _log.Logger);

        host.Errors.Should().ContainSingle().Which.Message.Should().Contain("does not reference Orchestrator.Abstractions");
    }

    [Fact]
    public void The_same_agent_kind_twice_keeps_the_first_and_reports_the_second_naming_both_files()
    {
        using var second = new PluginFolder();
        var first = _folder.AddFixture(FixturePlugins.Faults);
        var duplicate = second.AddFixture(FixturePlugins.Faults);

        using var host = PluginHost.Load([_folder.Path, second.Path], _log.Logger);

        host.Errors.Should().HaveCount(2).And.OnlyContain(e => e.Path == duplicate && e.Message.Contains(first) && e.Message.Contains(duplicate));
        host.Errors.Select(e => e.Message).Should().Contain(m => m.Contains("'flaky'")).And.Contain(m => m.Contains("'fixture-retry'"));
        host.Plugins.Should().HaveCount(2).And.OnlyContain(p => p.AssemblyPath == first);
    }

    private List<LogEvent> ErrorsLogged() => [.. _log.Events.Where(e => e.Level == LogEventLevel.Error)];
}
