using System.CommandLine;
using Orchestrator.Scripting.Editor;

namespace Orchestrator.Cli.Commands.Init;

/// <summary><c>orchestrator init [DIR] [--force]</c>: editor completion and type checking for the workflows in a folder.</summary>
internal static class InitCommand
{
    public static Command Create(CliConsole console)
    {
        var directory = new Argument<string>("dir") { Description = "The folder the workflows are in (made if missing).", DefaultValueFactory = _ => "." };
        var force = new Option<bool>("--force") { Description = "Overwrite files you changed since init wrote them." };
        var command = new Command("init", "Set up editor IntelliSense for the workflows in a folder: orchestrator.d.ts and jsconfig.json for .js, omnisharp.json for .csx.")
        {
            directory, force,
        };
        command.SetAction(parse => Write(console, parse.GetValue(directory)!, parse.GetValue(force)));
        return command;
    }

    private static int Write(CliConsole console, string directory, bool force)
    {
        IReadOnlyList<EditorFile> files;
        try
        {
            files = EditorSetup.Write(directory, force);
        }
        catch (EditorSetupException ex)
        {
            throw new CliException(ex.Message);
        }

        var root = Path.GetFullPath(directory);
        foreach (var file in files)
        {
            var path = Path.Combine(root, file.RelativePath);
            switch (file.Action)
            {
                case EditorFileAction.Kept:
                    console.Error($"kept {path}: it was changed since init wrote it (--force overwrites it)");
                    break;
                default:
                    console.Line(file.Action switch
                    {
                        EditorFileAction.Written => "wrote ",
                        EditorFileAction.Updated => "updated ",
                        EditorFileAction.Overwritten => "overwrote ",
                        _ => "up to date ",
                    } + path);
                    break;
            }
        }

        return ExitCodes.Success;
    }
}
