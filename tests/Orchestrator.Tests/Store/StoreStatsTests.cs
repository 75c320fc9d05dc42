using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Store;

/// <summary><c>orchestrator store stats</c> over a store made by real runs.</summary>
public sealed class StoreStatsTests(RealStoreFixture fixture) : IClassFixture<RealStoreFixture>
{
    [Fact]
    public async Task Json_stats_give_the_journal_size_every_table_runs_by_status_and_the_largest_run_first()
    {
        var result = await CliRunner.RunAsync("store", "stats", "--store", fixture.Store, "--json");

        result.ExitCode.Should().Be(0, result.ToString());
        var stats = JsonNode.Parse(result.LastLine)!;
        stats["journalBytes"]!.GetValue<long>().Should().Be(new FileInfo(Path.Combine(fixture.Store, "journal.db")).Length);
        var tables = stats["tables"]!.AsArray().ToDictionary(t => t!["name"]!.GetValue<string>(), t => t!);
        tables.Keys.Should().Contain(["runs", "journal", "learning", "baselines", "recommendations", "meta"]);
        tables["runs"]["rows"]!.GetValue<long>().Should().Be(4);
        tables["journal"]["rows"]!.GetValue<long>().Should().Be(CountJournalRows());
        tables["journal"]["bytes"]!.GetValue<long>().Should().BeGreaterThan(tables["runs"]["bytes"]!.GetValue<long>());
        stats["runsByStatus"]!["succeeded"]!.GetValue<int>().Should().Be(4);

        var largest = stats["largestRuns"]!.AsArray();
        largest.Should().HaveCount(4);
        largest[0]!["id"]!.GetValue<string>().Should().Be(fixture.BigRun);
        largest[0]!["rows"]!.GetValue<long>().Should().Be(1200, "600 steps, each started and ended");
        largest.Select(r => r!["bytes"]!.GetValue<long>()).Should().BeInDescendingOrder();
    }

    [Fact]
    public async Task Text_stats_list_the_tables_the_statuses_and_the_largest_runs_and_top_limits_them()
    {
        var result = await CliRunner.RunAsync("store", "stats", "--store", fixture.Store, "--top", "1");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().MatchRegex(@"(?m)^journal\s+\d+(\.\d)? KiB \(journal\.db\)")
            .And.MatchRegex(@"(?m)^learning\s+0\s+0 B$")
            .And.MatchRegex(@"(?m)^succeeded\s+4$")
            .And.MatchRegex($@"(?m)^{fixture.BigRun}\s+succeeded\s+1,2\d\d\s");
        result.Stdout.Should().NotContain(fixture.SmallRuns[0]);
    }

    private long CountJournalRows()
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(fixture.Store, "journal.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM journal";
        return (long)command.ExecuteScalar()!;
    }
}
