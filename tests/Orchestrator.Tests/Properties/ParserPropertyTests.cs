using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Connectors;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Mcp;
using Orchestrator.Core.Secrets;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Properties;

/// <summary>
/// Property tests over what takes outside input: random values and random files built from seeds 0 to N, so that CI
/// runs the same bounded set of cases every time and a failure names the seed that reproduces it.
/// </summary>
public sealed class ParserPropertyTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Any_json_value_is_stored_and_read_back_exactly_and_its_preview_is_its_start()
    {
        ForSeeds(seed =>
        {
            var random = new Random(seed);
            var value = RandomJson(random, depth: 0);
            var whole = value.ToJsonString();
            foreach (var redact in new Func<string, string>?[] { null, t => t })
            {
                var stored = new List<StoredValue>();
                var text = PayloadValues.Encode(value, redact, stored);
                var byHash = stored.ToDictionary(v => v.Hash, v => (v.Json, v.Size));
                PayloadValues.Release(stored);

                PayloadValues.Decode(text, h => byHash[h].Json)!.ToJsonString().Should().Be(whole);
                var chars = random.Next(1, 3000);
                var (preview, length) = PayloadValues.Preview(text, chars, (h, n) => (byHash[h].Json[..Math.Min(n, byHash[h].Json.Length)], byHash[h].Size));
                length.Should().Be(whole.Length);
                preview.Should().Be(whole[..Math.Min(chars, whole.Length)]);
            }
        }, 300);
    }

    [Fact]
    public void Any_mcp_json_is_read_or_refused_with_a_config_error_and_nothing_else()
    {
        ForSeeds(seed =>
        {
            var text = RandomConfig(new Random(seed), ["servers", "command", "args", "url", "env", "headers", "tools", "timeoutMs", "weight", "type"]);
            try
            {
                McpConfiguration.Parse(text, "mcp.json");
            }
            catch (McpConfigException ex)
            {
                ex.Message.Should().StartWith("mcp.json");
            }
        }, 400);
    }

    [Fact]
    public void Any_connectors_json_is_read_or_refused_with_a_config_error_naming_the_file()
    {
        var path = Path.Combine(_dir.Path, "connectors.json");
        ForSeeds(seed =>
        {
            File.WriteAllText(path, RandomConfig(new Random(seed), ["connectors", "type", "baseUrl", "headers", "command", "args", "timeoutMs", "secretsFile", "health"]));
            try
            {
                ConnectorSet.Load(path, null, new SecretRegistry(), _ => null, new FakeTimeProvider()).DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            catch (Exception ex) when (ex is ConnectorConfigException or Orchestrator.Core.Secrets.SecretException)
            {
                // The two the CLI turns into one line and exit code 2; anything else would be a stack trace.
                ex.Message.Should().StartWith(Path.GetDirectoryName(path));
            }
        }, 300);
    }

    [Fact]
    public void Any_dsl_option_is_read_or_refused_with_an_argument_error()
    {
        string[] words = ["strategy", "retry", "name", "agent", "mode", "parallel", "master-worker", "concurrency", "timeoutMs", "recovery", "minEffectiveness", "maxAttempts"];
        ForSeeds(seed =>
        {
            var random = new Random(seed);
            var node = JsonNode.Parse(RandomConfig(random, words) is var text && text.StartsWith('{') && IsJson(text) ? text : "\"retry\"");
            foreach (var parse in new Action<JsonNode?>[]
            {
                n => Orchestrator.Scripting.ScriptOptionParsing.RecoveryChain(n),
                n => Orchestrator.Scripting.ScriptOptionParsing.Strategy(n),
                n => Orchestrator.Scripting.ScriptOptionParsing.Strategy(n is JsonObject o ? Named(o) : n),
                n => Orchestrator.Scripting.ScriptOptionParsing.Milliseconds(n ?? JsonValue.Create(0), "timeoutMs"),
                n => Orchestrator.Scripting.ScriptOptionParsing.RecoveryChain(new JsonArray(n?.DeepClone(), JsonValue.Create("retry"))),
            })
            {
                try
                {
                    parse(node?.DeepClone());
                }
                catch (ArgumentException ex)
                {
                    // What the DSL turns into a step error naming the option; anything else would escape as a crash.
                    ex.Message.Should().NotBeNullOrWhiteSpace();
                }
            }
        }, 400);
    }

    [Fact]
    public void Any_input_text_is_json_or_one_bad_input_error_naming_the_option()
    {
        ForSeeds(seed =>
        {
            var random = new Random(seed);
            var text = random.Next(3) == 0 ? RandomJson(random, 0).ToJsonString() : RandomConfig(random, ["a", "b", "@", "{", "["]);
            text = random.Next(8) == 0 && text.Length > 1 ? "@" + text : text;
            try
            {
                Orchestrator.Cli.Commands.Run.RunCommand.ParseInput(text);
            }
            catch (Orchestrator.Cli.CliException ex)
            {
                ex.Message.Should().NotContain("\n");
                if (text.StartsWith('@'))
                {
                    ex.Message.Should().Match(m => m.StartsWith("--input: cannot read", StringComparison.Ordinal) || m.Contains(": invalid JSON", StringComparison.Ordinal));
                }
                else
                {
                    ex.Message.Should().StartWith("--input: invalid JSON");
                }
            }
        }, 300);
    }

    [Fact]
    public void Redaction_of_any_json_keeps_its_shape_and_leaves_no_secret_in_a_string()
    {
        ForSeeds(seed =>
        {
            var random = new Random(seed);
            var value = RandomJson(random, depth: 0);
            var secrets = new SecretRegistry();
            var chosen = Enumerable.Range(0, random.Next(1, 4)).Select(_ => RandomText(random)).Select(t => "s" + t[..Math.Min(8, t.Length)] + random.Next(1000)).ToList();
            chosen.ForEach(s => secrets.Add(s));
            Plant(value, chosen, random);

            var redacted = JsonNode.Parse(secrets.RedactJson(value.ToJsonString()))!;

            SameShape(value, redacted).Should().BeTrue();
            Strings(redacted).Should().NotContain(s => chosen.Any(secret => s.Contains(secret, StringComparison.Ordinal)));
        }, 300);

        static void Plant(JsonNode node, List<string> secrets, Random random)
        {
            if (node is JsonObject obj)
            {
                foreach (var key in obj.Select(p => p.Key).ToList())
                {
                    if (obj[key] is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String && random.Next(2) == 0)
                    {
                        obj[key] = v.GetValue<string>() + secrets[random.Next(secrets.Count)] + "\n";
                    }
                    else if (obj[key] is { } child)
                    {
                        Plant(child, secrets, random);
                    }
                }
            }
            else if (node is JsonArray array)
            {
                foreach (var item in array.OfType<JsonNode>())
                {
                    Plant(item, secrets, random);
                }
            }
        }

        static bool SameShape(JsonNode? a, JsonNode? b) => (a, b) switch
        {
            (null, null) => true,
            (JsonObject x, JsonObject y) => x.Count == y.Count && x.Zip(y).All(p => SameShape(p.First.Value, p.Second.Value)),
            (JsonArray x, JsonArray y) => x.Count == y.Count && x.Zip(y).All(p => SameShape(p.First, p.Second)),
            (JsonValue x, JsonValue y) when x.GetValueKind() == System.Text.Json.JsonValueKind.String => y.GetValueKind() == System.Text.Json.JsonValueKind.String,
            (JsonValue x, JsonValue y) => JsonNode.DeepEquals(x, y),
            _ => false,
        };

        static IEnumerable<string> Strings(JsonNode? node) => node switch
        {
            JsonObject obj => obj.SelectMany(p => Strings(p.Value).Append(p.Key)),
            JsonArray array => array.SelectMany(Strings),
            JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.String => [v.GetValue<string>()],
            _ => [],
        };
    }

    /// <summary>The object with a name, so that the rest of its options are read too.</summary>
    private static JsonObject Named(JsonObject o)
    {
        o["name"] = "n";
        return o;
    }

    private static bool IsJson(string text)
    {
        try
        {
            JsonNode.Parse(text);
            return true;
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    /// <summary>Runs <paramref name="property"/> for seeds 0 to <paramref name="count"/> − 1; a failure names its seed.</summary>
    private static void ForSeeds(Action<int> property, int count)
    {
        for (var seed = 0; seed < count; seed++)
        {
            try
            {
                property(seed);
            }
            catch (Exception ex)
            {
                throw new InvalidOperationException($"the property fails for seed {seed}: {ex.Message}", ex);
            }
        }
    }

    /// <summary>JSON of any shape: nested objects and arrays, long strings, NUL characters and keys, numbers and literals.</summary>
    private static JsonNode RandomJson(Random random, int depth)
    {
        switch (random.Next(depth > 4 ? 4 : 7))
        {
            case 0:
                return JsonValue.Create(random.Next(-1000, 1000));
            case 1:
                return JsonValue.Create(random.NextDouble() * 1e6);
            case 2:
                return JsonValue.Create(random.Next(2) == 0);
            case 3:
                return JsonValue.Create(RandomText(random));
            case 4 or 5:
                var obj = new JsonObject();
                for (var i = random.Next(6); i > 0; i--)
                {
                    obj[RandomKey(random, i)] = random.Next(8) == 0 ? null : RandomJson(random, depth + 1);
                }

                return obj;
            default:
                var array = new JsonArray();
                for (var i = random.Next(6); i > 0; i--)
                {
                    array.Add(random.Next(8) == 0 ? null : RandomJson(random, depth + 1));
                }

                return array;
        }
    }

    private static string RandomKey(Random random, int index)
    {
        var text = RandomText(random);
        return random.Next(5) switch
        {
            0 => "\0" + index,
            1 => "\0v",
            _ => "k" + index + text[..Math.Min(3, text.Length)],
        };
    }

    private static string RandomText(Random random)
    {
        var length = random.Next(10) == 0 ? random.Next(4000, 20000) : random.Next(0, 40);
        var text = new StringBuilder(length);
        const string Alphabet = "abc xyz\0\"\\\n\té€😀<>&";
        for (var i = 0; i < length; i++)
        {
            text.Append(Alphabet[random.Next(Alphabet.Length)]);
        }

        // Never a lone surrogate: the emoji's two halves are picked separately above.
        return new string([.. text.ToString().Where(c => !char.IsSurrogate(c))]);
    }

    /// <summary>A configuration file that is sometimes valid JSON of the right shape, often nearly so, and sometimes garbage.</summary>
    private static string RandomConfig(Random random, string[] words)
    {
        if (random.Next(6) == 0)
        {
            var bytes = new byte[random.Next(0, 200)];
            random.NextBytes(bytes);
            return Encoding.Latin1.GetString(bytes);
        }

        JsonNode Value(int depth) => random.Next(depth > 3 ? 4 : 7) switch
        {
            0 => JsonValue.Create(random.Next(-5, 100000))!,
            1 => JsonValue.Create(words[random.Next(words.Length)])!,
            2 => JsonValue.Create(random.Next(2) == 0 ? "http://127.0.0.1:1/x" : "node")!,
            3 => JsonValue.Create(random.Next(2) == 0)!,
            4 => new JsonArray([.. Enumerable.Range(0, random.Next(4)).Select(_ => Value(depth + 1))]),
            _ => Object(depth + 1),
        };

        JsonObject Object(int depth)
        {
            var obj = new JsonObject();
            for (var i = random.Next(5); i > 0; i--)
            {
                obj[words[random.Next(words.Length)] + (random.Next(4) == 0 ? i.ToString(System.Globalization.CultureInfo.InvariantCulture) : "")] = Value(depth);
            }

            return obj;
        }

        var json = Object(0).ToJsonString();
        return random.Next(5) == 0 && json.Length > 2 ? json[..random.Next(1, json.Length)] : json;
    }
}
