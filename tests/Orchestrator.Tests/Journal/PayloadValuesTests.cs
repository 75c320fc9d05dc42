using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Orchestrator.Core.Journal;
using Orchestrator.Tests.Support;
using static Orchestrator.Tests.Journal.JournalTestData;

namespace Orchestrator.Tests.Journal;

/// <summary>Large values are stored once, by hash, and read back exactly (journal format 5).</summary>
public sealed class PayloadValuesTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    [Fact]
    public void Encoding_and_decoding_gives_back_exactly_the_same_json_for_small_large_nested_and_nul_keyed_values()
    {
        var big = new string('a', 10_000) + "\u0000" + new string('é', 5_000);
        JsonNode?[] values =
        [
            JsonValue.Create(1),
            JsonValue.Create("small"),
            JsonValue.Create(big),
            new JsonObject { ["\u0000v"] = "looks like a marker", ["\u0000\u0000x"] = 1, ["list"] = new JsonArray(big, big, 3, null, true) },
            new JsonObject { ["stdout"] = big, ["nested"] = new JsonObject { ["again"] = big, ["n"] = 1.5 } },
            new JsonArray(new JsonObject { ["a"] = new string('b', 5_000) }, new JsonArray(new string('c', 4_095))),
        ];
        var stored = new Dictionary<string, string>();
        foreach (var redact in new Func<string, string>?[] { null, t => t })
        {
            foreach (var value in values)
            {
                var found = new List<StoredValue>();
                var text = PayloadValues.Encode(value!, redact, found);
                foreach (var v in found)
                {
                    stored[v.Hash] = v.Json;
                }

                PayloadValues.Release(found);
                PayloadValues.Decode(text, h => stored[h])!.ToJsonString().Should().Be(value!.ToJsonString());
            }
        }

        stored.Values.Should().Contain(JsonValue.Create(big)!.ToJsonString(), "a large string is stored on its own");
    }

    [Fact]
    public void A_preview_of_a_payload_that_refers_to_stored_values_is_the_start_of_the_whole_json_and_gives_its_length()
    {
        var value = new JsonObject
        {
            ["b0"] = new JsonObject { ["stdout"] = new string('x', 9_000), ["exitCode"] = 0 },
            ["b1"] = new JsonObject { ["stdout"] = new string('y', 9_000), ["exitCode"] = 1 },
        };
        var found = new List<StoredValue>();
        var text = PayloadValues.Encode(value, t => t, found);
        var stored = found.ToDictionary(v => v.Hash, v => (v.Json, v.Size));
        var whole = value.ToJsonString();

        foreach (var chars in new[] { 5, 2000, 9_010, whole.Length + 10 })
        {
            var (preview, length) = PayloadValues.Preview(text, chars, (hash, count) => (stored[hash].Json[..Math.Min(count, stored[hash].Json.Length)], stored[hash].Size));
            length.Should().Be(whole.Length);
            preview.Should().Be(whole[..Math.Min(chars, whole.Length)]);
        }
    }

    [Fact]
    public async Task An_output_nested_in_its_parents_outputs_is_stored_once_and_each_row_reads_back_whole()
    {
        var output = new JsonObject { ["stdout"] = new string('o', 1 << 20), ["exitCode"] = 0 };
        await using (var journal = SqliteJournal.Open(_dir.Path))
        {
            await journal.StartRunAsync(Run("r1"), default);
            await journal.AppendAsync(Entry("r1", 1, "all/b/shell", StepEvent.Succeeded, output.DeepClone()), default);
            await journal.AppendAsync(Entry("r1", 2, "all/b", StepEvent.Succeeded, output.DeepClone()), default);
            await journal.AppendAsync(Entry("r1", 3, "all", StepEvent.Succeeded, new JsonObject { ["b"] = output.DeepClone() }), default);
            await journal.EndRunAsync("r1", RunStatus.Succeeded, new JsonObject { ["all"] = new JsonObject { ["b"] = output.DeepClone() } }, null, T0, default);

            var entries = await journal.GetEntriesAsync("r1", default);
            entries[0].Payload!.ToJsonString().Should().Be(output.ToJsonString());
            entries[1].Payload!.ToJsonString().Should().Be(output.ToJsonString());
            entries[2].Payload!["b"]!.ToJsonString().Should().Be(output.ToJsonString());
            (await journal.GetRunAsync("r1", default))!.Result!["all"]!["b"]!.ToJsonString().Should().Be(output.ToJsonString());
        }

        (await Scalar("SELECT COUNT(*) FROM payload_values WHERE size >= 1048576")).Should().Be(1L, "the megabyte string is one row");
        ((long)(await Scalar("SELECT SUM(length(payload)) FROM journal"))!).Should().BeLessThan(1000, "the rows hold markers, not the value");
    }

    [Fact]
    public async Task Prune_removes_the_values_no_remaining_run_refers_to_and_keeps_shared_ones()
    {
        var shared = new string('s', 50_000);
        var own = new string('o', 50_000);
        await using var journal = SqliteJournal.Open(_dir.Path);
        await journal.StartRunAsync(Run("old", T0), default);
        await journal.StartRunAsync(Run("new", T0.AddHours(1)), default);
        await journal.AppendAsync(Entry("old", 1, "a", StepEvent.Succeeded, JsonValue.Create(shared)), default);
        await journal.AppendAsync(Entry("old", 2, "b", StepEvent.Succeeded, JsonValue.Create(own)), default);
        await journal.AppendAsync(Entry("new", 1, "a", StepEvent.Succeeded, JsonValue.Create(shared)), default);
        await journal.EndRunAsync("old", RunStatus.Succeeded, null, null, T0, default);
        await journal.EndRunAsync("new", RunStatus.Succeeded, null, null, T0.AddHours(1), default);
        (await Scalar("SELECT COUNT(*) FROM payload_values")).Should().Be(2L);

        (await journal.PruneAsync(null, keepNewest: 1, default)).Should().Equal("old");

        (await Scalar("SELECT COUNT(*) FROM payload_values")).Should().Be(1L, "the value only the pruned run had is gone");
        (await journal.GetEntriesAsync("new", default)).Single().Payload!.GetValue<string>().Should().Be(shared);

        await journal.PruneAsync(null, keepNewest: 0, default);
        (await Scalar("SELECT COUNT(*) FROM payload_values")).Should().Be(0L);
    }

    private async Task<object?> Scalar(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(_dir.Path, "journal.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }
}
