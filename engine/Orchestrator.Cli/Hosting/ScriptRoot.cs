namespace Orchestrator.Cli.Hosting;

/// <summary>
/// The folder a server runs scripts from (<c>serve --scripts</c>, <c>mcp serve --scripts</c>): a script handed to it
/// by a client must lie under it, so that a client cannot run an arbitrary file of the machine.
/// </summary>
internal sealed class ScriptRoot
{
    private readonly string _prefix;

    public ScriptRoot(string directory)
    {
        Directory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        _prefix = Directory + Path.DirectorySeparatorChar;
    }

    public string Directory { get; }

    /// <summary>The full path of <paramref name="script"/> (relative paths are taken from the root), if it lies under the root.</summary>
    public bool TryResolve(string script, out string fullPath)
    {
        fullPath = Path.GetFullPath(script, Directory);
        return Contains(fullPath);
    }

    /// <summary>Whether a full path lies under the root, also once a symbolic link at the file itself is followed.</summary>
    public bool Contains(string fullPath)
    {
        if (!fullPath.StartsWith(_prefix, StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            var target = new FileInfo(fullPath).ResolveLinkTarget(returnFinalTarget: true);
            return target is null || target.FullName.StartsWith(_prefix, StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>The one-line refusal for a script outside the root.</summary>
    public string Refusal(string script) => $"{script}: outside the scripts folder {Directory}; only scripts under it can be run";
}
