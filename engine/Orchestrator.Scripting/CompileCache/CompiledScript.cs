namespace Orchestrator.Scripting.CompileCache;

/// <summary>
/// A compiled .csx as plain data: what the compiler produces and the cache keeps. No Roslyn type appears here,
/// so loading it from the cache never pulls the compiler in.
/// </summary>
/// <param name="Assembly">The script's assembly (PE image).</param>
/// <param name="Pdb">Its portable PDB, for script line numbers in errors.</param>
/// <param name="EntryType">The metadata name of the submission type.</param>
/// <param name="EntryMethod">The metadata name of its factory method.</param>
/// <param name="LoadedFiles">Full paths of the files the script pulled in with <c>#load</c>.</param>
/// <param name="References">Paths of the assemblies it was compiled against (the host's and <c>#r</c>'s).</param>
internal sealed record CompiledScript(
    byte[] Assembly,
    byte[] Pdb,
    string EntryType,
    string EntryMethod,
    IReadOnlyList<string> LoadedFiles,
    IReadOnlyList<string> References);

/// <summary>Where a compiled script came from.</summary>
internal enum CompileCacheOutcome
{
    /// <summary>Compiled without the cache (<c>--no-cache</c>, or no store).</summary>
    Disabled,

    /// <summary>Not in the cache, or its entry was out of date: compiled and stored.</summary>
    Miss,

    /// <summary>Loaded from the cache without compiling.</summary>
    Hit,

    /// <summary>The entry was corrupt (a hash, length or load failure): compiled again and stored anew.</summary>
    Rebuilt,
}
