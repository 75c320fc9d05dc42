using System.Text;
using System.Text.Json.Nodes;

namespace Orchestrator.Agents.Llm;

/// <summary>
/// The engine's consensus protocol spoken through the model. A consensus (or a peer-to-peer phase) calls each agent
/// peer with <c>{ phase, peer, task, … }</c>: <c>propose</c> answers with a proposal, <c>vote</c> gets the
/// <c>proposals</c> by peer name and answers with the name it backs, <c>contribute</c> gets the agreed <c>plan</c> and
/// answers with its part. Each turn becomes one chat request; the model's answer becomes the peer's answer.
/// </summary>
internal sealed class Deliberation
{
    private static readonly string[] Phases = ["propose", "vote", "contribute"];

    // The protocol's own keys: everything else at the top level (a profile's model, endpoint, temperature…) is a setting.
    private static readonly string[] ProtocolKeys = ["phase", "peer", "task", "proposals", "plan", "winner"];

    // Chat settings a task object may carry for its peers; the rest of it is the task itself.
    private static readonly string[] SettingKeys = ["endpoint", "model", "apiKeyEnv", "temperature", "maxTokens", "timeoutMs", "system"];

    private Deliberation(string phase, string peer, JsonObject request, JsonObject proposals)
    {
        Phase = phase;
        Peer = peer;
        Request = request;
        Proposals = proposals;
    }

    public string Phase { get; }

    public string Peer { get; }

    /// <summary>The chat request the turn makes, in the llm agent's own input format.</summary>
    public JsonObject Request { get; }

    /// <summary>The proposals a vote chooses among, by peer name; empty in the other phases.</summary>
    public JsonObject Proposals { get; }

    /// <summary>The turn <paramref name="input"/> asks for, or null when it is an ordinary chat request.</summary>
    public static Deliberation? Read(JsonNode? input)
    {
        if (input is not JsonObject obj
            || obj["phase"] is not JsonValue p || !p.TryGetValue<string>(out var phase) || !Phases.Contains(phase, StringComparer.Ordinal)
            || obj["peer"] is not JsonValue n || !n.TryGetValue<string>(out var peer)
            || !obj.ContainsKey("task"))
        {
            return null;
        }

        var request = new JsonObject();
        foreach (var (key, value) in obj)
        {
            if (!ProtocolKeys.Contains(key, StringComparer.Ordinal))
            {
                request[key] = value?.DeepClone();
            }
        }

        var task = obj["task"];
        if (task is JsonObject settings)
        {
            foreach (var key in SettingKeys)
            {
                if (settings[key] is { } value && !request.ContainsKey(key))
                {
                    request[key] = value.DeepClone();
                }
            }
        }

        var proposals = obj["proposals"] as JsonObject ?? [];
        var role = phase switch
        {
            "propose" => $"You are {peer}, one of several peers who must agree on how to do the task below. Propose one approach. Answer with the approach only, in a few sentences.",
            "vote" => $"You are {peer}, one of several peers. Below are the peers' proposals for the task, each under its proposer's name. Back the best one. Answer with the proposer's name only.",
            _ => $"You are {peer}. The peers agreed on the plan below (proposed by {Text(obj["winner"])}). Do your part of it. Answer with your contribution only.",
        };
        request["system"] = request["system"] is JsonValue s && s.TryGetValue<string>(out var system) && system.Length > 0 ? system + "\n\n" + role : role;

        var prompt = new StringBuilder("Task:\n").Append(TaskText(task));
        if (phase == "vote")
        {
            prompt.Append("\n\nProposals:");
            foreach (var (name, proposal) in proposals)
            {
                prompt.Append("\n\n[").Append(name).Append("]\n").Append(Text(proposal));
            }
        }
        else if (phase == "contribute")
        {
            prompt.Append("\n\nAgreed plan:\n").Append(Text(obj["plan"]));
        }

        request.Remove("messages");
        request["prompt"] = prompt.ToString();
        return new Deliberation(phase, peer, request, proposals);
    }

    /// <summary>
    /// The peer's answer from the model's <paramref name="text"/>: a proposal or contribution is the text (an empty one
    /// proposes nothing); a vote is the proposer the text names, or null (abstaining) when it names none or several.
    /// </summary>
    public JsonNode? Answer(string text)
    {
        var trimmed = text.Trim();
        if (Phase != "vote")
        {
            return trimmed.Length == 0 ? null : JsonValue.Create(trimmed);
        }

        var names = Proposals.Select(p => p.Key).ToList();
        var bare = trimmed.Trim('"', '\'', '`', '[', ']', '.', '*', ' ');
        var exact = names.FirstOrDefault(name => string.Equals(name, bare, StringComparison.OrdinalIgnoreCase));
        if (exact is not null)
        {
            return JsonValue.Create(exact);
        }

        var named = names.Where(name => NamesWord(trimmed, name)).ToList();
        return named.Count == 1 ? JsonValue.Create(named[0]) : null;
    }

    /// <summary>Whether <paramref name="text"/> has <paramref name="name"/> as a whole word (not inside another word).</summary>
    private static bool NamesWord(string text, string name)
    {
        for (var at = text.IndexOf(name, StringComparison.OrdinalIgnoreCase); at >= 0; at = text.IndexOf(name, at + 1, StringComparison.OrdinalIgnoreCase))
        {
            var before = at == 0 || !char.IsLetterOrDigit(text[at - 1]);
            var end = at + name.Length;
            var after = end == text.Length || !char.IsLetterOrDigit(text[end]);
            if (before && after)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The task as the model reads it: a string as is, an object's <c>prompt</c>, else the object less its settings, as JSON.</summary>
    private static string TaskText(JsonNode? task) => task switch
    {
        JsonObject o when o["prompt"] is JsonValue p && p.TryGetValue<string>(out var prompt) => prompt,
        JsonObject o => new JsonObject([.. o.Where(kv => !SettingKeys.Contains(kv.Key, StringComparer.Ordinal)).Select(kv => KeyValuePair.Create(kv.Key, kv.Value?.DeepClone()))]).ToJsonString(),
        _ => Text(task),
    };

    private static string Text(JsonNode? node) => node switch
    {
        null => "(none)",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => node.ToJsonString(),
    };
}
