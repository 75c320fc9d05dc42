using System.Text.Json.Nodes;
using Spectre.Console;

namespace Orchestrator.Cli.Progress;

/// <summary>
/// The terminal a client's output goes to, for a live view drawn in another process (a host renders it for the
/// client): its width, and what the client's environment says of colour, since the host's says nothing of it.
/// </summary>
internal sealed record ClientTerminal(int Width, string? Term, string? ColorTerm, bool NoColor)
{
    public static ClientTerminal OfThisProcess()
    {
        // A terminal that does not say its size (0) is drawn 80 wide, as Spectre draws one in-process.
        int width;
        try
        {
            width = System.Console.WindowWidth is > 0 and var columns ? columns : 80;
        }
        catch (IOException)
        {
            width = 80;
        }

        return new ClientTerminal(width, Environment.GetEnvironmentVariable("TERM"), Environment.GetEnvironmentVariable("COLORTERM"), Environment.GetEnvironmentVariable("NO_COLOR") is not null);
    }

    public JsonObject ToJson() => new() { ["width"] = Width, ["term"] = Term, ["colorTerm"] = ColorTerm, ["noColor"] = NoColor };

    /// <summary>A console that draws for this terminal into <paramref name="output"/>.</summary>
    public IAnsiConsole Console(TextWriter output)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = Term == "dumb" ? AnsiSupport.No : AnsiSupport.Yes,
            ColorSystem = NoColor || Term == "dumb" ? ColorSystemSupport.NoColors
                : ColorTerm is "truecolor" or "24bit" ? ColorSystemSupport.TrueColor
                : Term?.Contains("256color", StringComparison.Ordinal) == true ? ColorSystemSupport.EightBit
                : ColorSystemSupport.Standard,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = Math.Clamp(Width, 20, 1000);
        return console;
    }
}
