using System.CommandLine;
using System.Text.Json.Nodes;
using Orchestrator.Cli.Commands.Run;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Runs;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting;

namespace Orchestrator.Cli.Commands.Runs;

/// <summary>
/// <c>runs fork &lt;id&gt; --at &lt;step&gt;</c>: a new run that replays the source run up to that step and runs live from it
/// (with another input or a fixed script if given); <c>runs diff &lt;a&gt; &lt;b&gt;</c>: the steps whose status or output differ.
/// </summary>
internal static class RunsForkCommand
{
    public static Command CreateFork(CliConsole console)
    {
        var id = new Argument<string>("id") { Description = "The run to fork." };
        var at = new Option<string>("--at") { Description = "The step to run live from; the steps before it are replayed from the source run.", Required = true };
        var input = new Option<string?>("--input") { Description = "The new run's input as JSON, or @file.json; by default the source run's." };
        var script = new Option<string?>("--script") { Description = "The script to run from the fork point, a fixed one say; by default the source run's." };
        var store = CommonOptions.Store();
        var json = CommonOptions.Json();
        var quiet = CommonOptions.Quiet();
        var command = new Command("fork", "Start a new run that replays a run's journal up to a step and runs live from there.") { id, at, input, script, store, json, quiet };
        command.SetAction((parse, ct) => ForkAsync(
            console, parse.GetValue(id)!, parse.GetValue(at)!, parse.GetValue(input), parse.GetValue(script), parse.GetValue(store)!, parse.GetValue(json), parse.GetValue(quiet), ct));
        return command;
    }

    public static Command CreateDiff(CliConsole console)
    {
        var a = new Argument<string>("a") { Description = "A run's id." };
        var b = new Argument<string>("b") { Description = "Another run's id (a fork of the first, say)." };
        var store = CommonOptions.Store();
        var json = CommonOptions.Json();
        var command = new Command("diff", "List the steps whose status or output differ between two runs.") { a, b, store, json };
        command.SetAction((parse, ct) => DiffAsync(console, parse.GetValue(a)!, parse.GetValue(b)!, parse.GetValue(store)!, parse.GetValue(json), ct));
        return command;
    }

    private static async Task<int> ForkAsync(CliConsole console, string id, string at, string? inputText, string? scriptOption, string store, bool json, bool quiet, CancellationToken ct)
    {
        var input = RunCommand.ParseInput(inputText);
        string forkId;
        await using (var session = StoreSession.OpenExisting(store, console))
        {
            var source = await session.Journal.GetRunAsync(id, ct) ?? throw new CliException($"no run with id '{id}' in {session.Journal.Location}");
            var scriptPath = Path.GetFullPath(scriptOption ?? source.Script);
            byte[] bytes;
            try
            {
                bytes = WorkflowScripts.Check(scriptPath);
            }
            catch (ScriptCompilationException ex)
            {
                throw new CliException(ex.Message);
            }

            var language = Path.GetExtension(scriptPath).Equals(".js", StringComparison.OrdinalIgnoreCase) ? "javascript" : "csharp";
            try
            {
                forkId = (await RunFork.CreateAsync(session.Journal, id, at, scriptPath, bytes, language, input, TimeProvider.System, ct)).Id;
            }
            catch (ResumeRefusedException ex)
            {
                throw new CliException(ex.Message);
            }
        }

        if (!json && !quiet)
        {
            console.Error($"forked run {id} at '{at}' as run {forkId}");
        }

        return await ResumeCommand.ResumeHereAsync(console, forkId, store, json, quiet, ct);
    }

    private static async Task<int> DiffAsync(CliConsole console, string a, string b, string store, bool json, CancellationToken ct)
    {
        await using var session = StoreSession.OpenExisting(store, console);
        IReadOnlyList<(string Step, StepRecord? A, StepRecord? B)> differences;
        try
        {
            differences = await RunFork.DiffAsync(session.Journal, a, b, ct);
        }
        catch (ResumeRefusedException ex)
        {
            throw new CliException(ex.Message);
        }

        if (json)
        {
            console.Line(new JsonArray([.. differences.Select(d => (JsonNode)new JsonObject
            {
                ["step"] = d.Step,
                ["a"] = Side(d.A),
                ["b"] = Side(d.B),
            })]).ToJsonString());
            return ExitCodes.Success;
        }

        if (differences.Count == 0)
        {
            console.Line($"runs {a} and {b} do not differ");
            return ExitCodes.Success;
        }

        TextTable.Write(console, ["STEP", a, b], [.. differences.Select(d => (IReadOnlyList<string>)[d.Step, Describe(d.A), Describe(d.B)])]);
        return ExitCodes.Success;
    }

    private static JsonObject? Side(StepRecord? step) => step is null ? null : new JsonObject
    {
        ["status"] = step.Status.ToString().ToLowerInvariant(),
        ["output"] = step.Output?.DeepClone(),
        ["error"] = step.Error,
    };

    private static string Describe(StepRecord? step)
    {
        if (step is null)
        {
            return "(absent)";
        }

        var output = step.Error ?? step.Output?.ToJsonString() ?? "";
        return $"{step.Status.ToString().ToLowerInvariant()} {(output.Length > 60 ? output[..57] + "..." : output)}".TrimEnd();
    }
}
