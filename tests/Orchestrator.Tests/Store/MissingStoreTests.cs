using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Store;

/// <summary>The verbs that only read a store never create one: a missing store is one line and exit 2.</summary>
public sealed class MissingStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public static TheoryData<string[]> ReadingCommands => new()
    {
        new[] { "runs" },
        new[] { "runs", "show", "some-run" },
        new[] { "runs", "prune", "--keep", "1" },
        new[] { "report", "some-run" },
        new[] { "stats" },
        new[] { "review" },
        new[] { "review", "reject", "1" },
        new[] { "store", "check" },
        new[] { "store", "stats" },
        new[] { "store", "salvage", "--out", "salvaged" },
    };

    public void Dispose() => _dir.Dispose();

    [Theory]
    [MemberData(nameof(ReadingCommands))]
    public async Task A_store_folder_that_does_not_exist_is_one_line_and_exit_2_and_is_not_created(string[] command)
    {
        var missing = Path.Combine(_dir.Path, "nonexistent", "deep", "store");

        var result = await CliRunner.RunAsync([.. command, "--store", missing]);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Trim().Should().Be($"orchestrator: no store at '{missing}': the folder does not exist");
        Directory.Exists(Path.Combine(_dir.Path, "nonexistent")).Should().BeFalse();
    }

    [Theory]
    [MemberData(nameof(ReadingCommands))]
    public async Task A_store_folder_without_a_journal_is_one_line_and_exit_2_and_stays_empty(string[] command)
    {
        var empty = Directory.CreateDirectory(Path.Combine(_dir.Path, "empty")).FullName;

        var result = await CliRunner.RunAsync([.. command, "--store", empty]);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Stderr.Trim().Should().Be($"orchestrator: no store at '{empty}': the folder has no journal.db");
        Directory.EnumerateFileSystemEntries(empty).Should().BeEmpty();
    }
}
