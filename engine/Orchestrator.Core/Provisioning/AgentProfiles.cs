using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Abstractions;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Core.Provisioning;

/// <summary>An agents.json that does not read or names what is not there; the message names the file and the field.</summary>
internal sealed class AgentProfileException(string message) : Exception(message);

/// <summary>
/// A specialised agent made from a plugin's agent: its own kind, a preset input (a model, a system prompt, a working
/// folder…) that fills what a step's object input leaves out, its own capabilities and its own limit. Three profiles of
/// the <c>llm</c> agent on different models are three peers of a peer-to-peer phase, and alternatives to each other.
/// </summary>
internal sealed record AgentProfile(string Name, string Agent, JsonObject Preset, IReadOnlyList<string> Capabilities, int? MaxConcurrency, string Source);

/// <summary>
/// The agent profiles of <c>agents.json</c> (the store folder's, then the script folder's; a later profile of the same
/// name replaces an earlier one): <c>{ "agents": { "reviewer": { "agent": "llm", "input": { … }, "capabilities": […],
/// "maxConcurrency": 2 } } }</c>. The registry serves each as an agent kind whose agents wrap the plugin's.
/// </summary>
internal sealed class AgentProfiles
{
    public const string FileName = "agents.json";

    private static readonly string[] Keys = ["agent", "input", "capabilities", "maxConcurrency"];

    private readonly Dictionary<string, AgentProfile> _profiles;

    // One wrapper per profile and plugin agent, so that a profile's agents keep their identity (health, channels)
    // and a hot reload's new plugin agent gets a new one.
    private readonly Dictionary<string, Wrappers> _wrappers;

    private AgentProfiles(Dictionary<string, AgentProfile> profiles)
    {
        _profiles = profiles;
        _wrappers = profiles.Keys.ToDictionary(name => name, _ => new Wrappers(), StringComparer.OrdinalIgnoreCase);
    }

    public static AgentProfiles None { get; } = new(new Dictionary<string, AgentProfile>(StringComparer.OrdinalIgnoreCase));

    public IReadOnlyCollection<AgentProfile> All => _profiles.Values;

    public AgentProfile? Find(string kind) => _profiles.GetValueOrDefault(kind);

    /// <summary>The profiles in the agents.json files of the store folder and the script's folder, if there are any.</summary>
    public static AgentProfiles Discover(string? scriptDirectory, string? storeDirectory)
    {
        var profiles = new Dictionary<string, AgentProfile>(StringComparer.OrdinalIgnoreCase);
        var read = new HashSet<string>(StringComparer.Ordinal);
        foreach (var dir in new[] { storeDirectory, scriptDirectory })
        {
            if (dir is not null && Path.Combine(Path.GetFullPath(dir), FileName) is var file && File.Exists(file) && read.Add(file))
            {
                foreach (var profile in Parse(File.ReadAllText(file), file))
                {
                    profiles[profile.Name] = profile;
                }
            }
        }

        return profiles.Count == 0 ? None : new AgentProfiles(profiles);
    }

