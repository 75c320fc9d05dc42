using System.Reflection;
using System.Runtime.Loader;
using System.Text.Json.Nodes;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using Orchestrator.Abstractions;

namespace Fixture.Json;

/// <summary>
/// Compiled into both JSON fixtures, each against its own Newtonsoft.Json: reports which Newtonsoft
/// actually ran and proves it works by a serialize round trip of the input.
/// </summary>
internal static class NewtonsoftRoundTrip
{
    public static AgentResult Run(AgentTask task)
    {
        var newtonsoft = typeof(JsonConvert).Assembly;

        // JToken only, no POCO: serializing a plugin's own class makes System.ComponentModel.TypeDescriptor
        // cache that type in static tables that are never cleared, which would keep the plugin from unloading.
        var text = JsonConvert.SerializeObject(JToken.Parse(task.Input?.ToJsonString() ?? "null"));
        var back = JsonConvert.DeserializeObject<JToken>(text);
        return AgentResult.Ok(new JsonObject
        {
            ["newtonsoftVersion"] = newtonsoft.GetName().Version?.ToString(),
            ["newtonsoftFileVersion"] = newtonsoft.GetCustomAttribute<AssemblyFileVersionAttribute>()?.Version,
            ["loadContext"] = AssemblyLoadContext.GetLoadContext(newtonsoft)?.Name,
            ["roundTrip"] = JsonNode.Parse(back?.ToString(Formatting.None) ?? "null"),
        });
    }
}
