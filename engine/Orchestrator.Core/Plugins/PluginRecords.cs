namespace Orchestrator.Core.Plugins;

/// <summary>One agent or recovery strategy that a plugin assembly provided.</summary>
/// <param name="Name">The agent kind or the strategy name, as scripts use it.</param>
/// <param name="Type"><c>agent</c> or <c>recovery</c>.</param>
/// <param name="AssemblyPath">The full path of the plugin assembly it came from.</param>
/// <param name="AssemblyVersion">That assembly's version, for diagnostics.</param>
internal sealed record PluginInfo(string Name, string Type, string AssemblyPath, string AssemblyVersion)
{
    public const string AgentType = "agent";
    public const string RecoveryType = "recovery";
}

/// <summary>Why one plugin file, or one type in it, could not be used; the others still load.</summary>
/// <param name="Path">The full path of the file at fault.</param>
/// <param name="Message">One line naming the file and the cause.</param>
internal sealed record PluginLoadError(string Path, string Message);