    /// <summary>Parses one agents.json.</summary>
    public static IReadOnlyList<AgentProfile> Parse(string json, string source)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            var line = ex.LineNumber is { } l ? $"({l + 1})" : string.Empty;
            throw new AgentProfileException($"{source}{line}: error: not valid JSON: {ex.Message.Split(". ")[0]}");
        }

        if (root is not JsonObject { Count: 1 } top || top["agents"] is not JsonObject agents)
        {
            throw new AgentProfileException($"{source}: error: expected {{\"agents\": {{\"name\": {{\"agent\": \"llm\", \"input\": {{…}}}}}}}}");
        }

        var profiles = new List<AgentProfile>();
        foreach (var (name, value) in agents)
        {
            var at = $"{source}: agents.{name}";
            if (string.IsNullOrWhiteSpace(name) || name.Contains('/', StringComparison.Ordinal) || name.Contains('@', StringComparison.Ordinal))
            {
                throw new AgentProfileException($"{at}: error: a profile's name must be non-empty, without '/' or '@'");
            }

            if (value is not JsonObject spec)
            {
                throw new AgentProfileException($"{at}: error: expected an object such as {{\"agent\": \"llm\", \"input\": {{\"model\": \"…\"}}}}");
            }

            if (spec.Select(p => p.Key).FirstOrDefault(k => !Keys.Contains(k, StringComparer.Ordinal)) is { } unknown)
            {
                throw new AgentProfileException($"{at}: error: unknown key '{unknown}'; known: {string.Join(", ", Keys)}");
            }

            var agent = spec["agent"] is JsonValue a && a.TryGetValue<string>(out var kind) && kind.Length > 0
                ? kind
                : throw new AgentProfileException($"{at}.agent: error: the agent kind the profile is made from is required (a string, e.g. \"llm\")");
            var preset = spec["input"] switch
            {
                null => [],
                JsonObject o => (JsonObject)o.DeepClone(),
                _ => throw new AgentProfileException($"{at}.input: error: expected an object: what the profile's steps get unless their input says otherwise"),
            };
            var capabilities = spec["capabilities"] switch
            {
                null => [],
                JsonArray list when list.All(c => c is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0) => list.Select(c => c!.GetValue<string>()).ToList(),
                _ => throw new AgentProfileException($"{at}.capabilities: error: expected an array of non-empty strings"),
            };
            int? limit = spec["maxConcurrency"] switch
            {
                null => null,
                JsonValue v when v.TryGetValue<int>(out var n) && n >= 1 => n,
                _ => throw new AgentProfileException($"{at}.maxConcurrency: error: expected a whole number of at least 1"),
            };
            profiles.Add(new AgentProfile(name, agent, preset, capabilities, limit, source));
        }

        return profiles;
    }

    /// <summary>Checks the profiles against the plugins' kinds: a profile needs a plugin's agent and must not hide one.</summary>
    public void Validate(IReadOnlyCollection<string> pluginKinds)
    {
        foreach (var profile in _profiles.Values)
        {
            if (pluginKinds.Contains(profile.Name, StringComparer.OrdinalIgnoreCase))
            {
                throw new AgentProfileException($"{profile.Source}: agents.{profile.Name}: error: '{profile.Name}' is already an agent kind a plugin provides; give the profile another name");
            }

            if (!pluginKinds.Contains(profile.Agent, StringComparer.OrdinalIgnoreCase))
            {
                throw new AgentProfileException(
                    $"{profile.Source}: agents.{profile.Name}.agent: error: no plugin provides an agent of kind '{profile.Agent}'; loaded kinds: {string.Join(", ", pluginKinds.Order(StringComparer.Ordinal))}");
            }
        }
    }

    /// <summary>The profile's agent over the plugin's <paramref name="agent"/>.</summary>
    public IAgent Wrap(AgentProfile profile, IAgent agent) =>
        _wrappers[profile.Name].Agents.GetValue(agent, a => new ProfileAgent(profile, a));

    /// <summary>The profile's agents over the plugin kind's providers, named <c>profile@plugin</c>.</summary>
    public IReadOnlyList<AgentProvider> Wrap(AgentProfile profile, IReadOnlyList<AgentProvider> providers) =>
        _wrappers[profile.Name].Providers.GetValue(providers, list =>
            [.. list.Select(p => new AgentProvider(profile.Name + p.Id[(p.Id.IndexOf('@', StringComparison.Ordinal) is var at and >= 0 ? at : p.Id.Length)..], Wrap(profile, p.Agent), p.Calls))]);

    private sealed class Wrappers
    {
        public ConditionalWeakTable<IAgent, ProfileAgent> Agents { get; } = new();

        public ConditionalWeakTable<IReadOnlyList<AgentProvider>, AgentProvider[]> Providers { get; } = new();
    }

    /// <summary>A plugin's agent under a profile: the preset fills the input, the rest is the plugin's.</summary>
    private sealed class ProfileAgent(AgentProfile profile, IAgent agent) : IAgent
    {
        public string Kind => profile.Name;

        public IReadOnlyCollection<string> Capabilities { get; } = [.. profile.Capabilities.Union(agent.Capabilities, StringComparer.OrdinalIgnoreCase)];

        public int MaxConcurrency => profile.MaxConcurrency ?? agent.MaxConcurrency;

        public string? TargetOf(AgentTask task) => agent.TargetOf(WithPreset(task));

        public ValueTask<AgentResult> RunAsync(AgentTask task, CancellationToken cancellationToken) => agent.RunAsync(WithPreset(task), cancellationToken);

        public ValueTask OnMessageAsync(AgentMessage message, CancellationToken cancellationToken) => agent.OnMessageAsync(message, cancellationToken);

        /// <summary>An object input gets each preset key it does not have; any other input goes to the agent as it is.</summary>
        private AgentTask WithPreset(AgentTask task)
        {
            if (task.Input is not JsonObject input || profile.Preset.Count == 0)
            {
                return task;
            }

            var merged = (JsonObject)input.DeepClone();
            foreach (var (key, value) in profile.Preset)
            {
                if (!merged.ContainsKey(key))
                {
                    merged[key] = value?.DeepClone();
                }
            }

            return task with { Input = merged };
        }
    }
}
