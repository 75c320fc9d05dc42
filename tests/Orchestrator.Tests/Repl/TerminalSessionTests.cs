using System.Diagnostics;
using System.Text;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Repl;

/// <summary>
/// The real <c>orchestrator repl</c> at a terminal: a pseudo-terminal from util-linux's <c>script</c>, keys typed into
/// it, what the terminal shows read back. It shows the input highlighted and the live step view of a running submission.
/// </summary>
public sealed class TerminalSessionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task At_a_terminal_the_input_is_highlighted_and_a_running_step_is_shown_then_cleared()
    {
        var screen = await TypeAsync(noColor: null);

        screen.Should().Contain("\u001b[35mconst\u001b[0m n = \u001b[32m1\u001b[0m", "the line is coloured as it is typed");
        screen.Should().MatchRegex("\r… greet \\(shell\\) \\d+ ms\u001b\\[K", "the running step is shown with its clock");
        screen.Should().Contain("\r\u001b[K{", "the step view is cleared before the value is printed");
        screen.Should().Contain("\"stdout\": \"hi\\n\"");
    }

    [Fact]
    public async Task NO_COLOR_turns_the_highlighting_off_but_not_the_step_view()
    {
        var screen = await TypeAsync(noColor: "1");

        screen.Should().Contain("\r> const n = 1\u001b[K").And.NotContain("\u001b[35m");
        screen.Should().MatchRegex("\r… greet \\(shell\\) \\d+ ms\u001b\\[K");
    }

    /// <summary>Runs a JS session in a pseudo-terminal, types two submissions and #exit, and returns what the terminal showed.</summary>
    private static async Task<string> TypeAsync(string? noColor)
    {
        using var dir = new TempDirectory();
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } muxer && File.Exists(muxer) ? muxer : "dotnet";
        var command = $"'{host}' '{OrchestratorProcess.DllPath}' repl --js --store '{Path.Combine(dir.Path, "store")}'";
        var info = new ProcessStartInfo("script", ["-qfec", command, "/dev/null"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dir.Path,
        };
        info.Environment["TERM"] = "xterm";
        info.Environment.Remove("NO_COLOR");
        if (noColor is not null)
        {
            info.Environment["NO_COLOR"] = noColor;
        }

        using var process = Process.Start(info)!;
        var output = new StringBuilder();
        var reading = Task.Run(async () =>
        {
            var buffer = new char[4096];
            int read;
            while ((read = await process.StandardOutput.ReadAsync(buffer)) > 0)
            {
                lock (output)
                {
                    output.Append(buffer, 0, read);
                }
            }
        });
        try
        {
            await ShowsAsync(output, "#help for help");
            await process.StandardInput.WriteAsync("const n = 1\r");
            await process.StandardInput.FlushAsync();
            await ShowsAsync(output, "\n> ", times: 2);
            await process.StandardInput.WriteAsync("await agent(\"shell\").run({ command: \"echo\", args: [\"hi\"] }, \"greet\")\r");
            await process.StandardInput.FlushAsync();
            await ShowsAsync(output, "\"stdout\": \"hi\\n\"");
            await process.StandardInput.WriteAsync("#exit\r");
            await process.StandardInput.FlushAsync();
            await process.WaitForExitAsync().WaitAsync(Timeout);
            await reading.WaitAsync(Timeout);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        lock (output)
        {
            return output.ToString();
        }
    }

    /// <summary>Waits until the terminal has shown <paramref name="text"/> (a prompt: that many times).</summary>
    private static async Task ShowsAsync(StringBuilder output, string text, int times = 1)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            string shown;
            lock (output)
            {
                shown = output.ToString();
            }

            if (shown.Split(text).Length > times)
            {
                return;
            }

            DateTime.UtcNow.Should().BeBefore(deadline, $"the terminal should show '{text}'; it showed:\n{shown}");

            // Polling what a child process printed: a condition being waited for, not a timing being proved.
            await Task.Delay(50);
        }
    }
}
