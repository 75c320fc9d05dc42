using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Secrets;
using Orchestrator.Core.Waits;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Waits;

/// <summary>What a wait asks, what is decided and what is signalled is stored with the run's secrets masked, as journal payloads are.</summary>
public sealed class WaitSecretsTests : IDisposable
{
    private const string Token = "tok-9f8e7d6c5b4a";
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_secret_in_an_approvals_data_its_decision_or_a_signal_never_reaches_the_store_file()
    {
        var secrets = new SecretRegistry();
        secrets.Add(Token);
        var store = Path.Combine(_dir.Path, "store");
        await using (var journal = SqliteJournal.Open(store, secrets))
        {
            var now = DateTimeOffset.UnixEpoch;
            await journal.Waits.OpenAsync(new WaitRecord { RunId = "r", StepId = "deploy", Kind = "approval", Name = "deploy", Data = new JsonObject { ["token"] = Token }, CreatedAt = now }, CancellationToken.None);
            (await journal.Waits.DecideAsync("r", "deploy", new JsonObject { ["approved"] = true, ["comment"] = "used " + Token }, now, CancellationToken.None)).Should().BeTrue();
            await journal.Waits.SignalAsync("r", "payment", new JsonObject { ["key"] = Token }, now, CancellationToken.None);
        }

        using var connection = new SqliteConnection($"Data Source={Path.Combine(store, StoreIntegrity.JournalFileName)};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT coalesce(data, '') || coalesce(decision, '') FROM waits UNION ALL SELECT coalesce(data, '') FROM signals";
        var stored = new List<string>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                stored.Add(reader.GetString(0));
            }
        }

        stored.Should().HaveCount(2).And.OnlyContain(text => !text.Contains(Token) && text.Contains("***"));
    }
}
