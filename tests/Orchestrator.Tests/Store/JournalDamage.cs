using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;

namespace Orchestrator.Tests.Store;

/// <summary>Real damage to a journal file, the three ways a disk or a careless copy does it; random bytes from a fixed seed.</summary>
internal static class JournalDamage
{
    public const string Truncated = "truncated";
    public const string MiddlePage = "middle page";
    public const string LastPage = "last page";

    public static void Apply(string journalPath, string how)
    {
        var pageSize = PageSize(journalPath);
        var length = new FileInfo(journalPath).Length;
        var pages = length / pageSize;
        using var file = new FileStream(journalPath, FileMode.Open, FileAccess.ReadWrite);
        switch (how)
        {
            case Truncated:
                // Cut inside a page, as an interrupted copy does: the header still counts the pages that are gone.
                file.SetLength(length - pageSize - (pageSize / 2));
                break;
            case MiddlePage:
                Overwrite(file, pages / 2 * pageSize, pageSize);
                break;
            case LastPage:
                Overwrite(file, (pages - 1) * pageSize, pageSize);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(how), how, "no such damage");
        }
    }

    /// <summary>What SQLite's own full check says of the file: "ok" only when it finds nothing.</summary>
    public static string IntegrityCheck(string journalPath)
    {
        try
        {
            using var connection = new SqliteConnection($"Data Source={journalPath};Mode=ReadOnly;Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA integrity_check";
            return (string)command.ExecuteScalar()!;
        }
        catch (SqliteException ex)
        {
            return ex.Message;
        }
    }

    public static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    /// <summary>The page size from the database header: two bytes, big-endian, at offset 16 (1 means 65536).</summary>
    private static int PageSize(string journalPath)
    {
        Span<byte> header = stackalloc byte[100];
        using (var file = File.OpenRead(journalPath))
        {
            file.ReadExactly(header);
        }

        var size = BinaryPrimitives.ReadUInt16BigEndian(header[16..]);
        return size == 1 ? 65536 : size;
    }

    private static void Overwrite(FileStream file, long offset, int count)
    {
        var bytes = new byte[count];
        new Random(15).NextBytes(bytes);
        file.Position = offset;
        file.Write(bytes);
    }
}
