using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Orchestrator.Scripting.CompileCache;

/// <summary>
/// The compile cache's key, as dotnet-script keys its cache: a SHA-256 over the script's path and bytes, every
/// <c>#load</c>ed file's path and bytes, every referenced assembly's identity (name, version, MVID), the engine
/// version, the target framework and the runtime. Any change to one of them is a different key.
/// </summary>
internal static class CacheKey
{
    private const string Format = "orchestrator-csx-cache/1";

    private static readonly string Environment = string.Join(
        '|',
        typeof(CacheKey).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0",
        AppContext.TargetFrameworkName ?? "",
        RuntimeInformation.FrameworkDescription,
        RuntimeInformation.RuntimeIdentifier);

    /// <summary>The key as lowercase hex, or null when a <c>#load</c>ed file or a reference is gone or unreadable (never a hit then).</summary>
    public static string? Compute(string scriptPath, byte[] script, IReadOnlyList<string> loadedFiles, IReadOnlyList<string> references)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Add(hash, Format);
        Add(hash, Environment);
        Add(hash, scriptPath);
        Add(hash, script);
        try
        {
            foreach (var file in loadedFiles)
            {
                Add(hash, file);
                Add(hash, File.ReadAllBytes(file));
            }

            foreach (var reference in references)
            {
                Add(hash, reference);
                Add(hash, Identity(reference));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or BadImageFormatException or InvalidOperationException)
        {
            return null;
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Name, version and MVID, read from metadata without loading the assembly.</summary>
    private static string Identity(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        var assembly = metadata.GetAssemblyDefinition();
        var mvid = metadata.GetGuid(metadata.GetModuleDefinition().Mvid);
        return $"{metadata.GetString(assembly.Name)}, {assembly.Version}, {mvid}";
    }

    private static void Add(IncrementalHash hash, string text) => Add(hash, Encoding.UTF8.GetBytes(text));

    // Length-prefixed, so that two different sequences of parts never hash the same.
    private static void Add(IncrementalHash hash, byte[] bytes)
    {
        hash.AppendData(BitConverter.GetBytes(bytes.LongLength));
        hash.AppendData(bytes);
    }
}
