using System.Globalization;
using System.Text.Json;

namespace Orchestrator.Core.Journal;

/// <summary>
/// A row of the store that this engine cannot read: an entry or a run record changed or damaged outside the engine
/// (SQLite reads the file; the row's content makes no sense). Bad input for a command, never a crash.
/// </summary>
public sealed class JournalRowException : Exception
{
    private JournalRowException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public static JournalRowException Entry(string runId, long seq, Exception problem) => new(
        string.Create(CultureInfo.InvariantCulture, $"run {runId}: its journal entry seq {seq} cannot be read ({problem.Message}); 'orchestrator runs verify {runId}' checks the run"),
        problem);

    public static JournalRowException Run(string runId, Exception problem) => new(
        $"run {runId}: its record cannot be read ({problem.Message}); 'orchestrator runs verify {runId}' checks the run's journal",
        problem);

    /// <summary>What reading a changed row throws: a value out of range or of the wrong form, JSON that does not parse, a value that is missing.</summary>
    internal static bool IsRowProblem(Exception ex) =>
        ex is ArgumentException or FormatException or JsonException or InvalidDataException or InvalidCastException or OverflowException or KeyNotFoundException;
}
