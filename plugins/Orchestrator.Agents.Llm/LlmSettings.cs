using System.Text.Json;

namespace Orchestrator.Agents.Llm;

/// <summary>
/// Defaults from <c>llm.json</c> beside the plugin DLL (<c>{ "endpoint", "model", "apiKeyEnv" }</c>), for a
/// machine that always talks to the same server. The key itself never goes in the file, only the name of the
/// environment variable that holds it.
/// </summary>
internal sealed record LlmSettings(string? Endpoint, string? Model, string? ApiKeyEnv)
{
    public const string FileName = "llm.json";

    public static LlmSettings None { get; } = new(null, null, null);

    /// <summary>Reads the file if there is one; a malformed file is an error at load, naming the file.</summary>
    public static LlmSettings Load(string? directory)
    {
        var path = directory is null ? null : Path.Combine(directory, FileName);
        if (path is null || !File.Exists(path))
        {
            return None;
        }

        try
        {
            var settings = JsonSerializer.Deserialize<LlmSettings>(File.ReadAllText(path), new JsonSerializerOptions { PropertyNameCaseInsensitive = true });
            return settings ?? None;
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"{path}: invalid JSON: {ex.Message}", ex);
        }
    }
}
