using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Scripting.Repl;

/// <summary>How the REPL shows a value: as the JSON that crosses step boundaries, indented, in both languages.</summary>
internal static class ReplDisplay
{
    private static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,

        // A REPL is read by people: keep quotes and non-ASCII text as they are.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Json(JsonNode? value) => value?.ToJsonString(Indented) ?? "null";
}
