using System.Collections.Concurrent;
using System.Security.Cryptography;
using Orchestrator.Core.Runs;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting;
using Orchestrator.Scripting.CompileCache;
using Orchestrator.Scripting.JavaScript;
using Serilog;

namespace Orchestrator.Cli.Host;

/// <summary>
/// The host's compiled scripts, kept warm by path and the SHA-256 of the script file: a script is compiled (or loaded
/// from the store's compile cache) once, and again only when its file changes. Runs share a program; a replaced
/// program's collectible context is unloaded once the runs still using it let go of it.
/// </summary>
/// <remarks>Only the root file's hash is checked here; a change to a <c>#load</c>ed file alone is seen once the root changes or the host restarts.</remarks>
internal sealed class CompiledPrograms(ScriptCompileCache? cache, ILogger log) : IProgramSource, IDisposable
{
    private readonly ConcurrentDictionary<string, Entry> _programs = new(StringComparer.Ordinal);

    public IWorkflowProgram Get(string scriptPath, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(scriptPath);
        var entry = _programs.GetOrAdd(path, _ => new Entry());

        // One compilation per script at a time: fifty submissions of a new script compile it once.
        lock (entry)
        {
            // Checked first: a FIFO or a huge file submitted as a script must not block or flood the host.
            var hash = Convert.ToHexStringLower(SHA256.HashData(WorkflowScripts.Check(path)));
            if (entry.Program is { } warm && string.Equals(warm.ScriptHash, hash, StringComparison.Ordinal))
            {
                return warm;
            }

            var compiled = WorkflowScripts.Compile(path, new JavaScriptOptions(), log, cache, cancellationToken);
            (entry.Program as IDisposable)?.Dispose();
            entry.Program = compiled;
            return compiled;
        }
    }

    public void Dispose()
    {
        foreach (var entry in _programs.Values)
        {
            lock (entry)
            {
                (entry.Program as IDisposable)?.Dispose();
                entry.Program = null;
            }
        }
    }

    private sealed class Entry
    {
        public IWorkflowProgram? Program { get; set; }
    }
}
