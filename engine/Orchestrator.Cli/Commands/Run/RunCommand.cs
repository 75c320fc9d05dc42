using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Plugins;
using Orchestrator.Core.Reporting;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting;
using Orchestrator.Scripting.JavaScript;

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
        var json = new Option<bool>("--json") { Description = "Print one JSON object with the outcome as the last line of output." };
        var input = new Option<string?>("--input") { Description = "The run's input as JSON, or @file.json." };

        var command = new Command("run", "Run a workflow script.") { script, store, plugins, json, input, verbose };
        command.SetAction((parse, ct) => RunAsync(
            console,
            new RunRequest(parse.GetValue(script)!, parse.GetValue(store)!, parse.GetValue(plugins) ?? [], parse.GetValue(json), parse.GetValue(input), parse.GetValue(verbose)),
            ct));
        return command;
    }

    private static async Task<int> RunAsync(CliConsole console, RunRequest request, CancellationToken cancellationToken)
    {
        var scriptPath = Path.GetFullPath(request.Script);
        if (!File.Exists(scriptPath))
        {
            throw new CliException($"script not found: {scriptPath}");
        }

        var input = ParseInput(request.Input);
        await using var session = StoreSession.Open(request.Store, request.Verbose);
        using var pluginHost = PluginHost.Load([PluginHost.DefaultDirectory, .. request.PluginDirectories], session.Log);
        foreach (var error in pluginHost.Errors)
        {
            console.Error($"plugin not loaded: {error.Path}: {error.Message}");
        }

        IWorkflowProgram program;
        try
        {
            program = WorkflowScripts.Compile(scriptPath, new JavaScriptOptions(), session.Log, cancellationToken);
        }
        catch (ScriptCompilationException ex)
        {
            throw new CliException(ex.Message);
        }

        try
        {
            var engine = new WorkflowEngine(session.Journal, pluginHost, new ReportWriter(session.Directory), TimeProvider.System, session.Log);
            var outcome = await engine.RunAsync(program, input, cancellationToken);
            Print(console, outcome, request.Json);
            return outcome switch
            {
                { BadInput: true } => ExitCodes.BadInput,
                { Run.Status: RunStatus.Succeeded } => ExitCodes.Success,
                _ => ExitCodes.Failed,
            };
        }
        finally
        {
            (program as IDisposable)?.Dispose();
        }
    }

    private static void Print(CliConsole console, RunOutcome outcome, bool json)
    {
        var run = outcome.Run;
        if (run.Status != RunStatus.Succeeded)
        {
            console.Error($"run {run.Id} {run.Status.ToString().ToLowerInvariant()}: {run.Error}");
        }

        if (json)
        {
            var line = new JsonObject
            {
                ["runId"] = run.Id,
                ["status"] = run.Status.ToString().ToLowerInvariant(),
                ["steps"] = outcome.Steps,
                ["durationMs"] = Math.Round(run.DurationMs ?? 0, 3),
                ["report"] = outcome.ReportPath,
                ["result"] = run.Result?.DeepClone(),
                ["error"] = run.Error,
            };
            console.Line(line.ToJsonString());
            return;
        }

        console.Line($"run {run.Id} {run.Status.ToString().ToLowerInvariant()}: {outcome.Steps} steps in {run.DurationMs ?? 0:0} ms");
        if (run.Result is not null)
        {
            console.Line("result: " + run.Result.ToJsonString(Indented));
        }

        if (outcome.ReportPath is not null)
        {
            console.Line("report: " + outcome.ReportPath);
        }
    }

    private static JsonNode? ParseInput(string? text)
    {
        if (text is null)
        {
            return null;
        }

        var source = "--input";
        if (text.StartsWith('@'))
        {
            source = Path.GetFullPath(text[1..]);
            text = File.Exists(source) ? File.ReadAllText(source) : throw new CliException($"--input: file not found: {source}");
        }

        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException ex)
        {
            throw new CliException($"{source}: invalid JSON: {ex.Message}");
        }
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private sealed record RunRequest(string Script, string Store, string[] PluginDirectories, bool Json, string? Input, bool Verbose);
}
