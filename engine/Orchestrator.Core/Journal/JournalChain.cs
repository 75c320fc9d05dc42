using System.Security.Cryptography;
using System.Text;

namespace Orchestrator.Core.Journal;

/// <summary>
/// One run's journal entries as a hash chain (format 6): each row's <c>chain</c> is SHA-256 over the previous row's
/// chain and the row's canonical bytes, the first row's previous hash being the run's genesis hash. An edited, removed
/// or reordered row no longer hashes to what follows it.
/// </summary>
/// <remarks>
/// The canonical bytes are the row as stored, in this order: <c>seq</c>, <c>attempt</c> and <c>at</c> (Unix ms), each
/// zigzag-encoded as a LEB128 varint; then <c>event</c>, <c>step_id</c>, <c>parent_id</c>, <c>name</c>, <c>kind</c>,
/// <c>agent</c>, <c>payload</c>, <c>error</c>, each as a varint of its UTF-8 byte count plus one (0 for NULL) and its UTF-8. The payload is
/// the stored text, so a large value it refers to is covered by its SHA-256 in the marker; the verifier checks that the
/// value still hashes to it. The run id is in the genesis hash, so rows cannot move between runs.
/// </remarks>
internal sealed class JournalChain : IDisposable
{
    public const int HashSize = 32;

    private const int MaxVarint = 10;

    private const string GenesisPrefix = "orchestrator journal chain 1\n";

    // One hash object reused for every entry: the one-shot SHA256.HashData sets up a new digest context each call,
    // which costs more than hashing the entry's few hundred bytes.
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private byte[] _bytes = new byte[1024];
    private int _length;

    // Where the field last added lies in _bytes; offset -1 for NULL.
    private (int Offset, int Count) _last;

    /// <summary>The hash a run's first chained row follows.</summary>
    public static byte[] Genesis(string runId) => SHA256.HashData(Encoding.UTF8.GetBytes(GenesisPrefix + runId));

    /// <summary>Starts an entry: the previous hash, then the numeric fields.</summary>
    public void Begin(ReadOnlySpan<byte> previous, long seq, int attempt, long atUnixMs)
    {
        _length = 0;
        Reserve(HashSize + (3 * MaxVarint));
        previous.CopyTo(_bytes);
        _length = HashSize;
        WriteVarint(ZigZag(seq));
        WriteVarint(ZigZag(attempt));
        WriteVarint(ZigZag(atUnixMs));
    }

    /// <summary>Adds the next text field; its UTF-8 is what <see cref="Last"/> gives until the next one is added.</summary>
    public void Add(string? text)
    {
        if (text is null)
        {
            AddNull();
            return;
        }

        var count = Encoding.UTF8.GetByteCount(text);
        Reserve(MaxVarint + count);
        WriteVarint((ulong)count + 1);
        Encoding.UTF8.GetBytes(text, _bytes.AsSpan(_length));
        _last = (_length, count);
        _length += count;
    }

    /// <summary>Adds the next text field from its UTF-8 bytes.</summary>
    public void Add(ReadOnlySpan<byte> utf8)
    {
        Reserve(MaxVarint + utf8.Length);
        WriteVarint((ulong)utf8.Length + 1);
        utf8.CopyTo(_bytes.AsSpan(_length));
        _last = (_length, utf8.Length);
        _length += utf8.Length;
    }

    public void AddNull()
    {
        Reserve(MaxVarint);
        WriteVarint(0);
        _last = (-1, 0);
    }

    /// <summary>Whether the field last added is NULL.</summary>
    public bool LastIsNull => _last.Offset < 0;

    /// <summary>The UTF-8 of the field last added.</summary>
    public ReadOnlySpan<byte> Last => _last.Offset < 0 ? default : _bytes.AsSpan(_last.Offset, _last.Count);

    /// <summary>The entry's chain hash: SHA-256 over the previous hash and the fields added since <see cref="Begin"/>.</summary>
    public void Hash(Span<byte> destination)
    {
        _sha256.AppendData(_bytes.AsSpan(0, _length));
        _sha256.GetHashAndReset(destination);
    }

    public void Dispose() => _sha256.Dispose();

    private static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

    /// <summary>LEB128: seven bits a byte, low first; most fields fit one or two bytes, which keeps an entry to fewer SHA-256 blocks.</summary>
    private void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _bytes[_length++] = (byte)(value | 0x80);
            value >>= 7;
        }

        _bytes[_length++] = (byte)value;
    }

    private void Reserve(int count)
    {
        if (_length + count > _bytes.Length)
        {
            Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, _length + count));
        }
    }
}

/// <summary>The last chain hash of a run a writer appends to, and whether the run has ended (its final hash then follows each append).</summary>
internal sealed class ChainTail(byte[] hash)
{
    public byte[] Hash { get; } = hash;

    public bool Ended { get; set; }
}

/// <summary>
/// Where each run's hash chain stands, for a journal's one writer: known from what it wrote, or read from the run's last
/// row (a run resumed, or begun by another process) with <paramref name="read"/>, which gives that row's chain (null for
/// none) and whether the run has ended.
/// </summary>
internal sealed class ChainTails(Func<string, (byte[]? Last, bool Ended)> read)
{
    // Ended runs' tails are kept only while there are few: any can be read again from its last row.
    private const int Kept = 4096;

    private readonly Dictionary<string, ChainTail> _tails = new(StringComparer.Ordinal);

    public ChainTail Of(string runId)
    {
        if (_tails.TryGetValue(runId, out var tail))
        {
            return tail;
        }

        tail = new ChainTail(JournalChain.Genesis(runId));
        var (last, ended) = read(runId);

        // A run migrated from before format 6 ends in unchained rows: what it appends now chains from its genesis.
        if (last is { Length: JournalChain.HashSize })
        {
            last.CopyTo(tail.Hash, 0);
        }

        tail.Ended = ended;
        if (_tails.Count >= Kept)
        {
            _tails.Clear();
        }

        _tails[runId] = tail;
        return tail;
    }

    /// <summary>
    /// What a write to a run's record does to its chain: a new run starts from its genesis, an ended run's final hash is its
    /// last link (returned), a reopened or pruned run is read again when next met.
    /// </summary>
    public byte[]? Apply(JournalWrite write)
    {
        switch (write)
        {
            case JournalWrite.StartRun(var run):
                _tails[run.Id] = new ChainTail(JournalChain.Genesis(run.Id));
                return null;
            case JournalWrite.EndRun(var id, _, _, _, _):
                var tail = Of(id);
                tail.Ended = true;
                return tail.Hash;
            case JournalWrite.ReopenRun(var id, _, _):
                _tails.Remove(id);
                return null;
            default:
                return null;
        }
    }

    public void Forget(string runId) => _tails.Remove(runId);

    /// <summary>A batch rolled back: none of its links may be taken as written.</summary>
    public void Clear() => _tails.Clear();
}
