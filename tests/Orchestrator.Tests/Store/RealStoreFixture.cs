using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Store;

/// <summary>
/// A store made by real runs of the CLI, once per test class: three small runs, then one of 600 steps whose rows fill
/// the second half of the journal file. Tests damage copies of it, never the store itself.
/// </summary>
public sealed class RealStoreFixture : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();

    public string Store => Path.Combine(_dir.Path, "store");

    /// <summary>A script that takes two steps, for runs and for <c>run</c> against a damaged copy.</summary>
    public string SmallScript => Path.Combine(_dir.Path, "small.csx");

    public IReadOnlyList<string> SmallRuns { get; private set; } = [];

    public string BigRun { get; private set; } = "";

    public IReadOnlyList<string> AllRuns => [.. SmallRuns, BigRun];

    public async Task InitializeAsync()
    {
        _dir.Write("small.csx", "var a = await Step(\"a\", () => 1);\nreturn await Step(\"b\", () => new { a });\n");
        var big = _dir.Write("big.csx", "for (var i = 0; i < 600; i++) { await Step($\"s{i}\", () => i); }\nreturn 1;\n");
        var small = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            small.Add(await RunAsync(SmallScript));
        }

        SmallRuns = small;

        // A run's id starts with the second it started in; the big run must sort after the small ones, so that its
        // rows are appended and fill the end of the file while the small runs' rows stay on the pages they were written to.
        var lastSecond = small.Max(StringComparer.Ordinal)![..15];
        while (string.CompareOrdinal(TimeProvider.System.GetUtcNow().ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture), lastSecond) <= 0)
        {
            await Task.Delay(50);
        }

        BigRun = await RunAsync(big);
    }

    /// <summary>Copies the store (its journal, the clean-close record beside it, reports, logs) to <paramref name="target"/>.</summary>
    public void CopyTo(string target)
    {
        foreach (var file in Directory.EnumerateFiles(Store, "*", SearchOption.AllDirectories))
        {
            var copy = Path.Combine(target, Path.GetRelativePath(Store, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }
    }

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
        return Task.CompletedTask;
    }

    private async Task<string> RunAsync(string script)
    {
        var result = await CliRunner.RunAsync("run", script, "--store", Store, "--json");
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException("the fixture's run failed: " + result);
        }

        return JsonNode.Parse(result.LastLine)!["runId"]!.GetValue<string>();
    }
}
