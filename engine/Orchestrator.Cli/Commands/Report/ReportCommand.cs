using System.CommandLine;
using Orchestrator.Cli.Hosting;
using Orchestrator.Core.Reporting;

namespace Orchestrator.Cli.Commands.Report;

/// <summary><c>orchestrator report &lt;id&gt;</c>: render a run's handoff report again from the journal.</summary>
internal static class ReportCommand
{
    public static Command Create(CliConsole console)
    {
        var id = new Argument<string>("id") { Description = "The run's id." };
        var store = CommonOptions.Store();
        var format = new Option<string>("--format") { Description = "md or html.", DefaultValueFactory = _ => "md" };
        format.AcceptOnlyFromAmong("md", "html");
        var template = new Option<string?>("--template") { Description = "A Scriban template to render instead of the default." };
        var output = new Option<string?>("--out") { Description = "Write the report to this file instead of standard output." };

        var command = new Command("report", "Render a run's handoff report.") { id, store, format, template, output };
        command.SetAction((parse, ct) => RenderAsync(
            console,
            parse.GetValue(store)!,
            parse.GetValue(id)!,
            parse.GetValue(format) == "html" ? ReportFormat.Html : ReportFormat.Markdown,
            parse.GetValue(template),
            parse.GetValue(output),
            ct));
        return command;
    }

    private static async Task<int> RenderAsync(CliConsole console, string storeDirectory, string id, ReportFormat format, string? template, string? output, CancellationToken ct)
    {
        await using var session = StoreSession.OpenExisting(storeDirectory, console);
        if (await session.Journal.GetRunAsync(id, ct) is null)
        {
            throw new CliException($"no run with id '{id}' in {session.Directory}");
        }

        var package = await HandoffPackage.LoadAsync(session.Journal, id, ct);
        string text;
        try
        {
            text = new ReportWriter(session.Directory, secrets: session.Secrets).Render(package, format, template is null ? null : Path.GetFullPath(template));
        }
        catch (TemplateException ex)
        {
            throw new CliException(ex.Message);
        }

        if (output is null)
        {
            console.Out.Write(text);
        }
        else
        {
            var path = Path.GetFullPath(output);
            if (Directory.Exists(path))
            {
                throw new CliException($"--out {output}: a folder, not a file: name the report file");
            }

            if (!Directory.Exists(Path.GetDirectoryName(path)))
            {
                throw new CliException($"--out {output}: the folder {Path.GetDirectoryName(path)} does not exist");
            }

            try
            {
                await File.WriteAllTextAsync(path, text, ct);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"--out {output}: cannot write the report: {ex.Message}");
            }

            console.Line(path);
        }

        return ExitCodes.Success;
    }
}
