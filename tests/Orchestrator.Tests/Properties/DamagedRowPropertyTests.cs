using System.Text;
using Microsoft.Data.Sqlite;
using Orchestrator.Tests.Store;
using Orchestrator.Tests.Support;
using Xunit.Abstractions;

namespace Orchestrator.Tests.Properties;

/// <summary>
/// Journal reading of damaged rows: in copies of a real store, one column of one row (an entry, a stored value or the
/// run's record) is set to a value of any type or a mangled copy of its own, from seeds 0 to N. <c>runs</c>,
/// <c>runs show</c>, <c>runs verify</c> and <c>resume</c> then each end in one line and exit code 2, a verify failure
/// (exit 1) or success, never an exception; the reading commands never write the file, and a run that does not verify
/// is never resumed.
/// </summary>
public sealed class DamagedRowPropertyTests(ChainStoreFixture fixture, ITestOutputHelper output) : IClassFixture<ChainStoreFixture>, IDisposable
{
    private const int Cases = 60;

    private static readonly string[] EntryColumns = ["seq", "step_id", "event", "parent_id", "name", "kind", "agent", "attempt", "payload", "error", "at", "chain"];
    private static readonly string[] ValueColumns = ["hash", "size", "json"];
    private static readonly string[] RunColumns = ["status", "input", "result", "started_at", "ended_at", "final_hash", "chain_from", "script_hash"];

    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    [Fact]
    public async Task Any_damaged_row_is_read_as_one_line_and_exit_code_2_or_a_verify_failure_and_never_written()
    {
        var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var seed = 0; seed < Cases; seed++)
        {
            var store = Path.Combine(_dir.Path, "s" + seed);
            var journal = fixture.CopyTo(store);

            // A failed run is one resume would take up: only the damage may stop it.
            Execute(journal, "UPDATE runs SET status = 'Failed' WHERE id = $id", ("$id", fixture.Run));
            var damage = Damage(journal, new Random(seed));
            SqliteConnection.ClearAllPools();
            var before = JournalDamage.Hash(journal);
            var what = $"seed {seed}: {damage}";

            int? verified = null;
            foreach (var args in (string[][])[["runs"], ["runs", "show", fixture.Run], ["runs", "verify", fixture.Run], ["resume", fixture.Run]])
            {
                var command = string.Join(' ', args);
                CliResult result;
                try
                {
                    result = await CliRunner.RunAsync([.. args, "--store", store]);
                }
                catch (Exception ex)
                {
                    throw new InvalidOperationException($"{command} threw on {what}: {ex}", ex);
                }

                SqliteConnection.ClearAllPools();
                (result.Stdout + result.Stderr).Should().NotContain("Unhandled exception").And.NotContain("   at ", $"{command} on {what}");
                var isVerify = args.Length > 1 && args[1] == "verify";
                var allowed = isVerify ? new[] { 0, 1, 2 } : new[] { 0, 2 };
                result.ExitCode.Should().BeOneOf(allowed, $"{command} on {what}: {result}");
                if (result.ExitCode == 2)
                {
                    result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().ContainSingle($"{command} on {what}")
                        .Which.Should().StartWith("orchestrator: ");
                }

                if (args[0] == "resume")
                {
                    if (verified != 0)
                    {
                        result.ExitCode.Should().Be(2, $"a run that does not verify is not resumed ({what}): {result}");
                    }

                    if (result.ExitCode != 0)
                    {
                        JournalDamage.Hash(journal).Should().Be(before, $"a refused resume writes nothing ({what}): {result}");
                    }
                }
                else
                {
                    JournalDamage.Hash(journal).Should().Be(before, $"{command} only reads ({what})");
                }

                if (isVerify)
                {
                    verified = result.ExitCode;
                }

                var key = $"{command}: exit {result.ExitCode}";
                outcomes[key] = outcomes.GetValueOrDefault(key) + 1;
            }
        }

        foreach (var (key, count) in outcomes.OrderBy(o => o.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"{key} ×{count}");
        }

