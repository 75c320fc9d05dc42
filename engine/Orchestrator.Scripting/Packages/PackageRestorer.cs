using System.Runtime.InteropServices;
using NuGet.Common;
using NuGet.Configuration;
using NuGet.Frameworks;
using NuGet.Packaging;
using NuGet.Packaging.Core;
using NuGet.Packaging.Signing;
using NuGet.Protocol;
using NuGet.Protocol.Core.Types;
using NuGet.Versioning;

namespace Orchestrator.Scripting.Packages;

/// <summary>
/// Restores a script's <c>#r "nuget: …"</c> packages with the NuGet client libraries: the feeds of the nuget.config that
/// applies to the script's folder (nuget.org by default), each package and its dependencies into a packages folder in
/// NuGet's own layout (<c>id/version/</c>), already-restored versions reused without a feed. Returns the assemblies to
/// compile against and load: each package's <c>lib/</c> for the nearest framework, leaving out what the shared framework
/// already has. Packages that only carry <c>ref/</c> or native <c>runtimes/</c> assets are not supported.
/// </summary>
internal sealed class PackageRestorer(string packagesFolder, string scriptDirectory)
{
    // The runtime's own version: scripts run on it, whatever framework the host was built for.
    private static readonly NuGetFramework Framework = NuGetFramework.Parse($"net{Environment.Version.Major}.{Environment.Version.Minor}");

