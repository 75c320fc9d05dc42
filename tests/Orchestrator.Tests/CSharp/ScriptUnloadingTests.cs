using System.Runtime.CompilerServices;
using Orchestrator.Core.Journal;
using Orchestrator.Scripting.CSharp;
using Orchestrator.Tests.Support;
using Serilog.Core;

namespace Orchestrator.Tests.CSharp;

public sealed class ScriptUnloadingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_thousand_compiled_scripts_do_not_accumulate_in_memory()
    {
        var harness = new EngineHarness();
        var contexts = new List<WeakReference>();
        for (var i = 0; i < 1000; i++)
        {
            // Distinct text each time, so every run compiles (and loads) a new assembly.
            var script = _dir.Write($"s{i}.csx", $"return await Agent(\"echo\").RunAsync(new {{ n = {i} }});");
            contexts.Add(await RunAndForgetAsync(harness, script));
        }

        for (var i = 0; i < 20 && contexts.Any(c => c.IsAlive); i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        // The runtime may hold the newest few a little longer (tiered JIT bookkeeping); the rest must be gone.
        var alive = contexts.Select((c, i) => (c, i)).Where(x => x.c.IsAlive).Select(x => x.i).ToList();
        alive.Should().OnlyContain(i => i >= contexts.Count - 100, "every script but the newest must have been unloaded: {0}", string.Join(",", alive));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference> RunAndForgetAsync(EngineHarness harness, string script)
    {
        using var program = CSharpWorkflow.Compile(script, Logger.None);
        var (outcome, _) = await harness.RunAsync(program);
        outcome.Run.Status.Should().Be(RunStatus.Succeeded);
        return program.LoadContextReference();
    }
}
