using System.Collections.Concurrent;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Plugins;

/// <summary>
/// Finds the fixture plugins that this test project builds (tests/Fixtures/*, referenced without their
/// output) and lays copies of them out in a private plugins folder per test.
/// </summary>
internal static class FixturePlugins
{
    public const string JsonV12 = "Fixture.JsonV12";
    public const string JsonV13 = "Fixture.JsonV13";
    public const string Throwing = "Fixture.Throwing";
    public const string Faults = "Fixture.Faults";
    public const string Hanging = "Fixture.Hanging";

    /// <summary>
    /// tests/Fixtures/&lt;name&gt;/bin/&lt;Configuration&gt;/&lt;tfm&gt;/, with the configuration and target framework
    /// taken from this test assembly's own output path (…/bin/Debug/net10.0/).
    /// </summary>
    public static string OutputOf(string name)
    {
        var testOutput = new DirectoryInfo(Path.GetDirectoryName(typeof(FixturePlugins).Assembly.Location)!);
        var framework = testOutput.Name;
        var configuration = testOutput.Parent?.Name
            ?? throw new InvalidOperationException($"cannot tell the build configuration from {testOutput.FullName}");
        var output = Path.Combine(RepoPaths.Root, "tests", "Fixtures", name, "bin", configuration, framework);
        return File.Exists(Path.Combine(output, name + ".dll"))
            ? output
            : throw new InvalidOperationException($"fixture {name} is not built at {output}; build tests/Orchestrator.Tests, which builds the fixtures");
    }

}

/// <summary>A throwaway plugins folder; each test gets its own so that tests stay independent.</summary>
internal sealed class PluginFolder : IDisposable
{
    public PluginFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "orchestrator-plugins-" + Guid.NewGuid().ToString("N"));

    /// <summary>Copies a fixture's whole output to <c>&lt;folder&gt;/&lt;name&gt;/</c>; returns the plugin DLL's path.</summary>
    public string AddFixture(string name)
    {
        var target = System.IO.Path.Combine(Path, name);
        CopyDirectory(FixturePlugins.OutputOf(name), target);
        return System.IO.Path.Combine(target, name + ".dll");
    }

    /// <summary>Writes a file at a path relative to the folder; returns its full path.</summary>
    public string WriteFile(string relativePath, byte[] content)
    {
        var path = System.IO.Path.Combine(Path, relativePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // On Windows a DLL still mapped by an unloading context cannot be deleted yet; temp is cleaned eventually.
        }
    }

    private static void CopyDirectory(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(source))
        {
            File.Copy(file, System.IO.Path.Combine(target, System.IO.Path.GetFileName(file)));
        }

        foreach (var dir in Directory.EnumerateDirectories(source))
        {
            CopyDirectory(dir, System.IO.Path.Combine(target, System.IO.Path.GetFileName(dir)));
        }
    }
}

/// <summary>A Serilog logger that keeps its events, to check what the host reports.</summary>
internal sealed class CapturingLog : ILogEventSink
{
    private readonly ConcurrentQueue<LogEvent> _events = new();

    public CapturingLog() => Logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(this).CreateLogger();

    public ILogger Logger { get; }

    public IReadOnlyList<LogEvent> Events => [.. _events];

    public void Emit(LogEvent logEvent) => _events.Enqueue(logEvent);
}
