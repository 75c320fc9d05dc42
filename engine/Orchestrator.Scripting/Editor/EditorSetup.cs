using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Scripting.Editor;

/// <summary>What <see cref="EditorSetup.Write"/> did with one file.</summary>
internal enum EditorFileAction
{
    Written,
    Updated,
    Unchanged,
    Overwritten,

    /// <summary>Changed by the user since it was written: left alone (force overwrites).</summary>
    Kept,
}

/// <summary>One file of the editor setup and what became of it.</summary>
internal sealed record EditorFile(string RelativePath, EditorFileAction Action);

/// <summary>A folder the editor setup cannot be written to: one line for the user.</summary>
internal sealed class EditorSetupException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// <c>orchestrator init</c>: the files that give editors completion and type checking in a folder of workflows.
/// For .js, <c>orchestrator.d.ts</c> (every global the JavaScript front end binds) and a <c>jsconfig.json</c> that
/// type-checks the scripts against it; for .csx, an <c>omnisharp.json</c> whose script settings name a response file
/// with the engine's references and imports, and the static twin of the globals (<see cref="CSharpEditorGlobals"/>).
/// Running it again changes nothing that is up to date, updates what it wrote itself, and keeps a file the user
/// changed unless forced: a manifest of what it wrote (their SHA-256) tells the two apart.
/// </summary>
internal static class EditorSetup
{
    public const string Declarations = "orchestrator.d.ts";
    public const string JsConfig = "jsconfig.json";
    public const string OmniSharp = "omnisharp.json";

    /// <summary>The folder of the C# editor's files; not <c>.orchestrator</c>, which is the store.</summary>
    public const string Folder = ".orchestrator-editor";

    public static readonly string ResponseFile = Folder + "/csx.rsp";

    private static readonly string Manifest = Folder + "/init.json";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Writes the setup into <paramref name="directory"/> (made if missing); <paramref name="force"/> overwrites files the user changed.</summary>
    public static IReadOnlyList<EditorFile> Write(string directory, bool force)
    {
        var root = Path.GetFullPath(directory);
        if (File.Exists(root))
        {
            throw new EditorSetupException($"{root} is a file; init needs the folder the workflows are in");
        }

        try
        {
            Directory.CreateDirectory(Path.Combine(root, Folder));
            var written = ReadManifest(root);
            var results = new List<EditorFile>();
            var hashes = new JsonObject();
            foreach (var (path, content) in Files(root))
            {
                var action = WriteFile(root, path, content, written[path]?.GetValue<string>(), force);
                results.Add(new EditorFile(path, action));

                // A file left as the user changed it stays theirs: its old hash is kept, so that it stays kept.
                hashes[path] = action == EditorFileAction.Kept ? written[path]?.GetValue<string>() : Hash(content);
            }

            File.WriteAllText(Path.Combine(root, Manifest), new JsonObject { ["files"] = hashes }.ToJsonString(Indented) + "\n");
            return results;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new EditorSetupException($"cannot write the editor setup into {root}: {ex.Message}", ex);
        }
    }

    /// <summary>The declarations of the JavaScript globals, as shipped in the engine.</summary>
    public static string JavaScriptDeclarations()
    {
        using var stream = typeof(EditorSetup).Assembly.GetManifestResourceStream(Declarations)
            ?? throw new InvalidOperationException($"the {Declarations} resource is missing from the build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static IEnumerable<(string Path, byte[] Content)> Files(string root)
    {
        yield return (Declarations, Encoding.UTF8.GetBytes(JavaScriptDeclarations()));
        yield return (JsConfig, Json(new JsonObject
        {
            ["compilerOptions"] = new JsonObject
            {
                ["checkJs"] = true,
                ["allowJs"] = true,
                ["noEmit"] = true,
                ["strict"] = false,
                ["target"] = "es2022",
                ["lib"] = new JsonArray("es2022"),

                // Each workflow is its own module: top-level await is allowed, and two scripts' variables do not clash.
                ["module"] = "preserve",
                ["moduleDetection"] = "force",
                ["types"] = new JsonArray(),
            },
            ["include"] = new JsonArray("**/*.js", Declarations),
            ["exclude"] = new JsonArray("node_modules", ".orchestrator"),
        }));
        yield return (OmniSharp, Json(new JsonObject
        {
            ["script"] = new JsonObject
            {
                ["enabled"] = true,
                ["defaultTargetFramework"] = "net10.0",
                ["enableScriptNuGetReferences"] = true,
                ["rspFilePath"] = ResponseFile,
            },
        }));

        var (assembly, documentation) = CSharpEditorGlobals.Build();
        var twin = Folder + "/" + CSharpEditorGlobals.AssemblyName;
        yield return (twin + ".dll", assembly);
        yield return (twin + ".xml", documentation);
        yield return (ResponseFile, Encoding.UTF8.GetBytes(Response(root)));
    }

    /// <summary>The references and imports a .csx compiles with, in csc's response file syntax (OmniSharp reads it so).</summary>
    private static string Response(string root)
    {
        var text = new StringBuilder();
        text.AppendLine("# Written by orchestrator init: what an editor compiles a .csx with. Run init again after upgrading the orchestrator.");
        foreach (var assembly in CSharpEditorGlobals.EngineAssemblies)
        {
            text.AppendLine($"/r:\"{assembly}\"");
        }

        text.AppendLine($"/r:\"{Path.Combine(root, Folder, CSharpEditorGlobals.AssemblyName + ".dll")}\"");
        foreach (var import in CSharp.CSharpCompiler.Imports)
        {
            text.AppendLine("/u:" + import);
        }

        text.AppendLine("/u:" + CSharpEditorGlobals.TypeName);
        return text.ToString();
    }

    private static EditorFileAction WriteFile(string root, string relativePath, byte[] content, string? writtenHash, bool force)
    {
        var path = Path.Combine(root, relativePath);
        if (!File.Exists(path))
        {
            File.WriteAllBytes(path, content);
            return EditorFileAction.Written;
        }

        var current = Hash(File.ReadAllBytes(path));
        if (current == Hash(content))
        {
            return EditorFileAction.Unchanged;
        }

        if (current == writtenHash)
        {
            File.WriteAllBytes(path, content);
            return EditorFileAction.Updated;
        }

        if (!force)
        {
            return EditorFileAction.Kept;
        }

        File.WriteAllBytes(path, content);
        return EditorFileAction.Overwritten;
    }

    private static JsonObject ReadManifest(string root)
    {
        var path = Path.Combine(root, Manifest);
        try
        {
            return File.Exists(path) && JsonNode.Parse(File.ReadAllText(path))?["files"] is JsonObject files ? files : [];
        }
        catch (JsonException)
        {
            // A damaged manifest only means that every file that differs counts as the user's.
            return [];
        }
    }

    private static byte[] Json(JsonObject value) => Encoding.UTF8.GetBytes(value.ToJsonString(Indented) + "\n");

    private static string Hash(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));
}
