using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Abstractions;

namespace Orchestrator.Agents.Llm;

/// <summary>
/// The engine's coordination protocols spoken through the model. A consensus (or a peer-to-peer phase) calls each agent
/// peer with <c>{ phase, peer, task, … }</c>: <c>propose</c> answers with a proposal, <c>vote</c> gets the
/// <c>proposals</c> by peer name and answers with the name it backs, <c>contribute</c> gets the agreed <c>plan</c> and
/// answers with its part. A master-worker calls its master with <c>{ phase: "split", task }</c> (answered with the
/// subtasks) and <c>{ phase: "integrate", task, results }</c>. Each turn becomes one chat request; the model's answer
/// becomes the agent's.
/// </summary>
internal sealed class Deliberation
{
    private static readonly string[] PeerPhases = ["propose", "vote", "contribute"];
    private static readonly string[] MasterPhases = ["split", "integrate"];

    // The protocols' own keys: everything else at the top level (a profile's model, endpoint, temperature…) is a setting.
    private static readonly string[] ProtocolKeys = ["phase", "peer", "task", "proposals", "plan", "winner", "results"];

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
            || obj["phase"] is not JsonValue p || !p.TryGetValue<string>(out var phase) || !obj.ContainsKey("task"))
        {
            return null;
        }

        string peer;
        if (MasterPhases.Contains(phase, StringComparer.Ordinal))
        {
            peer = "the master";
        }
        else if (!PeerPhases.Contains(phase, StringComparer.Ordinal) || obj["peer"] is not JsonValue n || !n.TryGetValue<string>(out peer!))
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
            "split" => "You lead a team of workers. Split the task below into independent subtasks that a worker can each do alone. Answer with a JSON array of strings, one per subtask, and nothing else.",
            "integrate" => "You lead a team of workers. Below are the task and the workers' results, in order. Put them together into one result. Answer with the result only.",
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
        else if (phase == "integrate")
        {
            prompt.Append("\n\nResults:");
            foreach (var (result, index) in (obj["results"] as JsonArray ?? []).Select((r, i) => (r, i)))
            {
                prompt.Append("\n\n[").Append(index).Append("]\n").Append(Text(result));
            }
        }

        request.Remove("messages");
        request["prompt"] = prompt.ToString();
        return new Deliberation(phase, peer, request, proposals);
    }

    /// <summary>
    /// The agent's answer from the model's <paramref name="text"/>: a proposal, contribution or integration is the text
    /// (an empty proposal proposes nothing); a vote is the proposer the text names, or null (abstaining) when it names none
    /// or several; a split is the JSON array the text holds, each string subtask made <c>{ prompt }</c>.
    /// </summary>
    public AgentResult Answer(string text)
    {
        var trimmed = text.Trim();
        return Phase switch
        {
            "vote" => AgentResult.Ok(Vote(trimmed)),
            "split" => Split(trimmed),
            _ => AgentResult.Ok(trimmed.Length == 0 ? null : JsonValue.Create(trimmed)),
        };
    }

    private static AgentResult Split(string text)
    {
        // Models like to fence JSON in ``` blocks; the array is what is between the first '[' and the last ']'.
        var start = text.IndexOf('[', StringComparison.Ordinal);
        var end = text.LastIndexOf(']');
        JsonNode? parsed = null;
        if (start >= 0 && end > start)
        {
            try
            {
                parsed = JsonNode.Parse(text[start..(end + 1)]);
            }
            catch (System.Text.Json.JsonException)
            {
                // Not JSON after all: reported below.
            }
        }

        if (parsed is not JsonArray { Count: > 0 } subtasks)
        {
            var shown = text.Length <= 120 ? text : text[..120] + "…";
            return AgentResult.Fail($"llm: the model's split is not a JSON array of subtasks: {shown.ReplaceLineEndings(" ")}");
        }

        return AgentResult.Ok(new JsonArray([.. subtasks.Select(t => t is JsonValue v && v.TryGetValue<string>(out var prompt) ? new JsonObject { ["prompt"] = prompt } : t?.DeepClone())]));
    }

    private JsonNode? Vote(string trimmed)
    {
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
