using System.Text;
using System.Text.Json;
using Orchestrator.Cli.Commands.Run;
using Orchestrator.Cli.Host;
using Orchestrator.Core.Journal;

namespace Orchestrator.Launcher;

/// <summary>
/// A <c>run</c> or <c>resume</c> in the plain form a host can take for it: one script or run id and only the options
/// below. Anything else is left to the managed CLI, whose parser is the one that says what a command line means.
/// </summary>
internal sealed class HostedCommand
{
    private const string DefaultStore = ".orchestrator";

    private string? _target;
    private string _store = DefaultStore;
    private string? _host;
    private string? _input;
    private bool _json;
    private bool _quiet;
    private bool _force;

    private HostedCommand(bool resume) => Resume = resume;

    public bool Resume { get; }

    public string Path => Resume ? "/api/console/resume" : "/api/console/run";

    public static HostedCommand? Parse(string[] args)
    {
        if (args.Length < 2 || args[0] is not ("run" or "resume"))
        {
            return null;
        }

        var command = new HostedCommand(args[0] == "resume");
        for (var i = 1; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--json":
                    command._json = true;
                    break;
                case "--quiet" or "-q":
                    command._quiet = true;
                    break;
                case "--force" when command.Resume:
                    command._force = true;
                    break;
                case "--store" when value is not null:
                    command._store = value;
                    i++;
                    break;
                case "--host" when value is not null:
                    command._host = value;
                    i++;
                    break;
                case "--input" when value is not null && !command.Resume && !value.StartsWith('@'):
                    command._input = value;
                    i++;
                    break;
                case var other when other.StartsWith('-') || command._target is not null:
                    return null;
                default:
                    command._target = args[i];
                    break;
            }
        }

        return command._target is null ? null : command;
    }

    /// <summary>
    /// The host the managed CLI would submit to: <c>--host</c>, else <c>ORCHESTRATOR_HOST</c>, else the live host in the
    /// store's <c>host.json</c>; null when there is none (or it is a PostgreSQL store, whose local folder the CLI works out).
    /// </summary>
    public HostHttp? FindHost()
    {
        var url = _host ?? Environment.GetEnvironmentVariable("ORCHESTRATOR_HOST");
        var token = Environment.GetEnvironmentVariable("ORCHESTRATOR_TOKEN");
        if (url is null)
        {
            if (_store.Contains("://", StringComparison.Ordinal) || _store.Contains('=', StringComparison.Ordinal)
                || HostFile.Read(System.IO.Path.GetFullPath(_store)) is not { } file
                || !ProcessLiveness.IsAlive(file.Pid))
            {
                return null;
            }

            url = file.Url;
            token ??= file.Token;
        }

        return Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? new HostHttp(uri, token)
            : null;
    }

    /// <summary>The request's JSON; null when the script is not there (the managed CLI says so).</summary>
    public string? Body()
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (Resume)
            {
                json.WriteString("runId", _target);
                json.WriteBoolean("force", _force);
            }
            else
            {
                var script = System.IO.Path.GetFullPath(_target!);
                if (!File.Exists(script))
                {
                    return null;
                }

                json.WriteString("script", script);
                json.WriteString("input", _input);
                json.WriteString("inputSource", "--input");
            }

            json.WriteBoolean("json", _json);
            json.WriteBoolean("quiet", _quiet);
            if (!Console.IsOutputRedirected)
            {
                json.WriteStartObject("terminal");
                json.WriteNumber("width", Width());
                json.WriteString("term", Environment.GetEnvironmentVariable("TERM"));
                json.WriteString("colorTerm", Environment.GetEnvironmentVariable("COLORTERM"));
                json.WriteBoolean("noColor", Environment.GetEnvironmentVariable("NO_COLOR") is not null);
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static int Width()
    {
        // A terminal that does not say its size (0) is drawn 80 wide, as Spectre draws one in-process.
        try
        {
            return Console.WindowWidth is > 0 and var width ? width : 80;
        }
        catch (IOException)
        {
            return 80;
        }
    }
}
