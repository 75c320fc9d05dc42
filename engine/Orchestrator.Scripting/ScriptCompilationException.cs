namespace Orchestrator.Scripting;

/// <summary>A script does not compile or parse. The message is one line per error, each naming file, line and column.</summary>
public sealed class ScriptCompilationException(string message) : Exception(message);
