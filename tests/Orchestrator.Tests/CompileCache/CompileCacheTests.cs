using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;
using Orchestrator.Scripting.CompileCache;
using Orchestrator.Scripting.CSharp;
using Orchestrator.Tests.Support;
using Serilog.Core;

namespace Orchestrator.Tests.CompileCache;

public sealed class CompileCacheTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly EngineHarness _harness = new();
    private readonly ScriptCompileCache _cache;

    public CompileCacheTests() => _cache = new ScriptCompileCache(Path.Combine(_dir.Path, "cache"), Logger.None);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task An_unchanged_script_is_loaded_from_the_cache_and_runs_the_same()
    {
        var script = _dir.Write("same.csx", "return await Agent(\"echo\").RunAsync(new { n = 1 });");

        (await RunAsync(script)).Should().Be((CompileCacheOutcome.Miss, """{"n":1}"""));
        (await RunAsync(script)).Should().Be((CompileCacheOutcome.Hit, """{"n":1}"""));
    }

    [Fact]
    public async Task An_edited_script_misses_and_runs_its_new_code()
    {
        var script = _dir.Write("edited.csx", "return 1;");
        (await RunAsync(script)).Should().Be((CompileCacheOutcome.Miss, "1"));

        File.WriteAllText(script, "return 2;");

        (await RunAsync(script)).Should().Be((CompileCacheOutcome.Miss, "2"));
        (await RunAsync(script)).Should().Be((CompileCacheOutcome.Hit, "2"));
    }

    [Fact]
    public async Task An_edited_loaded_file_misses_though_the_script_is_unchanged()
    {
        _dir.Write("lib/helper.csx", "static int Answer() => 41;");
        var script = _dir.Write("main.csx", "#load \"lib/helper.csx\"\nreturn Answer();");
        (await RunAsync(script)).Should().Be((CompileCacheOutcome.Miss, "41"));
        (await RunAsync(script)).Should().Be((CompileCacheOutcome.Hit, "41"));

        _dir.Write("lib/helper.csx", "static int Answer() => 42;");

        (await RunAsync(script)).Should().Be((CompileCacheOutcome.Miss, "42"));
    }

    [Fact]
    public async Task A_damaged_assembly_is_rebuilt_not_trusted()
    {
        var script = _dir.Write("damaged.csx", "return \"intact\";");
        await RunAsync(script);
        var assembly = Directory.GetFiles(_cache.EntryDirectory(script), "*.dll").Single();
        var bytes = File.ReadAllBytes(assembly);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(assembly, bytes);

        (await RunAsync(script)).Should().Be((CompileCacheOutcome.Rebuilt, "\"intact\""));
        (await RunAsync(script)).Should().Be((CompileCacheOutcome.Hit, "\"intact\""), "the rebuilt entry is good");
    }

    [Fact]
    public async Task An_unreadable_manifest_is_rebuilt()
    {
        var script = _dir.Write("manifest.csx", "return 7;");
        await RunAsync(script);
        File.WriteAllText(Path.Combine(_cache.EntryDirectory(script), "manifest.json"), "{\"format\":1,\"key\":");

        (await RunAsync(script)).Should().Be((CompileCacheOutcome.Rebuilt, "7"));
    }

    [Fact]
    public async Task An_entry_whose_hashes_match_but_which_does_not_load_is_rebuilt()
    {
        // The manifest is made to vouch for garbage, as a bug or a forged entry could: loading it must fail safe.
        var script = _dir.Write("garbage.csx", "return 8;");
        await RunAsync(script);
        var entry = _cache.EntryDirectory(script);
        var assembly = Directory.GetFiles(entry, "*.dll").Single();
        var garbage = new byte[4096];
        File.WriteAllBytes(assembly, garbage);
        var manifestPath = Path.Combine(entry, "manifest.json");
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        manifest["assembly"]!["length"] = garbage.Length;
        manifest["assembly"]!["sha256"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(garbage));
        File.WriteAllText(manifestPath, manifest.ToJsonString());

        (await RunAsync(script)).Should().Be((CompileCacheOutcome.Rebuilt, "8"));
    }

    [Fact]
    public void Scripts_with_the_same_text_in_different_folders_get_their_own_entries()
    {
        var one = _dir.Write("a/flow.csx", "return 1;");
        var two = _dir.Write("b/flow.csx", "return 1;");

        using (CSharpWorkflow.Load(one, _cache, Logger.None))
        {
        }

        using var second = CSharpWorkflow.Load(two, _cache, Logger.None);

        second.CacheOutcome.Should().Be(CompileCacheOutcome.Miss);
        _cache.EntryDirectory(one).Should().NotBe(_cache.EntryDirectory(two));
    }

    [Fact]
    public async Task No_cache_compiles_without_reading_or_writing_the_cache()
    {
        var store = Path.Combine(_dir.Path, "store");
        var script = _dir.Write("nocache.csx", "return 3;");

        var result = await CliRunner.RunAsync("run", script, "--store", store, "--no-cache", "--json");

        result.ExitCode.Should().Be(0, result.ToString());
        Directory.Exists(Path.Combine(store, "cache")).Should().BeFalse();
    }

    [Fact]
    public async Task A_cache_hit_in_a_fresh_process_loads_neither_Roslyn_nor_Jint()
    {
        // The script reports which compiler assemblies its own process has loaded.
        var script = _dir.Write("probe.csx", """
            return AppDomain.CurrentDomain.GetAssemblies()
                .Select(a => a.GetName().Name!)
                .Where(n => n.StartsWith("Microsoft.CodeAnalysis") || n == "Jint")
                .OrderBy(n => n)
                .ToArray();
            """);
        var store = Path.Combine(_dir.Path, "store");

        var cold = await LoadedInChildAsync(script, store);
        var warm = await LoadedInChildAsync(script, store);
        var bypass = await LoadedInChildAsync(script, store, "--no-cache");

        cold.Should().Contain("Microsoft.CodeAnalysis.CSharp", "the first run compiles");
        warm.Should().BeEmpty("a cache hit must not load the compiler (or the JavaScript engine)");
        bypass.Should().Contain("Microsoft.CodeAnalysis.CSharp", "--no-cache compiles even though the cache is warm");
    }

    private async Task<(CompileCacheOutcome Outcome, string Result)> RunAsync(string script)
    {
        using var program = CSharpWorkflow.Load(script, _cache, Logger.None);
        var (outcome, _) = await _harness.RunAsync(program);
        outcome.Run.Status.Should().Be(RunStatus.Succeeded, outcome.Run.Error);
        return (program.CacheOutcome, outcome.Run.Result!.ToJsonString());
    }

    private async Task<string[]> LoadedInChildAsync(string script, string store, params string[] extra)
    {
        using var process = OrchestratorProcess.Start(_dir.Path, ["run", script, "--store", store, "--json", .. extra]);
        var result = await process.WaitForExitAsync();
        result.ExitCode.Should().Be(0, result.ToString());
        return JsonNode.Parse(result.LastLine)!["result"]!.AsArray().Select(n => n!.GetValue<string>()).ToArray();
    }
}
