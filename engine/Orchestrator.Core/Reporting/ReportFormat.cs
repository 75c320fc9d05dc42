namespace Orchestrator.Core.Reporting;

/// <summary>The rendered report formats; the JSON package is always written alongside them.</summary>
internal enum ReportFormat
{
    Markdown,
    Html,
}
