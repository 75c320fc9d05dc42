using System.Text;
using Scriban;
using Scriban.Parsing;

namespace Orchestrator.Core.Reporting;

/// <summary>
/// Parses each report template once and hands out the parsed <see cref="Template"/>: files are keyed by
/// full path and re-parsed only when their last write time or length changes; built-in templates are
/// keyed by name. A template that does not parse is cached too, and raises the same error each time.
/// Thread-safe. Parsed templates are only ever rendered with a fresh context.
/// </summary>
internal sealed class TemplateCache
{
    /// <summary>The resource-name prefix of the templates embedded from <c>Reporting/Templates/*.sbn</c>.</summary>
    public const string ResourcePrefix = "Orchestrator.Templates.";

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Template> _builtIn = new(StringComparer.Ordinal);
    private int _parseCount;

    /// <summary>How many times a template has been parsed: a cached template adds nothing.</summary>
    public int ParseCount => Volatile.Read(ref _parseCount);

    /// <summary>The parsed template at <paramref name="path"/>; throws <see cref="TemplateException"/> if it is missing or does not parse.</summary>
    public Template GetFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string fullPath;
        try
        {
            fullPath = Path.GetFullPath(path);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new TemplateException($"{path}: error: not a valid template path: {ex.Message}");
        }

        var info = new FileInfo(fullPath);
        if (!info.Exists)
        {
            throw NotFound(path);
        }

        var stamp = (info.LastWriteTimeUtc.Ticks, info.Length);
        Template template;
        lock (_gate)
        {
            if (_files.TryGetValue(fullPath, out var cached) && cached.Stamp == stamp)
            {
                template = cached.Template;
            }
            else
            {
                string text;
                try
                {
                    text = File.ReadAllText(fullPath);
                }
                catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
                {
                    _files.Remove(fullPath);
                    throw NotFound(path);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw new TemplateException($"{path}: error: cannot read the template: {ex.Message}");
                }

                template = Parse(text, fullPath);
                _files[fullPath] = new Entry(stamp, template);
            }
        }

        ThrowIfErrors(template, path);
        return template;
    }

    /// <summary>The parsed built-in template <paramref name="name"/> (e.g. <c>handoff.md.sbn</c>).</summary>
    public Template GetBuiltIn(string name)
    {
        Template template;
        lock (_gate)
        {
            if (!_builtIn.TryGetValue(name, out template!))
            {
                var assembly = typeof(TemplateCache).Assembly;
                using var stream = assembly.GetManifestResourceStream(ResourcePrefix + name)
                    ?? throw new TemplateException($"{BuiltInPath(name)}: template not found");
                using var reader = new StreamReader(stream, Encoding.UTF8);

                // A checkout with CRLF line endings must not change what the reports look like.
                var text = reader.ReadToEnd().Replace("\r\n", "\n", StringComparison.Ordinal);
                template = Parse(text, BuiltInPath(name));
                _builtIn[name] = template;
            }
        }

        ThrowIfErrors(template, BuiltInPath(name));
        return template;
    }

    /// <summary>How error messages name a built-in template.</summary>
    public static string BuiltInPath(string name) => "built-in:" + name;

    /// <summary>The first error, <c>path(line,col): error: message</c> with 1-based line and column, and how many more there are: one line.</summary>
    private static string FormatErrors(Template template, string path)
    {
        var errors = template.Messages.Where(m => m.Type == ParserMessageType.Error).ToList();
        return errors.Count == 0
            ? ""
            : Format(path, errors[0].Span, errors[0].Message) + (errors.Count > 1 ? $" (and {errors.Count - 1} more)" : "");
    }

    /// <summary>One error line, <c>path(line,col): error: message</c>, from Scriban's 0-based span.</summary>
    public static string Format(string path, SourceSpan span, string message) =>
        $"{path}({span.Start.Line + 1},{span.Start.Column + 1}): error: {message}";

    /// <summary>A template that starts with <c>+++</c> has a front matter (Scriban's): code run before it renders, where it may set its own limits.</summary>
    private Template Parse(string text, string sourcePath)
    {
        Interlocked.Increment(ref _parseCount);
        return text.TrimStart().StartsWith(ReportWriter.FrontMatterMarker, StringComparison.Ordinal)
            ? Template.Parse(text, sourcePath, lexerOptions: new LexerOptions { Mode = ScriptMode.FrontMatterAndContent, FrontMatterMarker = ReportWriter.FrontMatterMarker })
            : Template.Parse(text, sourcePath);
    }

    private static void ThrowIfErrors(Template template, string path)
    {
        if (template.HasErrors)
        {
            var errors = FormatErrors(template, path);
            throw new TemplateException(errors.Length > 0 ? errors : $"{path}: error: the template does not parse");
        }
    }

    private static TemplateException NotFound(string path) => new($"{path}: template not found");

    private sealed record Entry((long Ticks, long Length) Stamp, Template Template);
}