    // The shared framework's assemblies by simple name: a package that ships one of them (System.Text.Json, say) is served
    // by the framework's copy, as a project on this framework would be.
    private static readonly HashSet<string> FrameworkAssemblies = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "")
        .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Where(p => p.StartsWith(RuntimeEnvironment.GetRuntimeDirectory(), StringComparison.Ordinal))
        .Select(Path.GetFileNameWithoutExtension)
        .OfType<string>()
        .ToHashSet(StringComparer.OrdinalIgnoreCase);

    private readonly VersionFolderPathResolver _layout = new(packagesFolder);

    /// <summary>NuGet's global packages folder as the settings for <paramref name="directory"/> say (<c>NUGET_PACKAGES</c>, else <c>~/.nuget/packages</c>).</summary>
    public static string DefaultFolder(string directory) => SettingsUtility.GetGlobalPackagesFolder(Settings.LoadDefaultSettings(directory));

    /// <summary>The assemblies of <paramref name="package"/> and its dependencies; throws <see cref="PackageRestoreException"/> in one line.</summary>
    public async Task<IReadOnlyList<string>> RestoreAsync(PackageDirective package, CancellationToken cancellationToken)
    {
        var settings = Settings.LoadDefaultSettings(scriptDirectory);
        var sources = new PackageSourceProvider(settings).LoadPackageSources().Where(s => s.IsEnabled).ToList();
        var feeds = sources.Count == 0 ? "no feed (nuget.config disables them all)" : string.Join(", ", sources.Select(s => s.Source));
        using var cache = new SourceCacheContext();
        var repositories = sources.Select(s => Repository.Factory.GetCoreV3(s)).ToList();
        var resolved = new Dictionary<string, NuGetVersion>(StringComparer.OrdinalIgnoreCase);
        var pending = new Queue<(string Id, VersionRange Range)>([(package.Id, package.Range)]);
        try
        {
            while (pending.TryDequeue(out var next))
            {
                if (FrameworkAssemblies.Contains(next.Id) || (resolved.TryGetValue(next.Id, out var have) && next.Range.Satisfies(have)))
                {
                    continue;
                }

                var version = await ChooseAsync(next.Id, next.Range, repositories, cache, cancellationToken).ConfigureAwait(false)
                    ?? throw new PackageRestoreException($"no version of {next.Id} matches {next.Range.PrettyPrint()} on {feeds}");
                if (have is not null && have >= version)
                {
                    continue;
                }

                resolved[next.Id] = version;
                var folder = await InstallAsync(new PackageIdentity(next.Id, version), repositories, settings, cache, cancellationToken).ConfigureAwait(false);
                using var reader = new PackageFolderReader(folder);
                var group = NuGetFrameworkUtility.GetNearest(reader.GetPackageDependencies(), Framework, g => g.TargetFramework);
                foreach (var dependency in group?.Packages ?? [])
                {
                    pending.Enqueue((dependency.Id, dependency.VersionRange));
                }
            }
        }
        catch (Exception ex) when (ex is FatalProtocolException or HttpRequestException or IOException or InvalidDataException)
        {
            throw new PackageRestoreException($"cannot restore {package} from {feeds}: {OneLine(ex)}");
        }

        var assemblies = resolved.SelectMany(p => Assemblies(new PackageIdentity(p.Key, p.Value))).ToList();
        return assemblies.Count > 0 || resolved.Count == 0
            ? assemblies
            : throw new PackageRestoreException($"{package} and its dependencies ({string.Join(", ", resolved.Select(p => $"{p.Key} {p.Value}"))}) have no assemblies for {Framework.GetShortFolderName()} in lib/");
    }

    /// <summary>The best version for the range: one already in the packages folder needs no feed at all.</summary>
    private async Task<NuGetVersion?> ChooseAsync(string id, VersionRange range, IReadOnlyList<SourceRepository> repositories, SourceCacheContext cache, CancellationToken cancellationToken)
    {
        if (!range.IsFloating && range.MinVersion is { } exact && range.IsMinInclusive && File.Exists(_layout.GetHashPath(id, exact)))
        {
            return exact;
        }

        var versions = new List<NuGetVersion>();
        foreach (var repository in repositories)
        {
            var finder = await FinderAsync(repository, cancellationToken).ConfigureAwait(false);
            versions.AddRange(await finder.GetAllVersionsAsync(id, cache, NullLogger.Instance, cancellationToken).ConfigureAwait(false));
        }

        return range.FindBestMatch(versions);
    }

    private async Task<string> InstallAsync(PackageIdentity identity, IReadOnlyList<SourceRepository> repositories, ISettings settings, SourceCacheContext cache, CancellationToken cancellationToken)
    {
        var folder = _layout.GetInstallPath(identity.Id, identity.Version);
        if (File.Exists(_layout.GetHashPath(identity.Id, identity.Version)))
        {
            return folder;
        }

        foreach (var repository in repositories)
        {
            var finder = await FinderAsync(repository, cancellationToken).ConfigureAwait(false);
            if (!await finder.DoesPackageExistAsync(identity.Id, identity.Version, cache, NullLogger.Instance, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }

            using var downloader = await finder.GetPackageDownloaderAsync(identity, cache, NullLogger.Instance, cancellationToken).ConfigureAwait(false)
                ?? throw new PackageRestoreException($"{repository.PackageSource.Source} lists {identity.Id} {identity.Version} but does not serve it");
            var extraction = new PackageExtractionContext(PackageSaveMode.Defaultv3, XmlDocFileSaveMode.None, ClientPolicyContext.GetClientPolicy(settings, NullLogger.Instance), NullLogger.Instance);
            await PackageExtractor.InstallFromSourceAsync(identity, downloader, _layout, extraction, cancellationToken).ConfigureAwait(false);
            return folder;
        }

        throw new PackageRestoreException($"{identity.Id} {identity.Version} is on none of the feeds");
    }

    private static async Task<FindPackageByIdResource> FinderAsync(SourceRepository repository, CancellationToken cancellationToken) =>
        await repository.GetResourceAsync<FindPackageByIdResource>(cancellationToken).ConfigureAwait(false)
            ?? throw new PackageRestoreException($"{repository.PackageSource.Source} is not a NuGet feed");

    private IEnumerable<string> Assemblies(PackageIdentity identity)
    {
        var folder = _layout.GetInstallPath(identity.Id, identity.Version);
        using var reader = new PackageFolderReader(folder);
        var group = NuGetFrameworkUtility.GetNearest(reader.GetLibItems(), Framework, g => g.TargetFramework);
        return [.. (group?.Items ?? [])
            .Where(item => item.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) && !FrameworkAssemblies.Contains(Path.GetFileNameWithoutExtension(item)))
            .Select(item => Path.GetFullPath(Path.Combine(folder, item)))];
    }

    private static string OneLine(Exception ex) =>
        Core.Plugins.PluginDiscovery.OneLine(ex.InnerException is { } inner && ex is FatalProtocolException ? $"{ex.Message} ({inner.Message})" : ex.Message);
}

/// <summary>A <c>#r "nuget: …"</c> package could not be restored; the message is one line naming the package and the feeds.</summary>
internal sealed class PackageRestoreException(string message) : Exception(message);
