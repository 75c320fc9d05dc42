using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Orchestrator.Abstractions;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Plugins;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.CSharp;
using Orchestrator.Tests.Support;
using Serilog.Core;

namespace Orchestrator.Tests.Plugins;

/// <summary>A plugin DLL replaced during a run: later steps use the new one, the journal says so, the old context goes.</summary>
public sealed class HotReloadTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string PluginPath => Path.Combine(_dir.Path, "plugins", "HotPlugin.dll");

    [Fact]
    public async Task A_replaced_plugin_is_reloaded_between_steps_journaled_and_its_old_context_unloaded()
    {
        var script = Prepare();
        var (host, oldContext) = Load();
        try
        {
            using var program = CSharpWorkflow.Compile(script, Logger.None);
            var journal = new InMemoryJournal();
            var outcome = await new WorkflowEngine(journal, host, null, TimeProvider.System, Logger.None).RunAsync(program, null, CancellationToken.None);

            outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
            outcome.Run.Result!.ToJsonString().Should().Be("""{"before":"v1","after":"v2"}""");
            var steps = StepFolding.Fold(await journal.GetEntriesAsync(outcome.Run.Id, CancellationToken.None));
            var reload = steps.Should().ContainSingle(s => s.Kind == "plugin-reload").Subject;
            reload.Output!["from"]!.GetValue<string>().Should().Be("1.0.0.0");
            reload.Output["to"]!.GetValue<string>().Should().Be("2.0.0.0");
            reload.Output["provides"]!.AsArray().Select(p => p!.GetValue<string>()).Should().Equal("hot");
            steps.Select(s => s.Id).Should().ContainInOrder("before", reload.Id, "after");
            host.Plugins.Should().ContainSingle(p => p.Name == "hot").Which.AssemblyVersion.Should().Be("2.0.0.0");

            for (var i = 0; i < 20 && oldContext.IsAlive; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }

            oldContext.IsAlive.Should().BeFalse("the first version's context is unloaded once no step uses it");
            host.LoadContexts.Should().ContainSingle();
        }
        finally
        {
            host.Dispose();
        }
    }

    [Fact]
    public async Task The_cli_reloads_with_watch_plugins_and_not_without()
    {
        var script = Prepare();
        var watched = await CliRunner.RunAsync("run", script, "--store", Path.Combine(_dir.Path, "store"), "--plugins", Path.GetDirectoryName(PluginPath)!, "--watch-plugins", "--json");

        watched.ExitCode.Should().Be(0, watched.ToString());
        JsonNode.Parse(watched.LastLine)!["result"]!.ToJsonString().Should().Be("""{"before":"v1","after":"v2"}""");

        script = Prepare();
        var unwatched = await CliRunner.RunAsync("run", script, "--store", Path.Combine(_dir.Path, "store"), "--plugins", Path.GetDirectoryName(PluginPath)!, "--json");
        unwatched.ExitCode.Should().Be(0, unwatched.ToString());
        JsonNode.Parse(unwatched.LastLine)!["result"]!.ToJsonString().Should().Be("""{"before":"v1","after":"v1"}""");
    }

    /// <summary>Writes version 1 as the plugin, version 2 beside it, and a script that swaps them between two steps.</summary>
    private string Prepare()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(PluginPath)!);
        File.WriteAllBytes(PluginPath, CompilePlugin("1.0.0.0", "v1"));
        var newVersion = Path.Combine(_dir.Path, "v2", "HotPlugin.dll");
        Directory.CreateDirectory(Path.GetDirectoryName(newVersion)!);
        File.WriteAllBytes(newVersion, CompilePlugin("2.0.0.0", "v2"));
        var script = _dir.Write("hot.csx", $$"""
            var before = await Agent("hot").RunAsync(null, name: "before");
            File.WriteAllBytes(@"{{PluginPath}}", File.ReadAllBytes(@"{{newVersion}}"));
            var after = await Agent("hot").RunAsync(null, name: "after");
            return new { before, after };
            """);
        return script;
    }

    // Not inlined, so that nothing of the first version outlives this frame but the weak reference.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private (PluginHost Host, WeakReference OldContext) Load()
    {
        var host = PluginHost.Load([Path.GetDirectoryName(PluginPath)!], Logger.None, watch: true);
        return (host, new WeakReference(host.LoadContexts.Single()));
    }

    /// <summary>A real plugin assembly, compiled here so that two versions of the same plugin can be swapped.</summary>
    private static byte[] CompilePlugin(string version, string answer)
    {
        var source = $$"""
            using System.Text.Json.Nodes;
            using System.Threading;
            using System.Threading.Tasks;
            using Orchestrator.Abstractions;
            [assembly: System.Reflection.AssemblyVersion("{{version}}")]
            public sealed class HotAgent : IAgent
            {
                public string Kind => "hot";
                public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken) =>
                    ValueTask.FromResult(AgentResult.Ok(JsonValue.Create("{{answer}}")));
            }
            """;
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "netstandard.dll" or "mscorlib.dll")
            .Append(typeof(IAgent).Assembly.Location)
            .Select(p => MetadataReference.CreateFromFile(p));
        var compilation = CSharpCompilation.Create("HotPlugin", [CSharpSyntaxTree.ParseText(source)], references, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        using var dll = new MemoryStream();
        var emitted = compilation.Emit(dll);
        emitted.Success.Should().BeTrue(string.Join("\n", emitted.Diagnostics));
        return dll.ToArray();
    }
}
