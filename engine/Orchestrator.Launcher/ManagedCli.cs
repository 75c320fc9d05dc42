using System.Runtime.InteropServices;

namespace Orchestrator.Launcher;

/// <summary>Becoming the managed CLI: <c>dotnet orchestrator.dll ARGS</c> from beside this program, in this process where the system allows.</summary>
internal static partial class ManagedCli
{
    public static int Become(string[] args)
    {
        var cli = System.IO.Path.Combine(AppContext.BaseDirectory, "orchestrator.dll");
        if (!File.Exists(cli))
        {
            Console.Error.WriteLine($"orchestrator: the managed CLI is not beside the launcher: {cli}");
            return 1;
        }

        if (Muxer() is not { } dotnet)
        {
            Console.Error.WriteLine("orchestrator: cannot find the dotnet host (dotnet on PATH, or DOTNET_ROOT)");
            return 1;
        }

        string[] argv = [dotnet, cli, .. args];
        if (!OperatingSystem.IsWindows())
        {
            Console.Out.Flush();
            Exec(dotnet, argv);
        }

        // Windows, or exec failed: a child with this console, and its exit code.
        var start = new System.Diagnostics.ProcessStartInfo(dotnet) { UseShellExecute = false };
        foreach (var arg in argv.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        using var child = System.Diagnostics.Process.Start(start)!;
        child.WaitForExit();
        return child.ExitCode;
    }

    private static string? Muxer()
    {
        var name = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        string?[] candidates =
        [
            Environment.GetEnvironmentVariable("DOTNET_HOST_PATH"),
            Environment.GetEnvironmentVariable("DOTNET_ROOT") is { } root ? System.IO.Path.Combine(root, name) : null,
            .. (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Select(dir => System.IO.Path.Combine(dir, name)),
            "/usr/share/dotnet/dotnet",
            "/usr/lib/dotnet/dotnet",
            "/usr/local/share/dotnet/dotnet",
        ];
        return candidates.FirstOrDefault(File.Exists);
    }

    /// <summary>Replaces this process with <paramref name="path"/>; returns only if that fails.</summary>
    private static void Exec(string path, string[] argv)
    {
        var pointers = new IntPtr[argv.Length + 1];
        try
        {
            for (var i = 0; i < argv.Length; i++)
            {
                pointers[i] = Marshal.StringToCoTaskMemUTF8(argv[i]);
            }

            _ = Execv(path, pointers);
        }
        finally
        {
            foreach (var pointer in pointers)
            {
                Marshal.FreeCoTaskMem(pointer);
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "execv", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Execv(string path, IntPtr[] argv);
}
