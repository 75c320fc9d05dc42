using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Agents.Shell;

/// <summary>Input to the shell agent was malformed; the message names the field, never an env value.</summary>
internal sealed class ShellInputException(string message) : Exception(message);

/// <summary>A validated shell agent input.</summary>
internal sealed class ShellRequest
{
    private ShellRequest(string target, string displayName)
    {
        Target = target;
        DisplayName = displayName;
    }

    /// <summary>The program to start (a name looked up on PATH, or a path).</summary>
    public string Target { get; }

    /// <summary>How errors name what ran: the command as given, or "shell script" (a script is not echoed).</summary>
    public string DisplayName { get; }

    /// <summary>Arguments passed one by one, each escaped by CliWrap.</summary>
    public IReadOnlyList<string> Arguments { get; private init; } = [];

    /// <summary>A pre-formatted command line, used only for <c>cmd /c</c>, which does its own parsing.</summary>
    public string? RawArguments { get; private init; }

    public string? WorkingDirectory { get; private init; }

    /// <summary>Variables added to the inherited environment; a null value removes the variable.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; private init; } = new Dictionary<string, string?>();

    public string? Stdin { get; private init; }

    public TimeSpan? Timeout { get; private init; }

    /// <summary>The timeout as the input spelled it, for the error message.</summary>
    public string? TimeoutMs { get; private init; }

    public static ShellRequest Parse(JsonNode? input)
    {
        if (input is not JsonObject obj)
        {
            throw new ShellInputException("input must be a JSON object with 'command' or 'script'.");
        }

        var command = OptionalString(obj, "command");
        var script = OptionalString(obj, "script");
        if ((command is null) == (script is null))
        {
            throw new ShellInputException("input needs exactly one of 'command' (a program) or 'script' (a shell script).");
        }

        if (command is not null && string.IsNullOrWhiteSpace(command))
        {
            throw new ShellInputException("'command' must not be empty.");
        }

        var cwd = OptionalString(obj, "cwd");
        if (cwd is not null)
        {
            if (cwd.Length == 0)
            {
                throw new ShellInputException("'cwd' must not be empty.");
            }

            cwd = Path.GetFullPath(cwd);
            if (!Directory.Exists(cwd))
            {
                throw new ShellInputException($"working directory '{cwd}' does not exist.");
            }
        }

        var args = ReadArgs(obj);
        if (script is not null && args.Count > 0)
        {
            throw new ShellInputException("'args' goes with 'command'; a 'script' takes none.");
        }

        var (timeout, timeoutText) = ReadTimeout(obj);
        var env = ReadEnvironment(obj);
        var stdin = OptionalString(obj, "stdin");

        if (command is not null)
        {
            return new ShellRequest(ResolveCommand(command, cwd), command)
            {
                Arguments = args,
                WorkingDirectory = cwd,
                Environment = env,
                Stdin = stdin,
                Timeout = timeout,
                TimeoutMs = timeoutText,
            };
        }

        var onWindows = RuntimeInformation.IsOSPlatform(OSPlatform.Windows);
        return new ShellRequest(onWindows ? System.Environment.GetEnvironmentVariable("ComSpec") ?? "cmd.exe" : "/bin/sh", "shell script")
        {
            // cmd re-parses its own command line, so the script is handed over verbatim after /c.
            Arguments = onWindows ? [] : ["-c", script!],
            RawArguments = onWindows ? "/c " + script : null,
            WorkingDirectory = cwd,
            Environment = env,
            Stdin = stdin,
            Timeout = timeout,
            TimeoutMs = timeoutText,
        };
    }

    /// <summary>A relative path such as <c>./build.sh</c> means relative to <c>cwd</c>, as it would in a shell.</summary>
    private static string ResolveCommand(string command, string? cwd)
    {
        var hasDirectory = command.Contains('/', StringComparison.Ordinal) || command.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal);
        return hasDirectory && cwd is not null && !Path.IsPathRooted(command)
            ? Path.GetFullPath(Path.Combine(cwd, command))
            : command;
    }

    private static string? OptionalString(JsonObject obj, string name)
    {
        if (!obj.TryGetPropertyValue(name, out var node) || node is null)
        {
            return null;
        }

        if (node.GetValueKind() != JsonValueKind.String)
        {
            throw new ShellInputException($"'{name}' must be a string.");
        }

        return node.GetValue<string>();
    }

    private static List<string> ReadArgs(JsonObject obj)
    {
        if (!obj.TryGetPropertyValue("args", out var node) || node is null)
        {
            return [];
        }

        if (node is not JsonArray array)
        {
            throw new ShellInputException("'args' must be an array of strings.");
        }

        var args = new List<string>(array.Count);
        for (var i = 0; i < array.Count; i++)
        {
            if (array[i] is not { } item || item.GetValueKind() != JsonValueKind.String)
            {
                throw new ShellInputException($"'args' must be an array of strings; item {i} is not a string.");
            }

            args.Add(item.GetValue<string>());
        }

        return args;
    }

    // Names only in messages: env values are often secrets.
    private static Dictionary<string, string?> ReadEnvironment(JsonObject obj)
    {
        var env = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (!obj.TryGetPropertyValue("env", out var node) || node is null)
        {
            return env;
        }

        if (node is not JsonObject vars)
        {
            throw new ShellInputException("'env' must be an object of string values.");
        }

        foreach (var (name, value) in vars)
        {
            if (name.Length == 0 || name.Contains('=', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal))
            {
                throw new ShellInputException("'env' has an invalid variable name (empty, or containing '=' or NUL).");
            }

            if (value is null)
            {
                env[name] = null;
                continue;
            }

            if (value.GetValueKind() != JsonValueKind.String)
            {
                throw new ShellInputException($"'env.{name}' must be a string (or null to unset it).");
            }

            env[name] = value.GetValue<string>();
        }

        return env;
    }

    private static (TimeSpan? Timeout, string? Text) ReadTimeout(JsonObject obj)
    {
        if (!obj.TryGetPropertyValue("timeoutMs", out var node) || node is null)
        {
            return (null, null);
        }

        if (node.GetValueKind() != JsonValueKind.Number)
        {
            throw new ShellInputException("'timeoutMs' must be a number of milliseconds.");
        }

        // Round-tripping through the JSON text reads any numeric representation (int, long, double, element).
        var ms = double.Parse(node.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);
        if (!(ms >= 1 && ms <= int.MaxValue))
        {
            throw new ShellInputException($"'timeoutMs' must be between 1 and {int.MaxValue}.");
        }

        return (TimeSpan.FromMilliseconds(ms), ms.ToString("0.###", CultureInfo.InvariantCulture));
    }
}
