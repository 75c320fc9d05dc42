using System.Collections.Immutable;
using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Emit;
using Microsoft.CodeAnalysis.Scripting;
using Orchestrator.Core.Workflow;
using Serilog;

namespace Orchestrator.Scripting.CSharp;

/// <summary>
/// A .csx workflow compiled with Roslyn into its own collectible load context, so that a host running
/// many scripts does not keep every compiled assembly alive (CSharpScript.RunAsync would).
/// </summary>
internal sealed class CSharpWorkflow : IWorkflowProgram, IDisposable
{
    private static readonly string[] Imports =
    [
        "System", "System.IO", "System.Linq", "System.Collections.Generic", "System.Threading", "System.Threading.Tasks",
        "System.Text.Json", "System.Text.Json.Nodes", "Orchestrator.Abstractions", "Orchestrator.Core.Workflow", "Orchestrator.Scripting.CSharp",
    ];

    private readonly ScriptLoadContext _context;
    private readonly MethodInfo _factory;
    private readonly ILogger _log;

    private CSharpWorkflow(string path, string hash, ScriptLoadContext context, MethodInfo factory, ILogger log)
    {
        ScriptPath = path;
        ScriptHash = hash;
        _context = context;
        _factory = factory;
        _log = log;
    }

    public string ScriptPath { get; }

    public string Language => "csharp";

    public string ScriptHash { get; }

    /// <summary>The references, imports and resolvers every C# script gets, the REPL's included; paths resolve from <paramref name="directory"/>.</summary>
    internal static ScriptOptions DefaultOptions(string directory) =>
        ScriptOptions.Default
            .WithFileEncoding(Encoding.UTF8)
            .WithEmitDebugInformation(true)
            .WithOptimizationLevel(OptimizationLevel.Debug)
            .WithReferences(
                typeof(object).Assembly,
                typeof(Enumerable).Assembly,
                typeof(JsonNode).Assembly,
                typeof(System.Text.Json.JsonSerializer).Assembly,
                typeof(WorkflowScope).Assembly,
                typeof(Orchestrator.Abstractions.Severity).Assembly,
                typeof(WorkflowGlobals).Assembly,
                typeof(System.Collections.Generic.List<>).Assembly,
                Assembly.Load("System.Runtime"),
                Assembly.Load("System.Collections"))
            .WithImports(Imports)
            .WithSourceResolver(new SourceFileResolver(ImmutableArray<string>.Empty, directory))
            .WithMetadataResolver(ScriptMetadataResolver.Default.WithBaseDirectory(directory));

    /// <summary>Compiles the script at <paramref name="scriptPath"/>; throws <see cref="ScriptCompilationException"/> listing every error as <c>file(line,col): error CSxxxx: …</c>.</summary>
    public static CSharpWorkflow Compile(string scriptPath, ILogger log, CancellationToken cancellationToken = default)
    {
        var path = Path.GetFullPath(scriptPath);
        var bytes = File.ReadAllBytes(path);
        var source = Encoding.UTF8.GetString(bytes);
        var directory = Path.GetDirectoryName(path)!;

        var options = DefaultOptions(directory).WithFilePath(path);

        var compilation = CSharpScript.Create<object>(source, options, typeof(WorkflowGlobals)).GetCompilation();
        ThrowOnErrors(compilation.GetDiagnostics(cancellationToken));

        using var pe = new MemoryStream();
        using var pdb = new MemoryStream();
        var emitted = compilation.Emit(pe, pdb, options: new EmitOptions(debugInformationFormat: DebugInformationFormat.PortablePdb), cancellationToken: cancellationToken);
        ThrowOnErrors(emitted.Diagnostics);
        pe.Position = 0;
        pdb.Position = 0;

        var references = compilation.References
            .OfType<PortableExecutableReference>()
            .Where(r => r.FilePath is not null)
            .Select(r => r.FilePath!);
        var context = new ScriptLoadContext(Path.GetFileName(path), references);
        var assembly = context.LoadFromStream(pe, pdb);
        var entry = compilation.GetEntryPoint(cancellationToken)
            ?? throw new InvalidOperationException($"{path}: the compiled script has no entry point");
        var type = assembly.GetType(entry.ContainingType.MetadataName, throwOnError: true)!;
        var factory = type.GetMethod(entry.MetadataName, BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
            ?? throw new InvalidOperationException($"{path}: the compiled script has no factory method");

        return new CSharpWorkflow(path, Convert.ToHexStringLower(SHA256.HashData(bytes)), context, factory, log);
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

    private static void ThrowOnErrors(ImmutableArray<Diagnostic> diagnostics)
    {
        var errors = diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (errors.Count > 0)
        {
            throw new ScriptCompilationException(string.Join(Environment.NewLine, errors.Select(e => e.ToString())));
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
