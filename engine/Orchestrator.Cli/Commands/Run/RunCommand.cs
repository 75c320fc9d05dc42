using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Cli.Hosting;
using Orchestrator.Cli.Progress;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Workflow;

namespace Orchestrator.Cli.Commands.Run;

/// <summary><c>orchestrator run &lt;script&gt;</c>: compile a workflow, run it, journal it, write its report.</summary>
internal static class RunCommand
{
    public static Command Create(CliConsole console)
    {
        var script = new Argument<string>("script") { Description = "The workflow script, .csx or .js." };
        var store = CommonOptions.Store();
        var plugins = CommonOptions.Plugins();
        var verbose = CommonOptions.Verbose();
        var json = CommonOptions.Json();
        var quiet = CommonOptions.Quiet();
        var watch = CommonOptions.WatchPlugins();
        var timeout = CommonOptions.Timeout();
        var noCache = CommonOptions.NoCache();
        var input = new Option<string?>("--input") { Description = "The run's input as JSON, or @file.json." };
        var connectors = ConnectorFiles.ConnectorsOption();
        var secrets = ConnectorFiles.SecretsOption();
        var mcpConfig = CommonOptions.McpConfig();
        var otlp = Telemetry.TelemetryOptions.Otlp();
        var otelConsole = Telemetry.TelemetryOptions.Console();
        var host = RemoteRun.HostOption();
        var noHost = RemoteRun.NoHostOption();

        var command = new Command("run", "Run a workflow script.") { script, store, plugins, watch, json, quiet, input, timeout, connectors, secrets, mcpConfig, noCache, otlp, otelConsole, host, noHost, verbose };
        command.SetAction((parse, ct) => RunAsync(
            console,
            new RunRequest(parse.GetValue(script)!, parse.GetValue(store)!, parse.GetValue(plugins) ?? [], parse.GetValue(json), parse.GetValue(quiet), parse.GetValue(input), parse.GetValue(timeout), parse.GetValue(verbose), parse.GetValue(watch), !parse.GetValue(noCache))
            {
                Connectors = new ConnectorFiles(parse.GetValue(connectors), parse.GetValue(secrets)),
                McpConfig = parse.GetValue(mcpConfig),
                Otlp = parse.GetValue(otlp),
                OtelConsole = parse.GetValue(otelConsole),
                Host = parse.GetValue(host),
                NoHost = parse.GetValue(noHost),
            },
            ct));
        return command;
    }

    private static async Task<int> RunAsync(CliConsole console, RunRequest request, CancellationToken cancellationToken)
    {
        var scriptPath = Path.GetFullPath(request.Script);
        var inputText = ReadInput(request.Input);
        var input = ParseInputText(inputText.Text, inputText.Source);
        var timeout = CommonOptions.ParseDuration(request.Timeout, "--timeout");
        if (RemoteRun.Find(request.Store, request.Host, request.NoHost, request.NeedsThisProcess) is { } remote)
        {
            if (!File.Exists(scriptPath))
            {
                throw new CliException($"script not found: {scriptPath}");
            }

            if (await remote.RunAsync(console, scriptPath, inputText, request.Json, request.Quiet, cancellationToken) is { } exitCode)
            {
                return exitCode;
            }
        }

        using var telemetry = Telemetry.TelemetryOptions.Start(request.Otlp, request.OtelConsole);
        await using var host = WorkflowHost.Open(console, scriptPath, request.Store, request.PluginDirectories, request.McpConfig, request.Verbose, request.UseCache, cancellationToken, request.Connectors, request.WatchPlugins, oneRunProcess: console.OwnsProcess);
        await NoteUnfinishedRunsAsync(console, host, scriptPath, cancellationToken);
        RunOutcome outcome;
        await using (var progress = RunProgress.For(console, request.Json, request.Quiet))
        {
            outcome = await RunObservation.Create(progress, timeout, host.Circuits).RunAsync(options => host.Engine.RunAsync(host.Program, input, cancellationToken, options));
        }

        return RunOutput.Report(console, outcome, request.Json, request.Quiet);
    }

    /// <summary>Finished work is never re-run silently: point at unfinished runs of the same script, which resume can continue.</summary>
    private static async Task NoteUnfinishedRunsAsync(CliConsole console, WorkflowHost host, string scriptPath, CancellationToken cancellationToken)
    {
        // Only this script's open runs are read: a store keeps every earlier run, and this is on every run's start.
        var unfinished = (await host.Session.Journal.ListOpenRunsAsync(scriptPath, cancellationToken))
            .Where(r => r.Status == RunStatus.Cancelled || RunLiveness.IsInterrupted(r, host.Session.Journal.SharedAcrossMachines))
            .ToList();
        if (unfinished.Count > 0)
        {
            console.Error($"note: {unfinished.Count} earlier run(s) of this script did not finish; this starts a new run. To continue one instead: orchestrator resume {unfinished[^1].Id}");
        }
    }

    internal static JsonNode? ParseInput(string? text, string option = "--input")
    {
        var (content, source) = ReadInput(text, option);
        return ParseInputText(content, source);
    }

    /// <summary>The input's text: as given, or read from <c>@file</c> here (a host cannot read this machine's files); and its name for messages.</summary>
    internal static (string? Text, string Source) ReadInput(string? text, string option = "--input")
    {
        if (text is null || !text.StartsWith('@'))
        {
            return (text, option);
        }

        var source = text[1..];
        try
        {
            source = Path.GetFullPath(source);
            return (System.Text.Encoding.UTF8.GetString(Core.Files.RegularFile.ReadAll(source, MaxInputBytes)), source);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // The path as typed may hold any character; the message stays one line.
            throw new CliException($"{option}: cannot read {CliConsole.Printable(source)}: {(ex is FileNotFoundException ? "file not found" : ex.Message)}");
        }
    }

    internal static JsonNode? ParseInputText(string? text, string source)
    {
        if (text is null)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException ex)
        {
            throw new CliException($"{CliConsole.Printable(source)}: invalid JSON: {ex.Message}");
        }
    }

    /// <summary>The largest <c>--input @file</c>: an input is journaled whole with the run.</summary>
    private const long MaxInputBytes = 256L * 1024 * 1024;

    private sealed record RunRequest(string Script, string Store, string[] PluginDirectories, bool Json, bool Quiet, string? Input, string? Timeout, bool Verbose, bool WatchPlugins, bool UseCache)
    {
        public ConnectorFiles Connectors { get; init; } = ConnectorFiles.None;

        public string? McpConfig { get; init; }

        public string? Otlp { get; init; }

        public bool OtelConsole { get; init; }

        public string? Host { get; init; }

        public bool NoHost { get; init; }

        /// <summary>What a host cannot do for this run: its own plugins, configuration, limits, log or exporters.</summary>
        public bool NeedsThisProcess =>
            PluginDirectories.Length > 0 || WatchPlugins || !UseCache || Verbose || Timeout is not null || McpConfig is not null
            || Connectors != ConnectorFiles.None || Otlp is not null || OtelConsole;
    }
}
