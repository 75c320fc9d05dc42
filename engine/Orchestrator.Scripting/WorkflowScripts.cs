using System.Runtime.CompilerServices;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.CompileCache;
using Orchestrator.Scripting.CSharp;
using Orchestrator.Scripting.JavaScript;
using Serilog;

namespace Orchestrator.Scripting;

/// <summary>Picks the front end for a workflow script by its extension and compiles it.</summary>
internal static class WorkflowScripts
{
    public static IReadOnlyList<string> Extensions { get; } = [".csx", ".js"];

    /// <summary>The largest script the engine reads: far beyond any hand-written workflow, far below what stalls a compiler.</summary>
    public const long MaxScriptBytes = 8 * 1024 * 1024;

    /// <summary>
    /// Compiles <paramref name="path"/>, which <see cref="Check"/> has passed, a .csx through <paramref name="cache"/> when
    /// given; throws <see cref="ScriptCompilationException"/> naming file, line and column on errors.
    /// </summary>
    public static IWorkflowProgram Compile(string path, JavaScriptOptions javaScript, ILogger log, ScriptCompileCache? cache = null, CancellationToken cancellationToken = default) =>
        string.Equals(Path.GetExtension(path), ".csx", StringComparison.OrdinalIgnoreCase)
            ? CSharpWorkflow.Load(path, cache, log, cancellationToken)
            : CompileJavaScript(path, javaScript, log);

    /// <summary>
    /// Refuses in one line, before anything is compiled or stored, a file that is not a script: an unknown extension, a
    /// FIFO or device, one over <see cref="MaxScriptBytes"/>, one that is not text (a NUL byte, or not UTF-8), or one that
    /// holds no code (only comments and blank space), which a compiler would turn into hundreds of errors or into an
    /// assembly with nothing to run. Returns the script's bytes, for a caller that keys on them.
    /// </summary>
    public static byte[] Check(string path)
    {
        var extension = Path.GetExtension(path).ToLowerInvariant();
        if (!Extensions.Contains(extension))
        {
            throw new ScriptCompilationException($"{path}: unknown script type '{extension}'; use .csx or .js");
        }

        byte[] bytes;
        try
        {
            bytes = Core.Files.RegularFile.ReadAll(path, MaxScriptBytes);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ScriptCompilationException($"{path}: cannot read the script: {ex.Message}");
        }

        if (Array.IndexOf(bytes, (byte)0) >= 0)
        {
            throw new ScriptCompilationException($"{path}: not a script: the file is binary (it has NUL bytes)");
        }

        string text;
        try
        {
            text = new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (System.Text.DecoderFallbackException)
        {
            throw new ScriptCompilationException($"{path}: not a script: the file is not UTF-8 text");
        }

        if (!HasCode(text))
        {
            throw new ScriptCompilationException($"{path}: the script is empty: it has no code, only comments or blank space");
        }

        return bytes;
    }

    /// <summary>Anything but blank space, <c>//</c> and <c>/* */</c> comments, and a leading BOM is code.</summary>
    private static bool HasCode(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsWhiteSpace(text[i]) || text[i] == '\uFEFF')
            {
                continue;
            }

            if (text[i] == '/' && i + 1 < text.Length && text[i + 1] == '/')
            {
                var end = text.IndexOf('\n', i);
                i = end < 0 ? text.Length : end;
                continue;
            }

            if (text[i] == '/' && i + 1 < text.Length && text[i + 1] == '*')
            {
                var end = text.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? text.Length : end + 1;
                continue;
            }

            return true;
        }

        return false;
    }

    /// <summary>
    /// Warms up what the first steps of a script at <paramref name="path"/> will need (for a .csx, the serializer its
    /// step inputs go through), for a host with a core to spare while it opens the store and compiles. Nothing a run
    /// depends on: a host that never calls it loses only time.
    /// </summary>
    public static void Prepare(string path)
    {
        if (Path.GetExtension(path).Equals(".csx", StringComparison.OrdinalIgnoreCase))
        {
            WorkflowGlobals.Prepare();
        }
    }

    // Out of line: the JavaScript front end's types hold Jint structs, and a .csx run should not load Jint.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static IWorkflowProgram CompileJavaScript(string path, JavaScriptOptions javaScript, ILogger log) =>
        JavaScriptWorkflow.Compile(path, javaScript, log);
}
