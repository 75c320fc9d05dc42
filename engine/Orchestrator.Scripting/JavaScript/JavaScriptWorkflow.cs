using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Acornima;
using Jint;
using Orchestrator.Core.Workflow;
using Serilog;

namespace Orchestrator.Scripting.JavaScript;

/// <summary>
/// A .js workflow: parsed once with Jint, then run any number of times, each run on a new engine with its
/// own thread and event loop (see <see cref="JavaScriptRun"/>). The script is the body of an async function,
/// so it may <c>await</c> at the top level; its result is its <c>export default</c> (see <see cref="ModuleSyntax"/>),
/// or what a top-level <c>return</c> ends it with.
/// </summary>
internal sealed partial class JavaScriptWorkflow : IWorkflowProgram
{
    /// <summary>Goes on the script's first line, so that line numbers in the wrapped source match the file's.</summary>
    internal const string Prefix = "(async function () {";

    private const string Suffix = "\n})()";

    private readonly Prepared<Acornima.Ast.Script> _prepared;

    // Where in the script a host exception (a failed step, a bad template) surfaced uncaught; the
    // exception itself is rethrown unchanged so that the engine still recognises its type.
    private readonly ConditionalWeakTable<Exception, ScriptLocation> _locations = new();

    private JavaScriptWorkflow(string path, string hash, Prepared<Acornima.Ast.Script> prepared, int lineCount, JavaScriptOptions options, ILogger log)
    {
        ScriptPath = path;
        ScriptHash = hash;
        _prepared = prepared;
        LineCount = lineCount;
        Options = options;
        Log = log;
    }

    public string ScriptPath { get; }

    public string Language => "javascript";

    public string ScriptHash { get; }

    internal JavaScriptOptions Options { get; }

    internal ILogger Log { get; }

    internal int LineCount { get; set; }

    internal ref readonly Prepared<Acornima.Ast.Script> Prepared => ref _prepared;

    /// <summary>
    /// Reads and parses the script at <paramref name="scriptPath"/>. Throws <see cref="FileNotFoundException"/>
    /// if it does not exist and <see cref="ScriptCompilationException"/> (<c>file(line,col): error: …</c>) if it does not parse.
    /// </summary>
    public static JavaScriptWorkflow Compile(string scriptPath, JavaScriptOptions options, ILogger log)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(scriptPath);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        options.Validate();

