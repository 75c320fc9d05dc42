using System.Runtime.InteropServices;
using System.Text;
using SQLitePCL;

namespace Orchestrator.Core.Journal;

/// <summary>
/// The columns of the current row of a prepared statement, read straight from SQLite. Reading a run of a million steps
/// touches two million rows and twenty million columns; through SQLitePCL's safe handles each column access cost about
/// 90 ns of marshalling, more than SQLite's own work, and this way about 20. Valid only between a step that returned a
/// row and the next step, on the thread that stepped.
/// </summary>
internal readonly unsafe ref partial struct SqliteRow(sqlite3_stmt statement)
{
    private readonly IntPtr _handle = statement.DangerousGetHandle();

    public bool IsNull(int column) => Native.sqlite3_column_type(_handle, column) == raw.SQLITE_NULL;

    public long Int64(int column) => Native.sqlite3_column_int64(_handle, column);

    public int Int32(int column) => Native.sqlite3_column_int(_handle, column);

    /// <summary>The column's UTF-8 bytes (empty for NULL).</summary>
    public ReadOnlySpan<byte> Utf8(int column)
    {
        var text = Native.sqlite3_column_text(_handle, column);
        return text == IntPtr.Zero ? default : new ReadOnlySpan<byte>((void*)text, Native.sqlite3_column_bytes(_handle, column));
    }

    public string? Text(int column) => IsNull(column) ? null : Encoding.UTF8.GetString(Utf8(column));

    private static partial class Native
    {
        // The library SQLitePCL's bundle loads: the same copy of SQLite, already initialised by it.
        private const string Library = "e_sqlite3";

        [LibraryImport(Library), SuppressGCTransition]
        internal static partial int sqlite3_column_type(IntPtr statement, int column);

        [LibraryImport(Library), SuppressGCTransition]
        internal static partial long sqlite3_column_int64(IntPtr statement, int column);

        [LibraryImport(Library), SuppressGCTransition]
        internal static partial int sqlite3_column_int(IntPtr statement, int column);

        [LibraryImport(Library), SuppressGCTransition]
        internal static partial IntPtr sqlite3_column_text(IntPtr statement, int column);

        [LibraryImport(Library), SuppressGCTransition]
        internal static partial int sqlite3_column_bytes(IntPtr statement, int column);
    }
}