        outcomes.Keys.Should().Contain("runs verify " + fixture.Run + ": exit 1", "the damage must reach what the chain covers");
        outcomes.Keys.Where(k => k.StartsWith("runs show", StringComparison.Ordinal) || k.StartsWith("runs:", StringComparison.Ordinal)).Should().Contain(k => k.EndsWith("exit 2", StringComparison.Ordinal), "some damage must be unreadable");
    }

    /// <summary>Sets one column of one row (an entry of the run, a value it refers to, or its record) to a random value; returns what it did.</summary>
    private string Damage(string journal, Random random)
    {
        for (var attempt = 0; ; attempt++)
        {
            var (table, column, where, key) = random.Next(10) switch
            {
                < 6 => ("journal", Pick(random, EntryColumns), "run_id = $id AND seq = $key",
                    (object)(long)(1 + random.Next((int)(long)Scalar(journal, "SELECT max(seq) FROM journal WHERE run_id = $id", ("$id", fixture.Run))!))),
                < 8 => ("payload_values", Pick(random, ValueColumns), "hash = $key AND $id = $id",
                    (object)(string)Scalar(journal, "SELECT hash FROM payload_values ORDER BY hash LIMIT 1 OFFSET $n", ("$n", random.Next(2)))!),
                _ => ("runs", Pick(random, RunColumns), "id = $id AND $key = $key", (object)0),
            };
            var original = Scalar(journal, $"SELECT {column} FROM {table} WHERE {where}", ("$id", fixture.Run), ("$key", key));
            var value = RandomValue(random, original);
            try
            {
                Execute(journal, $"UPDATE {table} SET {column} = $value WHERE {where}", ("$id", fixture.Run), ("$key", key), ("$value", value ?? DBNull.Value));
                return $"{table}.{column} of {key} set to {Describe(value)}";
            }
            catch (SqliteException) when (attempt < 20)
            {
                // A constraint (NOT NULL, a key taken): draw again.
            }
        }
    }

    private static object? RandomValue(Random random, object? original)
    {
        var text = original switch
        {
            null => "",
            byte[] bytes => Convert.ToHexString(bytes),
            _ => Convert.ToString(original, System.Globalization.CultureInfo.InvariantCulture) ?? "",
        };
        switch (random.Next(8))
        {
            case 0:
                return null;
            case 1:
                return random.NextInt64(long.MinValue, long.MaxValue);
            case 2:
                return (long)random.Next(-3, 100);
            case 3:
                return random.NextDouble() * 1e20;
            case 4:
                var blob = new byte[random.Next(0, 64)];
                random.NextBytes(blob);
                return blob;
            case 5:
                // Its own text with one character changed.
                if (text.Length == 0)
                {
                    return "x";
                }

                var chars = text.ToCharArray();
                const string Replacements = "{}[]\",:\\\0aZ9é";
                chars[random.Next(chars.Length)] = Replacements[random.Next(Replacements.Length)];
                return new string(chars);
            case 6:
                return text[..random.Next(text.Length + 1)];
            default:
                var junk = new StringBuilder();
                for (var i = random.Next(1, 40); i > 0; i--)
                {
                    junk.Append((char)random.Next(1, 0x3000));
                }

                return junk.ToString();
        }
    }

    private static string Describe(object? value) => value switch
    {
        null => "NULL",
        byte[] bytes => $"a blob of {bytes.Length} bytes",
        string text => $"text '{(text.Length > 40 ? text[..40] + "…" : text)}'",
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!,
    };

    private static string Pick(Random random, string[] names) => names[random.Next(names.Length)];

    private static object? Scalar(string journal, string sql, params (string Name, object Value)[] parameters) => SqlFile.Scalar(journal, sql, parameters);

    private static void Execute(string journal, string sql, params (string Name, object Value)[] parameters) =>
        SqlFile.Execute(journal, sql, parameters).Should().Be(1, sql);
}
