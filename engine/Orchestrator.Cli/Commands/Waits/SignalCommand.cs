using System.CommandLine;
using Orchestrator.Cli.Commands.Run;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Waits;

namespace Orchestrator.Cli.Commands.Waits;

/// <summary>
/// <c>orchestrator signal &lt;runId&gt; &lt;name&gt; [--data JSON]</c>: sends an event to a run. It is stored, so an event
/// sent before the run waits for it is not lost: the run's first wait for that name takes it.
/// </summary>
internal static class SignalCommand
{
    public static Command Create(CliConsole console)
    {
        var id = new Argument<string>("runId") { Description = "The run to send the event to." };
        var name = new Argument<string>("name") { Description = "The event's name, as the script's WaitForEvent names it." };
        var data = new Option<string?>("--data") { Description = "The event's data as JSON, or @file.json: what the wait step returns." };
        var store = CommonOptions.Store();
        var command = new Command("signal", "Send an event to a run (taken by its first WaitForEvent of that name).") { id, name, data, store };
        command.SetAction(async (parse, ct) =>
        {
            var runId = parse.GetValue(id)!;
            var eventName = parse.GetValue(name)!;
            if (string.IsNullOrWhiteSpace(eventName))
            {
                throw new CliException("signal: the event name must not be empty");
            }

            var payload = RunCommand.ParseInput(parse.GetValue(data), "--data");
            await using (var session = StoreSession.OpenExisting(parse.GetValue(store)!, console))
            {
                try
                {
                    await WaitDecisions.SignalAsync(session.Journal, runId, eventName, payload, TimeProvider.System.GetUtcNow(), ct);
                }
                catch (WaitRefusedException ex)
                {
                    throw new CliException(ex.Message);
                }
            }

            console.Line($"event '{CliConsole.Printable(eventName)}' sent to run {runId}");
            HostNotice.Wake(console, parse.GetValue(store)!, runId);
            return ExitCodes.Success;
        });
        return command;
    }
}
