using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.PluginTemplate;

/// <summary>
/// The <c>dotnet new</c> template in plugin-template/, as a plugin author outside the repository uses it: installed
/// into a private template hive, a plugin created in a folder of its own, built and tested with the SDK, then
/// loaded by the engine from <c>--plugins</c>.
/// </summary>
[Collection(nameof(PluginTemplateTests))]
public sealed class PluginTemplateTests
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5);

    [Theory]
    [InlineData("agent", "UpperAgent")]
    [InlineData("recovery", "AgainStrategy")]
    public async Task A_plugin_made_from_the_template_builds_passes_its_tests_and_serves_a_workflow(string kind, string name)
    {
        using var dir = new TempDirectory();
        var hive = Path.Combine(dir.Path, "hive");
        var project = Path.Combine(dir.Path, name);

        await DotnetAsync(dir.Path, "new", "install", Path.Combine(RepoPaths.Root, "plugin-template"), "--debug:custom-hive", hive);
        await DotnetAsync(dir.Path, "new", "orchestrator-plugin", "-n", name, "-o", project, "--kind", kind, "--engine", RepoPaths.Root, "--debug:custom-hive", hive);
        await DotnetAsync(project, "test", name + ".slnx");

        var plugins = Path.Combine(project, name, "bin", "Debug", "net10.0");
        File.Exists(Path.Combine(plugins, "Orchestrator.Abstractions.dll")).Should().BeFalse("the host shares its own copy of the contract");

        var marker = Path.Combine(dir.Path, "tried-once");
        var script = kind == "agent"
            ? dir.Write("flow.csx", $"return await Agent(\"{name.ToLowerInvariant()}\").RunAsync(new {{ text = \"hello\" }});")
            : dir.Write("flow.csx", $$"""
                // Fails on the first try only: the strategy's second attempt succeeds.
                return await Agent("shell").RunAsync(new { script = "test -f '{{marker}}' && echo rescued || { touch '{{marker}}'; exit 1; }" },
                    recovery: Recovery("{{name.ToLowerInvariant()}}", new { attempts = 2 }));
                """);

        var run = await CliRunner.RunAsync("run", script, "--plugins", plugins, "--store", Path.Combine(dir.Path, "store"), "--json");

        run.ExitCode.Should().Be(0, run.ToString());
        var result = JsonNode.Parse(run.LastLine)!["result"]!;
        if (kind == "agent")
        {
            result["text"]!.GetValue<string>().Should().Be("HELLO");
        }
        else
        {
            result["stdout"]!.GetValue<string>().Trim().Should().Be("rescued");
        }
    }

    private static async Task DotnetAsync(string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo
        {
            FileName = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } muxer && File.Exists(muxer) ? muxer : "dotnet",
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";

        // The test host runs under `dotnet test`, whose MSBuild settings must not leak into a separate build.
        foreach (var inherited in new[] { "MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildLoadMicrosoftTargetsReadOnly" })
        {
            info.Environment.Remove(inherited);
        }

        using var process = new Process { StartInfo = info };
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', args)} did not finish within {CommandTimeout}:\n{output}");
        }

        process.WaitForExit();
        process.ExitCode.Should().Be(0, $"dotnet {string.Join(' ', args)} should succeed:\n{output}");
    }
}

/// <summary>The template tests run whole SDK builds: alone, so that they do not slow the timing-sensitive tests beside them.</summary>
[CollectionDefinition(nameof(PluginTemplateTests), DisableParallelization = true)]
public sealed class PluginTemplateCollection;