        var path = Path.GetFullPath(scriptPath);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"script not found: {path}", path);
        }

        var bytes = File.ReadAllBytes(path);
        var source = Decode(bytes);
        var prepared = Prepare(path, source);
        try
        {
            if (prepared.Program is { } program)
            {
                ModuleSyntax.RefuseImportCalls(source, program);
            }
        }
        catch (ModuleSyntaxException rule)
        {
            throw new ScriptCompilationException(Describe(path, rule));
        }

        var lineCount = source.Split('\n').Length;
        return new JavaScriptWorkflow(path, Convert.ToHexStringLower(SHA256.HashData(bytes)), prepared, lineCount, options, log);
    }

    public Task<JsonNode?> ExecuteAsync(WorkflowScope root, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(root);
        return new JavaScriptRun(this, root, cancellationToken).RunAsync();
    }

    public string DescribeFailure(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (error is JavaScriptRunException script)
        {
            return script.Message;
        }

        var message = error is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0].Message : error.Message;
        return _locations.TryGetValue(error, out var at) ? $"{ScriptPath}({at.Line}): {message}" : $"{ScriptPath}: {message}";
    }

    /// <summary>Remembers where in the script <paramref name="error"/> surfaced, for <see cref="DescribeFailure"/>.</summary>
    internal void RememberLocation(Exception error, ScriptLocation location) => _locations.AddOrUpdate(error, location);

    /// <summary><c>file(line): message</c>, or <c>file: message</c> when the line is not known.</summary>
    internal string Format(ScriptLocation? location, string message) =>
        location is { } at ? $"{ScriptPath}({at.Line}): {message}" : $"{ScriptPath}: {message}";

    /// <summary>Maps a position in the wrapped source (1-based line, 0-based column) to the script file's (both 1-based).</summary>
    internal ScriptLocation MapPosition(int line, int zeroBasedColumn)
    {
        var column = line == 1 ? zeroBasedColumn - Prefix.Length : zeroBasedColumn;

        // The wrapper's closing line is past the script's end; blame the script's last line instead.
        return line > LineCount ? new ScriptLocation(LineCount, 1) : new ScriptLocation(line, Math.Max(column, 0) + 1);
    }

    /// <summary>
    /// Prepares the wrapped script; one with an <c>export default</c>, which does not parse inside the wrapper's function,
    /// is rewritten first (see <see cref="ModuleSyntax"/>).
    /// </summary>
    private static Prepared<Acornima.Ast.Script> Prepare(string path, string source)
    {
        var wrapped = Prefix + source + Suffix;
        try
        {
            return PrepareWrapped(path, source, wrapped);
        }
        catch (ScriptCompilationException)
        {
            string? rewritten;
            try
            {
                rewritten = ModuleSyntax.Rewrite(wrapped, new ParserOptions(), WrapperBody);
            }
            catch (ParseErrorException parse)
            {
                // The first error with import and export allowed, which is the one to fix in a script that has both.
                throw new ScriptCompilationException(DescribeParseError(path, source, parse));
            }
            catch (ModuleSyntaxException rule)
            {
                throw new ScriptCompilationException(Describe(path, rule));
            }

            if (rewritten is null)
            {
                throw;
            }

            return PrepareWrapped(path, source, rewritten[..^Suffix.Length] + ModuleSyntax.Tail + Suffix);
        }
    }

    private static Prepared<Acornima.Ast.Script> PrepareWrapped(string path, string source, string wrapped)
    {
        try
        {
            return Engine.PrepareScript(wrapped, path);
        }
        catch (ScriptPreparationException ex) when (ex.InnerException is ParseErrorException parse)
        {
            throw new ScriptCompilationException(DescribeParseError(path, source, parse));
        }
        catch (ParseErrorException parse)
        {
            throw new ScriptCompilationException(DescribeParseError(path, source, parse));
        }
        catch (ScriptPreparationException ex)
        {
            throw new ScriptCompilationException($"{path}(1,1): error: {ex.InnerException?.Message ?? ex.Message}");
        }
    }

    /// <summary>The statements of the wrapper's function: the workflow's top level.</summary>
    private static IReadOnlyList<Acornima.Ast.Statement> WrapperBody(Acornima.Ast.Script wrapped) =>
        wrapped.Body is [Acornima.Ast.ExpressionStatement { Expression: Acornima.Ast.CallExpression { Callee: Acornima.Ast.FunctionExpression function } }, ..]
            ? function.Body.Body
            : [];

    private static string Describe(string path, ModuleSyntaxException rule)
    {
        var at = MapParsePosition(rule.Position.Line, rule.Position.Column);
        return $"{path}({at.Line},{at.Column}): error: {rule.Description}";
    }

    /// <summary>A parser's position in the wrapped source (1-based line, 0-based column) as the script file's (both 1-based).</summary>
    private static ScriptLocation MapParsePosition(int line, int zeroBasedColumn) =>
        new(line, Math.Max(zeroBasedColumn - (line == 1 ? Prefix.Length : 0), 0) + 1);

    private static string DescribeParseError(string path, string source, ParseErrorException parse)
    {
        var lines = source.Split('\n');
        if (parse.LineNumber > lines.Length)
        {
            // The parser tripped over the wrapper's closing "})()": the script ended with something left open
            // (or closed one brace too many). Point at the end of the script's last line that has code.
            var last = Array.FindLastIndex(lines, l => !string.IsNullOrWhiteSpace(l));
            var endLine = last < 0 ? 1 : last + 1;
            var endColumn = last < 0 ? 1 : lines[last].TrimEnd().Length + 1;
            return $"{path}({endLine},{endColumn}): error: {parse.Description} at the end of the script: " +
                "check that every bracket, brace and string is closed, and closed only once";
        }

        var at = MapParsePosition(parse.LineNumber, parse.Column);
        return $"{path}({at.Line},{at.Column}): error: {parse.Description}";
    }

    private static string Decode(byte[] bytes)
    {
        using var reader = new StreamReader(new MemoryStream(bytes), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var source = reader.ReadToEnd();

        // A shebang line is fine in a file run directly, but not inside the wrapper; keep the line, lose the #!.
        return source.StartsWith("#!", StringComparison.Ordinal) ? "//" + source[2..] : source;
    }
}

/// <summary>A 1-based line and column in the script file.</summary>
internal sealed record ScriptLocation(int Line, int Column);

/// <summary>
/// The script failed by itself: an uncaught JavaScript error, or a limit it ran into. The message is the
/// complete description, <c>file(line): message</c> (or <c>file: message</c> when no line is known).
/// </summary>
internal sealed class JavaScriptRunException(string message, ScriptLocation? location = null, Exception? inner = null) : Exception(message, inner)
{
    public ScriptLocation? Location { get; } = location;
}
