using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Serilog;

namespace Orchestrator.Scripting.CompileCache;

/// <summary>
/// Compiled .csx scripts kept on disk (the store's <c>cache/</c> folder), one entry per script path: the assembly,
/// its PDB and a manifest with the key, the <c>#load</c>ed files, the references and each file's length and
/// SHA-256. An entry is used only if its key still matches and both files check out; anything else is a miss,
/// and a damaged entry is rebuilt, never trusted. The cache is an optimisation: failing to write it never fails a run.
/// </summary>
internal sealed class ScriptCompileCache(string directory, ILogger log)
{
    private const int ManifestFormat = 1;

    /// <summary>The cache folder, e.g. <c>.orchestrator/cache</c>.</summary>
    public string Directory { get; } = Path.GetFullPath(directory);

    /// <summary>Where <c>#r "nuget: …"</c> packages are restored for the scripts cached here: beside them, in the store.</summary>
    public string PackagesFolder => PackagesFolderIn(Directory);

    /// <summary>The packages folder of the compile cache in <paramref name="cacheDirectory"/> (the REPL restores there too).</summary>
    public static string PackagesFolderIn(string cacheDirectory) => Path.Combine(cacheDirectory, "nuget");

    /// <summary>The cached compilation of <paramref name="scriptPath"/> if it is current and intact; <paramref name="corrupt"/> says a damaged entry was found.</summary>
    public CompiledScript? Find(string scriptPath, byte[] script, out bool corrupt)
    {
        corrupt = false;
        var entry = EntryDirectory(scriptPath);
        var manifestPath = Path.Combine(entry, "manifest.json");
        if (!File.Exists(manifestPath))
        {
            return null;
        }

        try
        {
            var manifest = JsonNode.Parse(File.ReadAllBytes(manifestPath))?.AsObject() ?? throw new InvalidDataException("empty manifest");
            if (Required<int>(manifest, "format") != ManifestFormat)
            {
                return null;
            }

            var loaded = Strings(manifest["loaded"]);
            var references = Strings(manifest["references"]);
            if (CacheKey.Compute(scriptPath, script, loaded, references) != Required<string>(manifest, "key"))
            {
                log.Debug("Compile cache entry for {Script} is out of date", scriptPath);
                return null;
            }

            var assembly = ReadVerified(entry, manifest["assembly"]);
            var pdb = ReadVerified(entry, manifest["pdb"]);
            if (assembly is not null && pdb is not null)
            {
                return new CompiledScript(assembly, pdb, Required<string>(manifest, "entryType"), Required<string>(manifest, "entryMethod"), loaded, references);
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or IOException or UnauthorizedAccessException)
        {
            // Falls through: an unreadable manifest is a corrupt entry like a file whose hash does not match.
        }

        corrupt = true;
        log.Warning("Compile cache entry for {Script} is corrupt; compiling again", scriptPath);
        Evict(scriptPath);
        return null;
    }

    /// <summary>Stores <paramref name="compiled"/> as the entry of <paramref name="scriptPath"/>; each file is written to a temporary name and renamed, so readers never see half an entry.</summary>
    public void Store(string scriptPath, byte[] script, CompiledScript compiled)
    {
        var key = CacheKey.Compute(scriptPath, script, compiled.LoadedFiles, compiled.References);
        if (key is null)
        {
            return;
        }

        var entry = EntryDirectory(scriptPath);
        try
        {
            System.IO.Directory.CreateDirectory(entry);
            var manifest = new JsonObject
            {
                ["format"] = ManifestFormat,
                ["key"] = key,
                ["script"] = scriptPath,
                ["entryType"] = compiled.EntryType,
                ["entryMethod"] = compiled.EntryMethod,
                ["loaded"] = new JsonArray([.. compiled.LoadedFiles.Select(f => JsonValue.Create(f))]),
                ["references"] = new JsonArray([.. compiled.References.Select(r => JsonValue.Create(r))]),
                ["assembly"] = WriteFile(entry, key + ".dll", compiled.Assembly),
                ["pdb"] = WriteFile(entry, key + ".pdb", compiled.Pdb),
            };
            WriteAtomically(Path.Combine(entry, "manifest.json"), Encoding.UTF8.GetBytes(manifest.ToJsonString()));

            // Older compilations of the same script are no longer referenced.
            foreach (var stale in System.IO.Directory.EnumerateFiles(entry).Where(f => !Path.GetFileName(f).StartsWith(key, StringComparison.Ordinal) && !Path.GetFileName(f).StartsWith("manifest.json", StringComparison.Ordinal)))
            {
                TryDelete(stale);
            }

            log.Debug("Compile cache stored {Script} as {Key}", scriptPath, key);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            log.Warning("Compile cache not written for {Script}: {Error}", scriptPath, ex.Message);
        }
    }

    /// <summary>Forgets the entry of <paramref name="scriptPath"/> (its manifest: without one, nothing is trusted).</summary>
    public void Evict(string scriptPath) => TryDelete(Path.Combine(EntryDirectory(scriptPath), "manifest.json"));

    /// <summary>The entry folder of a script: one per full path, so that scripts never share an output.</summary>
    internal string EntryDirectory(string scriptPath) =>
        Path.Combine(Directory, "csx", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(scriptPath)))[..32]);

    private static JsonObject WriteFile(string entry, string name, byte[] bytes)
    {
        WriteAtomically(Path.Combine(entry, name), bytes);
        return new JsonObject { ["file"] = name, ["length"] = bytes.LongLength, ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(bytes)) };
    }

    private static byte[]? ReadVerified(string entry, JsonNode? file)
    {
        var path = Path.Combine(entry, Path.GetFileName(Required<string>(file, "file")));
        if (!File.Exists(path) || new FileInfo(path).Length != Required<long>(file, "length"))
        {
            return null;
        }

        var bytes = File.ReadAllBytes(path);
        return Convert.ToHexStringLower(SHA256.HashData(bytes)) == Required<string>(file, "sha256") ? bytes : null;
    }

    private static void WriteAtomically(string path, byte[] bytes)
    {
        var temporary = path + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
    }

    private static List<string> Strings(JsonNode? array) =>
        [.. (array ?? throw new InvalidDataException("a list is missing")).AsArray().Select(n => n?.GetValue<string>() ?? throw new InvalidDataException("a null in a list"))];

    private static T Required<T>(JsonNode? node, string name) =>
        node?[name] is { } value ? value.GetValue<T>() : throw new InvalidDataException($"'{name}' is missing");

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Another process may be using it; a later store cleans up.
        }
    }
}
