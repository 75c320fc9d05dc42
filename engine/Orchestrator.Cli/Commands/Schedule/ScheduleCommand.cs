using System.CommandLine;
using Orchestrator.Cli.Commands.Run;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Schedules;
using Orchestrator.Core.Waits;

namespace Orchestrator.Cli.Commands.Schedule;

/// <summary>
/// <c>orchestrator schedule add|list|remove</c>: cron schedules kept in the store; a running host (<c>orchestrator
/// serve</c>) starts their runs (docs/waits.md#schedules).
/// </summary>
internal static class ScheduleCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("schedule", "Cron schedules kept in the store; a running host starts their runs.");
        command.Subcommands.Add(Add(console));
        command.Subcommands.Add(List(console));
        command.Subcommands.Add(Remove(console));
        return command;
    }

    private static Command Add(CliConsole console)
    {
        var script = new Argument<string>("script") { Description = "The workflow script, .csx or .js (under the host's --scripts folder)." };
        var cron = new Option<string>("--cron") { Description = "When, as a cron expression in UTC: \"0 3 * * *\" (five fields, or six with seconds first).", Required = true };
        var input = new Option<string?>("--input") { Description = "The runs' input as JSON, or @file.json." };
        var name = new Option<string?>("--name") { Description = "The schedule's name (default: the script's file name without its extension)." };
        var store = CommonOptions.Store();
        var command = new Command("add", "Add a schedule.") { script, cron, input, name, store };
        command.SetAction(async (parse, ct) =>
        {
            var path = Path.GetFullPath(parse.GetValue(script)!);
            if (!File.Exists(path) || Path.GetExtension(path) is not (".csx" or ".js"))
            {
                throw new CliException($"script not found or not a .csx or .js file: {CliConsole.Printable(path)}");
            }

            var expression = parse.GetValue(cron)!;
            try
            {
                Scheduler.Parse(expression);
            }
            catch (FormatException ex)
            {
                throw new CliException("--cron: " + ex.Message);
            }

            var named = parse.GetValue(name) ?? Path.GetFileNameWithoutExtension(path);
            if (string.IsNullOrWhiteSpace(named))
            {
                throw new CliException("--name: a name is required");
            }

            var parsedInput = RunCommand.ParseInput(parse.GetValue(input));
            await using var session = StoreSession.Open(parse.GetValue(store)!, verbose: false, console);
            var schedule = new Core.Schedules.Schedule { Name = named, Script = path, Cron = expression, Input = parsedInput, CreatedAt = TimeProvider.System.GetUtcNow() };
            if (!await session.Journal.Schedules.AddAsync(schedule, ct))
            {
                throw new CliException($"--name: a schedule named '{CliConsole.Printable(named)}' exists; remove it first or choose another name");
            }

            console.Line($"schedule '{named}' added: {path} at \"{expression}\" (UTC); next {WaitKinds.Timestamp(Scheduler.Parse(expression).GetNextOccurrence(TimeProvider.System.GetUtcNow(), TimeZoneInfo.Utc))}; a running host starts its runs");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command List(CliConsole console)
    {
        var store = CommonOptions.Store();
        var command = new Command("list", "List the schedules: name, cron, next occurrence, last run, script.") { store };
        command.SetAction(async (parse, ct) =>
        {
            await using var session = StoreSession.OpenExisting(parse.GetValue(store)!, console);
            var schedules = await session.Journal.Schedules.ListAsync(ct);
            if (schedules.Count == 0)
            {
                console.Line("no schedules");
                return ExitCodes.Success;
            }

            TextTable.Write(console, ["NAME", "CRON", "NEXT (UTC)", "LAST RUN", "SCRIPT"], [.. schedules.Select(s => new[]
            {
                s.Name,
                s.Cron,
                WaitKinds.Timestamp(Scheduler.Parse(s.Cron).GetNextOccurrence(TimeProvider.System.GetUtcNow(), TimeZoneInfo.Utc)),
                s.LastRunId ?? "",
                s.Script,
            })]);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Remove(CliConsole console)
    {
        var name = new Argument<string>("name") { Description = "The schedule's name, as 'schedule list' shows it." };
        var store = CommonOptions.Store();
        var command = new Command("remove", "Remove a schedule (its runs stay).") { name, store };
        command.SetAction(async (parse, ct) =>
        {
            var named = parse.GetValue(name)!;
            await using var session = StoreSession.OpenExisting(parse.GetValue(store)!, console);
            if (!await session.Journal.Schedules.RemoveAsync(named, ct))
            {
                throw new CliException($"no schedule named '{CliConsole.Printable(named)}' in {session.Directory}");
            }

            console.Line($"schedule '{named}' removed");
            return ExitCodes.Success;
        });
        return command;
    }
}
