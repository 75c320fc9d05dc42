using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Orchestrator.Core.Files;

/// <summary>
/// Reads a file that someone handed the engine (a script, an input, a template) only if it is a regular file of a
/// bounded size. A FIFO would block the process on open until a writer comes, and a device such as /dev/zero never
/// ends, so the file is opened without blocking and refused unless it can seek.
/// </summary>
internal static partial class RegularFile
{
    /// <summary>The file's bytes; an <see cref="IOException"/> with a one-line reason otherwise.</summary>
    public static byte[] ReadAll(string path, long maxBytes)
    {
        if (Directory.Exists(path))
        {
            throw new IOException("a folder, not a file");
        }

        using var handle = OpenForReading(path);
        using var stream = new FileStream(handle, FileAccess.Read, bufferSize: 0);
        if (!stream.CanSeek)
        {
            throw new IOException("not a regular file (a FIFO, a socket or a device)");
        }

        // Read to the limit and one byte past it, not to the length a device may claim.
        var buffer = new byte[(int)Math.Min(maxBytes + 1, Math.Max(stream.Length, 4096) + 1)];
        var total = 0;
        while (true)
        {
            if (total == buffer.Length)
            {
                if (total > maxBytes)
                {
                    throw new IOException($"larger than the limit of {maxBytes / (1024 * 1024)} MiB");
                }

                Array.Resize(ref buffer, (int)Math.Min(maxBytes + 1, buffer.Length * 2L));
            }

            var read = stream.Read(buffer, total, buffer.Length - total);
            if (read == 0)
            {
                return total == buffer.Length ? buffer : buffer[..total];
            }

            total += read;
        }
    }

    private static SafeFileHandle OpenForReading(string path)
    {
        var nonBlocking = OperatingSystem.IsLinux() ? 0x800 : OperatingSystem.IsMacOS() ? 0x4 : 0;
        if (nonBlocking == 0)
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }

        var cloexec = OperatingSystem.IsLinux() ? 0x80000 : 0x1000000;
        var fd = Open(path, nonBlocking | cloexec);
        return fd >= 0
            ? new SafeFileHandle(fd, ownsHandle: true)
            : throw new IOException(Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError()));
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);
}
