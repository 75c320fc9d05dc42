using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Secrets;
using Scriban;
using Scriban.Runtime;
using Scriban.Syntax;

namespace Orchestrator.Core.Reporting;

/// <summary>
/// Renders handoff packages with Scriban into <c>&lt;store&gt;/reports/&lt;runId&gt;.json|.md|.html</c>.
/// Templates are parsed once (<see cref="TemplateCache"/>) and rendered with a fresh
/// <see cref="TemplateContext"/> each time; the template model is described in <c>Reporting/README.md</c>.
/// </summary>
internal sealed class ReportWriter : IReportWriter
{
    /// <summary>Loop iterations a render may make in all (Scriban's default of 1000 is too few for big runs).</summary>
    public const int LoopLimit = 100_000;

    /// <summary>How deep template functions may recurse.</summary>
    public const int RecursiveLimit = 64;

    /// <summary>The most characters a report (or any one value written into it) may have; past it the render fails rather than truncating.</summary>
    public const int OutputLimit = 32 * 1024 * 1024;

    /// <summary>What opens and closes a template's front matter, where a custom template may set <c>loop_limit</c>, <c>recursive_limit</c> and <c>output_limit</c>.</summary>
    public const string FrontMatterMarker = "+++";

    /// <summary>The most a template's front matter may raise a limit to.</summary>
    public const int MaxLimit = 256 * 1024 * 1024;

    /// <summary>The built-in Markdown template.</summary>
    public const string MarkdownTemplateName = "handoff.md.sbn";

    /// <summary>The built-in HTML template.</summary>
    public const string HtmlTemplateName = "handoff.html.sbn";

    private readonly TimeProvider _time;
    private readonly TemplateCache _templates = new();
    private readonly SecretRegistry _secrets;

    /// <param name="storeDirectory">The store; reports go to its <c>reports</c> folder, created on first write.</param>
    /// <param name="time">The clock for the model's <c>generated_at</c>; the system clock if null.</param>
    /// <param name="secrets">Secret values to redact from every report before it is written or returned.</param>
    public ReportWriter(string storeDirectory, TimeProvider? time = null, SecretRegistry? secrets = null)
    {
        _secrets = secrets ?? new SecretRegistry();
        ArgumentException.ThrowIfNullOrWhiteSpace(storeDirectory);
        ReportsDirectory = Path.Combine(Path.GetFullPath(storeDirectory), "reports");
        _time = time ?? TimeProvider.System;
    }

    /// <summary><c>&lt;store&gt;/reports</c>.</summary>
    public string ReportsDirectory { get; }

    /// <summary>How many times this writer has parsed a template; rendering a cached template adds nothing.</summary>
    internal int ParseCount => _templates.ParseCount;

    /// <summary>The format a template file renders, from its name: <c>*.html.sbn</c>, <c>*.htm.sbn</c>, <c>*.html</c>, <c>*.htm</c> are HTML; anything else Markdown.</summary>
    public static ReportFormat FormatOf(string templatePath)
    {
        ArgumentNullException.ThrowIfNull(templatePath);
        var name = Path.GetFileName(templatePath);
        string[] html = [".html.sbn", ".htm.sbn", ".html", ".htm"];
        return html.Any(e => name.EndsWith(e, StringComparison.OrdinalIgnoreCase)) ? ReportFormat.Html : ReportFormat.Markdown;
    }

    /// <summary>The file extension of a format's report, without the dot.</summary>
    public static string ExtensionOf(ReportFormat format) => format == ReportFormat.Html ? "html" : "md";

    /// <summary>Where a run's report of a format goes (<c>json</c>, <c>md</c> or <c>html</c>).</summary>
    public string ReportPath(string runId, string extension)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(runId);
        if (runId is "." or ".." || runId.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || runId.Contains('/') || runId.Contains('\\'))
        {
            throw new ArgumentException($"'{runId}' cannot name a report file", nameof(runId));
        }

