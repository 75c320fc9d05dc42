using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.CompileCache;
using Serilog;

namespace Orchestrator.Scripting.CSharp;

/// <summary>
/// A .csx workflow compiled with Roslyn into its own collectible load context, so that a host running
/// many scripts does not keep every compiled assembly alive (CSharpScript.RunAsync would). With a compile
/// cache, an unchanged script is loaded from the cache without loading Roslyn at all: nothing on that path
/// names a Roslyn type (the compiler lives behind <see cref="CSharpCompiler"/>).
/// </summary>
internal sealed class CSharpWorkflow : IWorkflowProgram, IDisposable
{
    private readonly ScriptLoadContext _context;
    private readonly MethodInfo _factory;
    private readonly ILogger _log;

    private CSharpWorkflow(string path, string hash, ScriptLoadContext context, MethodInfo factory, CompileCacheOutcome cache, ILogger log)
    {
        ScriptPath = path;
        ScriptHash = hash;
        _context = context;
        _factory = factory;
        CacheOutcome = cache;
        _log = log;
    }

    public string ScriptPath { get; }

    public string Language => "csharp";

    public string ScriptHash { get; }

    /// <summary>Whether this script came from the compile cache, was compiled into it, or was compiled without it.</summary>
    public CompileCacheOutcome CacheOutcome { get; }

    /// <summary>Compiles the script at <paramref name="scriptPath"/> without a cache; see <see cref="Load"/>.</summary>
    public static CSharpWorkflow Compile(string scriptPath, ILogger log, CancellationToken cancellationToken = default) =>
        Load(scriptPath, cache: null, log, cancellationToken);

    /// <summary>
    /// Loads the script at <paramref name="scriptPath"/> from <paramref name="cache"/> if it holds a current,
    /// intact compilation, else compiles it (and stores it there); throws <see cref="ScriptCompilationException"/>
    /// listing every error as <c>file(line,col): error CSxxxx: …</c>.
    /// </summary>
    public static CSharpWorkflow Load(string scriptPath, ScriptCompileCache? cache, ILogger log, CancellationToken cancellationToken = default)
    {
        var path = Path.GetFullPath(scriptPath);
        var bytes = File.ReadAllBytes(path);
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var corrupt = false;
        if (cache?.Find(path, bytes, out corrupt) is { } cached)
        {
            try
            {
                var hit = FromCompiled(path, hash, cached, CompileCacheOutcome.Hit, log);
                log.Debug("Compile cache hit for {Script}", path);
                return hit;
            }
            catch (Exception ex) when (ex is BadImageFormatException or FileLoadException or TypeLoadException or MissingMethodException)
            {
                // Intact bytes that still do not load (say, built against a runtime since removed) are no better than corrupt ones.
                log.Warning("Compile cache entry for {Script} does not load ({Error}); compiling again", path, ex.Message);
                cache.Evict(path);
                corrupt = true;
            }
        }

        var compiled = CompileWithRoslyn(path, bytes, cache?.PackagesFolder, cancellationToken);
        cache?.Store(path, bytes, compiled);
        var outcome = cache is null ? CompileCacheOutcome.Disabled : corrupt ? CompileCacheOutcome.Rebuilt : CompileCacheOutcome.Miss;
        return FromCompiled(path, hash, compiled, outcome, log);
    }

    public async Task<JsonNode?> ExecuteAsync(WorkflowScope root, CancellationToken cancellationToken)
    {
        var globals = new WorkflowGlobals(root, Path.GetDirectoryName(ScriptPath)!, _log, cancellationToken);

        // Roslyn's submission factory takes the submission array: slot 0 holds the globals.
        Task<object> run;
        try
        {
            run = (Task<object>)_factory.Invoke(null, [new object?[] { globals, null }])!;
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            throw ex.InnerException;
        }

        return globals.ToJson(await run.ConfigureAwait(false));
    }

    public string DescribeFailure(Exception error) => ScriptFailure.Describe(error, ScriptPath);

    public void Dispose() => _context.Unload();

    /// <summary>For tests that prove the script's assembly is collected after <see cref="Dispose"/>.</summary>
    internal WeakReference LoadContextReference() => new(_context);

    // Kept out of line so that jitting Load does not resolve the compiler: a cache hit never loads Roslyn.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static CompiledScript CompileWithRoslyn(string path, byte[] bytes, string? packagesFolder, CancellationToken cancellationToken) =>
        CSharpCompiler.Compile(path, Encoding.UTF8.GetString(bytes), packagesFolder, cancellationToken);

    private static CSharpWorkflow FromCompiled(string path, string hash, CompiledScript compiled, CompileCacheOutcome outcome, ILogger log)
    {
        var context = new ScriptLoadContext(Path.GetFileName(path), compiled.References);
        try
        {
            using var pe = new MemoryStream(compiled.Assembly, writable: false);
            using var pdb = new MemoryStream(compiled.Pdb, writable: false);
            var assembly = context.LoadFromStream(pe, pdb);
            var type = assembly.GetType(compiled.EntryType, throwOnError: true)!;
            var factory = type.GetMethod(compiled.EntryMethod, BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
                ?? throw new MissingMethodException($"{path}: the compiled script has no factory method");
            return new CSharpWorkflow(path, hash, context, factory, outcome, log);
        }
        catch
        {
            context.Unload();
            throw;
        }
    }
}

/// <summary>Finds the script line an exception passed through, for error messages that point at the script.</summary>
internal static class ScriptFailure
{
    public static string Describe(Exception error, string scriptPath)
    {
        var message = error is TargetInvocationException { InnerException: { } inner } ? inner.Message : error.Message;
        var line = FindScriptLine(error, scriptPath);
        return line is null ? $"{scriptPath}: {message}" : $"{scriptPath}({line}): {message}";
    }

    private static int? FindScriptLine(Exception error, string scriptPath)
    {
        for (var ex = error; ex is not null; ex = ex.InnerException)
        {
            foreach (var frame in new StackTrace(ex, fNeedFileInfo: true).GetFrames())
            {
                if (frame.GetFileLineNumber() > 0 && string.Equals(frame.GetFileName(), scriptPath, StringComparison.Ordinal))
                {
                    return frame.GetFileLineNumber();
                }
            }
        }

        return null;
    }
}
