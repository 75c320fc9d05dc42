using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Serilog;

namespace Orchestrator.Core.Plugins;

/// <summary>Finds plugin assemblies on disk by reading metadata only, so nothing is loaded that is not a plugin.</summary>
internal static class PluginDiscovery
{
    public const string ContractAssemblyName = "Orchestrator.Abstractions";

    /// <summary>What a file's metadata says about it.</summary>
    internal enum Kind
    {
        /// <summary>A .NET assembly that references the contract.</summary>
        Plugin,

        /// <summary>A .NET assembly that does not reference the contract (a dependency, the contract itself).</summary>
        NotAPlugin,

        /// <summary>A valid PE image without .NET metadata (a native library).</summary>
        Native,

        /// <summary>Not a PE image at all (corrupt, truncated, not a DLL).</summary>
        Invalid,

        /// <summary>The file could not be read (permissions, sharing).</summary>
        Unreadable,
    }

    /// <summary>
    /// The candidate plugin files of one directory, in a stable order: <c>&lt;dir&gt;/&lt;Name&gt;/&lt;Name&gt;.dll</c>
    /// folders first (their dependencies sit beside them), then top-level DLLs that reference the contract.
    /// Files that cannot be plugins are skipped; files that are broken are reported through <paramref name="onError"/>.
    /// </summary>
    public static List<string> FindCandidates(string directory, ILogger log, Action<string, string> onError)
    {
        var found = new List<string>();
        foreach (var folder in Directory.EnumerateDirectories(directory).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(folder);
            var dll = Path.Combine(folder, name + ".dll");
            if (!File.Exists(dll))
            {
                log.Debug("Skipping {Folder}: no {Dll} in it", folder, name + ".dll");
                continue;
            }

            // The folder layout declares intent, so anything but a contract-referencing assembly is an error here.
            var kind = Inspect(dll, out var reason);
            switch (kind)
            {
                case Kind.Plugin:
                    found.Add(dll);
                    break;
                case Kind.NotAPlugin:
                    onError(dll, $"{name}.dll does not reference {ContractAssemblyName}, so it cannot provide agents or strategies");
                    break;
                default:
                    onError(dll, Describe(dll, kind, reason));
                    break;
            }
        }

        foreach (var dll in Directory.EnumerateFiles(directory, "*.dll").Order(StringComparer.Ordinal))
        {
            // Top-level DLLs share the folder with their dependencies, so only contract references make a plugin.
            var kind = Inspect(dll, out var reason);
            switch (kind)
            {
                case Kind.Plugin:
                    found.Add(dll);
                    break;
                case Kind.Invalid or Kind.Unreadable:
                    onError(dll, Describe(dll, kind, reason));
                    break;
                default:
                    log.Debug("Skipping {Dll}: not a plugin ({Reason})", dll, reason);
                    break;
            }
        }

        return found;
    }

    /// <summary>Classifies a file from its PE headers and assembly references, without loading it.</summary>
    public static Kind Inspect(string path, out string reason)
    {
        try
        {
            using var stream = File.OpenRead(path);
            using var pe = new PEReader(stream);
            if (!pe.HasMetadata)
            {
                // PEReader reads headers lazily; touching them is what detects garbage.
                _ = pe.PEHeaders;
                reason = "no .NET metadata (a native library?)";
                return Kind.Native;
            }

            var metadata = pe.GetMetadataReader();
            if (!metadata.IsAssembly)
            {
                reason = "a module, not an assembly";
                return Kind.NotAPlugin;
            }

            foreach (var handle in metadata.AssemblyReferences)
            {
                var reference = metadata.GetAssemblyReference(handle);
                if (metadata.StringComparer.Equals(reference.Name, ContractAssemblyName))
                {
                    reason = "references the contract";
                    return Kind.Plugin;
                }
            }

            reason = $"does not reference {ContractAssemblyName}";
            return Kind.NotAPlugin;
        }
        catch (Exception ex) when (ex is BadImageFormatException or InvalidOperationException)
        {
            reason = OneLine(ex.Message);
            return Kind.Invalid;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            reason = OneLine(ex.Message);
            return Kind.Unreadable;
        }
    }

    private static string Describe(string path, Kind kind, string reason) => kind == Kind.Unreadable
        ? $"{Path.GetFileName(path)} could not be read: {reason}"
        : $"{Path.GetFileName(path)} is not a valid .NET assembly: {reason}";

    /// <summary>The version of the plugin contract this engine provides (the contract assembly's version).</summary>
    public static Version ContractVersion { get; } = typeof(Abstractions.IAgent).Assembly.GetName().Version!;

    /// <summary>
    /// Why the plugin at <paramref name="path"/> cannot run on this engine's contract, or null when it can: a plugin built
    /// against the same major version and the same or an older minor loads (minor versions only add, with defaults);
    /// another major, or a newer minor whose additions this engine lacks, is refused before anything is loaded.
    /// </summary>
    public static string? CheckContract(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            using var pe = new PEReader(stream);
            var metadata = pe.GetMetadataReader();
            foreach (var handle in metadata.AssemblyReferences)
            {
                var reference = metadata.GetAssemblyReference(handle);
                if (metadata.StringComparer.Equals(reference.Name, ContractAssemblyName)
                    && (reference.Version.Major != ContractVersion.Major || reference.Version.Minor > ContractVersion.Minor))
                {
                    return $"{Path.GetFileName(path)} was built against plugin contract {reference.Version.ToString(2)}, and this engine has {ContractVersion.ToString(2)}: "
                        + $"rebuild it against {ContractAssemblyName} {ContractVersion.Major}.x, at most {ContractVersion.ToString(2)}";
                }
            }

            return null;
        }
        catch (Exception ex) when (ex is BadImageFormatException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            // Said by the load itself, in its own words.
            return null;
        }
    }

    /// <summary>Errors are one line each in logs and listings, whatever the exception text looks like.</summary>
    public static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
