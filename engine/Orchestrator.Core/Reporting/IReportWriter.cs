namespace Orchestrator.Core.Reporting;

/// <summary>Renders a handoff package to files in the store.</summary>
internal interface IReportWriter
{
    /// <summary>Throws <see cref="TemplateException"/> if the template at <paramref name="templatePath"/> does not parse.</summary>
    void Validate(string templatePath);

    /// <summary>Writes the package's reports (JSON, Markdown, HTML) and returns the Markdown report's path.</summary>
    Task<string> WriteAsync(HandoffPackage package, CancellationToken cancellationToken);
}

/// <summary>A report template is missing or does not parse; the message names the file, line and column.</summary>
public sealed class TemplateException(string message) : Exception(message);
