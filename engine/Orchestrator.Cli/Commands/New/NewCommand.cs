using System.CommandLine;

namespace Orchestrator.Cli.Commands.New;

/// <summary><c>orchestrator new workflow &lt;name&gt; [--js]</c>: write a starter script whose comments explain the DSL.</summary>
internal static class NewCommand
{
    public static Command Create(CliConsole console)
    {
        var name = new Argument<string>("name") { Description = "The script to write: a name or a path; .csx or .js is added." };
        var javaScript = new Option<bool>("--js") { Description = "Write a JavaScript workflow instead of a C# one." };
        var workflow = new Command("workflow", "Write a starter workflow script that runs as it is.") { name, javaScript };
        workflow.SetAction(parse => Write(console, parse.GetValue(name)!, parse.GetValue(javaScript)));
        return new Command("new", "Create something new from a starter.") { workflow };
    }

    private static int Write(CliConsole console, string name, bool javaScript)
    {
        var extension = javaScript ? ".js" : ".csx";
        var path = Path.GetFullPath(name.EndsWith(extension, StringComparison.OrdinalIgnoreCase) ? name : name + extension);
        var stem = Path.GetFileNameWithoutExtension(path);
        if (stem.Length == 0 || stem.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
        {
            throw new CliException($"'{name}' is not a usable file name");
        }

        if (File.Exists(path))
        {
            throw new CliException($"{path} already exists; choose another name or remove it");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, Starter(extension).Replace("{{name}}", stem, StringComparison.Ordinal));
        console.Line($"wrote {path}");
        console.Line($"run it with: orchestrator run {Path.GetRelativePath(Directory.GetCurrentDirectory(), path)}");
        return ExitCodes.Success;
    }

    private static string Starter(string extension)
    {
        using var stream = typeof(NewCommand).Assembly.GetManifestResourceStream("starter" + extension)
            ?? throw new InvalidOperationException("the starter" + extension + " resource is missing from the build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