        return Path.Combine(ReportsDirectory, runId + "." + extension);
    }

    /// <inheritdoc />
    public void Validate(string templatePath) => _templates.GetFile(templatePath);

    /// <summary>
    /// Does the one-off work of a process's first report ahead of time: parses the built-in templates and writes a small
    /// sample package as JSON, Markdown and HTML, discarding the text. The CLI calls it on a spare thread while the script
    /// runs, so that the run's own report at its end does not also pay for the first use of the serializer and of Scriban
    /// (about 45 ms of every run). Never throws: the real report reports its own errors.
    /// </summary>
    public void Prepare()
    {
        try
        {
            var now = _time.GetUtcNow();
            var run = new RunRecord { Id = "prepare", Script = "prepare.csx", ScriptHash = "", Language = "csharp", EngineVersion = "", StartedAt = now, EndedAt = now, Status = RunStatus.Succeeded };
            var step = new StepRecord { RunId = run.Id, Id = "step", Name = "step", Kind = "agent", Agent = "agent", Status = RunStatus.Succeeded, Attempt = 1, StartedAt = now, EndedAt = now, Output = new JsonObject { ["ok"] = true } };
            var sample = new HandoffPackage(run, [step], new JsonObject { ["ok"] = true }, null, "prepare");
            HandoffPackageJson.Serialize(sample);
            Render(sample, ReportFormat.Markdown, null, CancellationToken.None);
            Render(sample, ReportFormat.Html, null, CancellationToken.None);
        }
        catch (Exception)
        {
            // Only a head start; whatever failed here fails again, and is reported, when the run's report is written.
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Both reports are rendered before anything is written, so a template error leaves no files behind;
    /// each file is written to a temporary file and moved into place, so a crash never leaves half a report.
    /// The package's own template, if any, replaces the built-in one for the format its name implies.
    /// </remarks>
    public async Task<string> WriteAsync(HandoffPackage package, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(package);
        var jsonPath = ReportPath(package.Run.Id, "json");
        var markdownPath = ReportPath(package.Run.Id, "md");
        var htmlPath = ReportPath(package.Run.Id, "html");

        var markdown = Render(package, ReportFormat.Markdown, null, cancellationToken);
        var html = Render(package, ReportFormat.Html, null, cancellationToken);

        Directory.CreateDirectory(ReportsDirectory);
        if (_secrets.IsEmpty)
        {
            // Nothing to redact: the package goes to its file as it is serialized.
            await WriteAtomicallyAsync(jsonPath, async stream =>
            {
                await HandoffPackageJson.SerializeAsync(stream, package, cancellationToken).ConfigureAwait(false);
                stream.WriteByte((byte)'\n');
            }, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await WriteAtomicallyAsync(jsonPath, _secrets.RedactJson(HandoffPackageJson.Serialize(package)) + "\n", cancellationToken).ConfigureAwait(false);
        }

        await WriteAtomicallyAsync(markdownPath, markdown, cancellationToken).ConfigureAwait(false);
        await WriteAtomicallyAsync(htmlPath, html, cancellationToken).ConfigureAwait(false);
        return markdownPath;
    }

    /// <summary>
    /// Renders one report, for <c>orchestrator report &lt;id&gt; [--format md|html] [--template FILE]</c>.
    /// With <paramref name="templatePath"/>, that file is rendered whatever <paramref name="format"/> says;
    /// otherwise the package's own template if its name implies <paramref name="format"/>, else the built-in one.
    /// </summary>
    /// <exception cref="TemplateException">The template is missing, does not parse, or fails while rendering.</exception>
    public string Render(HandoffPackage package, ReportFormat format, string? templatePath) =>
        Render(package, format, templatePath, CancellationToken.None);

    private string Render(HandoffPackage package, ReportFormat format, string? templatePath, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(package);
        var path = templatePath
            ?? (package.TemplatePath is { } own && FormatOf(own) == format ? own : null);
        if (path is not null)
        {
            return Render(_templates.GetFile(path), path, package, cancellationToken);
        }

        var name = format == ReportFormat.Html ? HtmlTemplateName : MarkdownTemplateName;
        return Render(_templates.GetBuiltIn(name), TemplateCache.BuiltInPath(name), package, cancellationToken);
    }

    private string Render(Template template, string displayPath, HandoffPackage package, CancellationToken cancellationToken)
    {
        var context = new TemplateContext
        {
            LoopLimit = LoopLimit,
            RecursiveLimit = RecursiveLimit,
            LimitToString = OutputLimit,
            OnStringLimit = ScriptLimitBehavior.Throw,
            OutputLimit = OutputLimit,
            OnOutputLimit = ScriptLimitBehavior.Throw,
            NewLine = "\n",
            StrictVariables = false,
            MemberRenamer = StandardMemberRenamer.Default,
            CancellationToken = cancellationToken,
        };
        context.PushCulture(CultureInfo.InvariantCulture);
        var model = ReportModel.Build(package, _time.GetUtcNow());
        context.PushGlobal(model);
        try
        {
            if (template.Page?.FrontMatter is { } frontMatter)
            {
                // Run under the default limits; what it sets for the render applies from here on.
                context.Evaluate(frontMatter);
                context.LoopLimit = Limit(model, "loop_limit", context.LoopLimit);
                context.RecursiveLimit = Limit(model, "recursive_limit", context.RecursiveLimit);
                context.OutputLimit = context.LimitToString = Limit(model, "output_limit", context.OutputLimit ?? OutputLimit);
            }

            return _secrets.Redact(template.Render(context));
        }
        catch (ScriptRuntimeException ex)
        {
            throw new TemplateException(TemplateCache.Format(displayPath, ex.Span, ex.OriginalMessage));
        }
    }

    /// <summary>A limit the front matter set (a whole number from 1 to <see cref="MaxLimit"/>), or the default.</summary>
    private static int Limit(ScriptObject model, string name, int fallback) => model.TryGetValue(name, out var value) switch
    {
        false => fallback,
        true when value is int or long && Convert.ToInt64(value, CultureInfo.InvariantCulture) is >= 1 and <= MaxLimit => Convert.ToInt32(value, CultureInfo.InvariantCulture),
        _ => throw new ScriptRuntimeException(default, $"{name} must be a whole number from 1 to {MaxLimit}, not '{value}'"),
    };

    private static Task WriteAtomicallyAsync(string path, string content, CancellationToken cancellationToken) =>
        WriteAtomicallyAsync(path, stream => stream.WriteAsync(new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(content), cancellationToken).AsTask(), cancellationToken);

    private static async Task WriteAtomicallyAsync(string path, Func<Stream, Task> write, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var directory = Path.GetDirectoryName(path)!;
        var temp = Path.Combine(directory, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        try
        {
            var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 65536, FileOptions.Asynchronous);
            await using (stream.ConfigureAwait(false))
            {
                await write(stream).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The temporary file is hidden and harmless; the error that got us here matters more.
        }
    }
}
