using Microsoft.CodeAnalysis;
using NuGet.Packaging;
using NuGet.Packaging.Core;
using NuGet.Versioning;
using Orchestrator.Tests.Plugins;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.CSharp;

/// <summary>
/// <c>#r "nuget: Name, Version"</c> in a .csx, restored with the NuGet client libraries from the feeds of the script's
/// nuget.config. The feed is a folder the test makes, holding two real packages (one depends on the other).
/// </summary>
public sealed class NuGetReferenceTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_package_and_its_dependency_are_restored_into_the_store_and_the_second_run_needs_no_feed()
    {
        var feed = Path.Combine(_dir.Path, "feed");
        MakeFeed(feed);
        UseFeeds(feed);
        var script = _dir.Write("greet.csx", """
            #r "nuget: Tiny.Greeter, 1.0.0"
            return Tiny.Greeter.Hello("world");
            """);
        var store = Path.Combine(_dir.Path, "store");

        var first = await CliRunner.RunAsync("run", script, "--store", store, "--json", "--no-host");

        first.ExitCode.Should().Be(0, first.ToString());
        first.LastLine.Should().Contain("hello world!");
        var packages = Path.Combine(store, "cache", "nuget");
        Directory.Exists(Path.Combine(packages, "tiny.greeter", "1.0.0")).Should().BeTrue("the package is restored into the store's cache");
        Directory.Exists(Path.Combine(packages, "tiny.suffix", "1.0.0")).Should().BeTrue("and its dependency with it");

        // No feed any more: the second run finds the compiled script in the compile cache (its entry is not written
        // again) and restores nothing.
        Directory.Delete(feed, recursive: true);
        var entries = Path.Combine(store, "cache", "csx");
        var cached = Directory.EnumerateFiles(entries, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.GetLastWriteTimeUtc);
        cached.Should().NotBeEmpty();
        var second = await CliRunner.RunAsync("run", script, "--store", store, "--json", "--no-host");

        second.ExitCode.Should().Be(0, second.ToString());
        second.LastLine.Should().Contain("hello world!");
        Directory.EnumerateFiles(entries, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.GetLastWriteTimeUtc)
            .Should().BeEquivalentTo(cached, "a compile cache hit writes no entry");
    }

    [Fact]
    public async Task A_REPL_submission_restores_a_package_and_later_submissions_use_it()
    {
        MakeFeed(Path.Combine(_dir.Path, "feed"));
        UseFeeds(Path.Combine(_dir.Path, "feed"));
        var store = Path.Combine(_dir.Path, "store");

        using var repl = OrchestratorProcess.StartWithInput(_dir.Path, "#r \"nuget: Tiny.Greeter, 1.0.0\"\nTiny.Greeter.Hello(\"repl\")\n", "repl", "--store", store);
        var result = await repl.WaitForExitAsync();

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Contain("\"hello repl!\"");
        Directory.Exists(Path.Combine(store, "cache", "nuget", "tiny.greeter", "1.0.0")).Should().BeTrue("the REPL restores into the store's cache too");
    }

    [Fact]
    public async Task A_package_that_cannot_be_restored_is_one_line_naming_the_script_line_package_and_feed_and_exit_2()
    {
        UseFeeds("http://127.0.0.1:9/v3/index.json");
        var script = _dir.Write("offline.csx", """
            // a package from a feed that does not answer
            #r "nuget: Tiny.Missing, 1.0.0"
            return 1;
            """);

        var run = await CliRunner.RunAsync("run", script, "--store", Path.Combine(_dir.Path, "store"), "--no-host");

        run.ExitCode.Should().Be(2, run.ToString());
        var line = run.Stderr.Trim().Split('\n').Should().ContainSingle().Subject;
        line.Should().Contain($"{script}(2,1)").And.Contain("Tiny.Missing").And.Contain("127.0.0.1:9");
    }

    [Theory]
    [InlineData("#r \"nuget: Tiny.Greeter\"", "has no version")]
    [InlineData("#r \"nuget: Tiny.Greeter, banana\"", "'banana' is not a version")]
    [InlineData("#r \"nuget: , 1.0.0\"", "names no package")]
    public async Task A_malformed_package_directive_is_one_line(string directive, string expected)
    {
        UseFeeds(Path.Combine(_dir.Path, "no-feed"));
        var script = _dir.Write("bad.csx", directive + "\nreturn 1;\n");

        var run = await CliRunner.RunAsync("run", script, "--store", Path.Combine(_dir.Path, "store"), "--no-host");

        run.ExitCode.Should().Be(2, run.ToString());
        run.Stderr.Trim().Split('\n').Should().ContainSingle().Which.Should().Contain($"{script}(1,1)").And.Contain(expected);
    }

    /// <summary>A nuget.config beside the scripts with only these feeds.</summary>
    private void UseFeeds(string feed) => _dir.Write("nuget.config", $"""
        <configuration>
          <packageSources>
            <clear />
            <add key="test" value="{feed}" />
          </packageSources>
        </configuration>
        """);

    private static void MakeFeed(string feed)
    {
        Directory.CreateDirectory(feed);
        var suffix = PluginCompiler.CompileAgainst(null, "Tiny.Suffix", ["namespace Tiny; public static class Suffix { public static string Of(string s) => s + \"!\"; }"], []);
        var greeter = PluginCompiler.CompileAgainst(null, "Tiny.Greeter", ["namespace Tiny; public static class Greeter { public static string Hello(string name) => Suffix.Of(\"hello \" + name); }"], [MetadataReference.CreateFromImage(suffix)]);
        Pack(feed, "Tiny.Suffix", suffix, []);
        Pack(feed, "Tiny.Greeter", greeter, [new PackageDependency("Tiny.Suffix", VersionRange.Parse("1.0.0"))]);
    }

    private static void Pack(string feed, string id, byte[] assembly, PackageDependency[] dependencies)
    {
        var framework = NuGet.Frameworks.NuGetFramework.Parse("net10.0");
        var builder = new PackageBuilder { Id = id, Version = NuGetVersion.Parse("1.0.0"), Description = id };
        builder.Authors.Add("tests");
        builder.DependencyGroups.Add(new PackageDependencyGroup(framework, dependencies));
        builder.Files.Add(new InMemoryFile($"lib/net10.0/{id}.dll", assembly));
        using var output = File.Create(Path.Combine(feed, $"{id}.1.0.0.nupkg"));
        builder.Save(output);
    }

    private sealed class InMemoryFile(string path, byte[] content) : IPackageFile
    {
        public string Path => path;

        public string? EffectivePath => path;

        public System.Runtime.Versioning.FrameworkName? TargetFramework => null;

        public NuGet.Frameworks.NuGetFramework? NuGetFramework => null;

        public DateTimeOffset LastWriteTime => DateTimeOffset.UnixEpoch;

        public Stream GetStream() => new MemoryStream(content, writable: false);
    }
}
