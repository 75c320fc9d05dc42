using System.Text;

namespace Orchestrator.Agents.Shell;

/// <summary>
/// Collects a process stream as text, up to a cap. Past the cap it keeps reading and discards, because a
/// child that cannot write would block forever.
/// </summary>
internal sealed class OutputCapture(int maxChars)
{
    private readonly StringBuilder _text = new();

    // Read from another thread when a timeout or cancellation ends the run while the pipe is still draining.
    private readonly Lock _gate = new();
    private bool _truncated;

    public string Text
    {
        get
        {
            lock (_gate)
            {
                return _text.ToString();
            }
        }
    }

    public bool Truncated
    {
        get
        {
            lock (_gate)
            {
                return _truncated;
            }
        }
    }

    public async Task DrainAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, bufferSize: 8192, leaveOpen: true);
        var buffer = new char[8192];
        int read;
        while ((read = await reader.ReadAsync(buffer.AsMemory(), cancellationToken)) > 0)
        {
            Append(buffer.AsSpan(0, read));
        }
    }

    private void Append(ReadOnlySpan<char> chunk)
    {
        lock (_gate)
        {
            var room = maxChars - _text.Length;
            if (chunk.Length > room)
            {
                _truncated = true;
                chunk = chunk[..Math.Max(room, 0)];
            }

            _text.Append(chunk);
        }
    }
}
