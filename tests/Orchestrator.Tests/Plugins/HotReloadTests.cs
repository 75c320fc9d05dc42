using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
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
            reload.Seq.Should().BeGreaterThan(steps.Single(s => s.Id == "before").Seq).And.BeLessThan(steps.Single(s => s.Id == "after").Seq + 2, "the reload is noted as the next call starts");
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

    public static TheoryData<string> BadNewVersions => new() { "half-written", "not an assembly", "constructor throws" };

    [Theory]
    [MemberData(nameof(BadNewVersions))]
    public async Task A_bad_new_file_leaves_the_old_version_working_and_is_journaled_as_a_failed_reload(string bad)
    {
        var good = CompilePlugin("2.0.0.0", "v2");
        var replacement = Path.Combine(_dir.Path, "bad", "HotPlugin.dll");
        Directory.CreateDirectory(Path.GetDirectoryName(replacement)!);
        File.WriteAllBytes(replacement, bad switch
        {
            "half-written" => good[..(good.Length / 2)],
            "not an assembly" => "this is not a DLL"u8.ToArray(),
            _ => CompilePlugin("2.0.0.0", "v2", constructor: "throw new System.InvalidOperationException(\"no config\");"),
        });
        var script = Prepare(replacement);
        var host = PluginHost.Load([Path.GetDirectoryName(PluginPath)!], Logger.None, watch: true);
        try
        {
            using var program = CSharpWorkflow.Compile(script, Logger.None);
            var journal = new InMemoryJournal();
            var outcome = await new WorkflowEngine(journal, host, null, TimeProvider.System, Logger.None).RunAsync(program, null, CancellationToken.None);

            outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
            outcome.Run.Result!.ToJsonString().Should().Be("""{"before":"v1","after":"v1"}""", "the old version stays in use");
            var steps = StepFolding.Fold(await journal.GetEntriesAsync(outcome.Run.Id, CancellationToken.None));
            var reload = steps.Should().ContainSingle(s => s.Kind == "plugin-reload").Subject;
            reload.Status.Should().Be(RunStatus.Failed);
            reload.Error.Should().Contain("HotPlugin.dll").And.Contain(bad == "constructor throws" ? "no config" : "could not be loaded");
            reload.Output!["from"]!.GetValue<string>().Should().Be("1.0.0.0");
            reload.Output["to"].Should().BeNull();
            host.Plugins.Should().ContainSingle(p => p.Name == "hot").Which.AssemblyVersion.Should().Be("1.0.0.0");
            host.Errors.Should().BeEmpty("the plugin did not fail to load: its replacement was refused");
        }
        finally
        {
            host.Dispose();
        }
    }

    [Fact]
    public async Task A_reload_during_100_concurrent_calls_loses_none_and_disposes_the_old_agent_after_them()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(PluginPath)!);
        File.WriteAllBytes(PluginPath, CompilePlugin("1.0.0.0", "v1", waitForGate: true));
        var newVersion = Path.Combine(_dir.Path, "v2", "HotPlugin.dll");
        Directory.CreateDirectory(Path.GetDirectoryName(newVersion)!);
        File.WriteAllBytes(newVersion, CompilePlugin("2.0.0.0", "v2"));
        var gate = Path.Combine(_dir.Path, "gate");
        var started = Path.Combine(_dir.Path, "started");
        Directory.CreateDirectory(started);

        // 100 calls enter version 1 and wait; the file is replaced; a new call reloads and gets version 2; then the
        // 100 finish on version 1, which a reload that disposed it at once would have failed ("used after dispose").
        var script = _dir.Write("concurrent.csx", $$"""
            var calls = Enumerable.Range(0, 100)
                .Select(i => Agent("hot").RunAsync(new { gate = @"{{gate}}", started = @"{{started}}", i }, name: "call-" + i))
                .ToList();
            while (Directory.GetFiles(@"{{started}}").Length < 100) await Task.Delay(5);
            File.WriteAllBytes(@"{{PluginPath}}", File.ReadAllBytes(@"{{newVersion}}"));
            var after = await Agent("hot").RunAsync(null, name: "after");
            File.WriteAllText(@"{{gate}}", "");
            var results = await Task.WhenAll(calls);
            return new { v1 = results.Count(r => r!.GetValue<string>() == "v1"), after };
            """);
        var host = PluginHost.Load([Path.GetDirectoryName(PluginPath)!], Logger.None, watch: true);
        try
        {
            using var program = CSharpWorkflow.Compile(script, Logger.None);
            var journal = new InMemoryJournal();
            var outcome = await new WorkflowEngine(journal, host, null, TimeProvider.System, Logger.None).RunAsync(program, null, CancellationToken.None);

            outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
            outcome.Run.Result!.ToJsonString().Should().Be("""{"v1":100,"after":"v2"}""");
            var steps = StepFolding.Fold(await journal.GetEntriesAsync(outcome.Run.Id, CancellationToken.None));
            steps.Should().ContainSingle(s => s.Kind == "plugin-reload").Which.Status.Should().Be(RunStatus.Succeeded);
            File.Exists(Path.Combine(started, "disposed")).Should().BeTrue("version 1 is disposed once its calls have finished");
        }
        finally
        {
            host.Dispose();
        }
    }

    [Fact]
    public async Task Master_worker_subtasks_see_a_reload_between_their_calls()
    {
        // The subtasks call the agent without an agent step of their own; they still check for reloads first.
        var script = Prepare();
        File.WriteAllText(script, File.ReadAllText(script).Replace(
            "var after = await Agent(\"hot\").RunAsync(null, name: \"after\");",
            "var after = await MasterWorker(\"fan\", null, Split(_ => new object?[] { 1, 2, 3 }), Worker(\"hot\"), Integrate(r => r));"));
        var host = PluginHost.Load([Path.GetDirectoryName(PluginPath)!], Logger.None, watch: true);
        try
        {
            using var program = CSharpWorkflow.Compile(script, Logger.None);
            var outcome = await new WorkflowEngine(new InMemoryJournal(), host, null, TimeProvider.System, Logger.None).RunAsync(program, null, CancellationToken.None);

            outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
            outcome.Run.Result!.ToJsonString().Should().Be("""{"before":"v1","after":["v2","v2","v2"]}""");
        }
        finally
        {
            host.Dispose();
        }
    }

    /// <summary>Writes version 1 as the plugin, version 2 beside it, and a script that swaps them between two steps.</summary>
    private string Prepare(string? replacement = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(PluginPath)!);
        File.WriteAllBytes(PluginPath, CompilePlugin("1.0.0.0", "v1"));
        var newVersion = replacement ?? Path.Combine(_dir.Path, "v2", "HotPlugin.dll");
        if (replacement is null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(newVersion)!);
            File.WriteAllBytes(newVersion, CompilePlugin("2.0.0.0", "v2"));
        }

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
    /// <param name="constructor">Code the agent's constructor runs.</param>
    /// <param name="waitForGate">
    /// The agent marks its start in the input's <c>started</c> folder, waits for its <c>gate</c> file, and fails if it was
    /// disposed meanwhile; disposing it writes <c>started/disposed</c>.
    /// </param>
    private static byte[] CompilePlugin(string version, string answer, string constructor = "", bool waitForGate = false)
    {
        var run = waitForGate
            ? $$"""
                public async ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken)
                {
                    var started = task.Input!["started"]!.GetValue<string>();
                    System.IO.File.WriteAllText(System.IO.Path.Combine(started, task.Input!["i"]!.ToJsonString()), "");
                    _started = started;
                    while (!System.IO.File.Exists(task.Input!["gate"]!.GetValue<string>())) await Task.Delay(5, cancellationToken);
                    return _disposed ? AgentResult.Fail("used after dispose") : AgentResult.Ok(JsonValue.Create("{{answer}}"));
                }
                private volatile bool _disposed;
                private string? _started;
                public void Dispose()
                {
                    _disposed = true;
                    if (_started is not null) System.IO.File.WriteAllText(System.IO.Path.Combine(_started, "disposed"), "");
                }
                """
            : $$"""
                public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken) =>
                    ValueTask.FromResult(AgentResult.Ok(JsonValue.Create("{{answer}}")));
                public void Dispose() { }
                """;
        var source = $$"""
            using System.Text.Json.Nodes;
            using System.Threading;
            using System.Threading.Tasks;
            using Orchestrator.Abstractions;
            [assembly: System.Reflection.AssemblyVersion("{{version}}")]
            public sealed class HotAgent : IAgent, System.IDisposable
            {
                public HotAgent() { {{constructor}} }
                public string Kind => "hot";
                {{run}}
            }
            """;
        return PluginCompiler.Compile("HotPlugin", source);
    }
}
