namespace Orchestrator.Tests.Support;

/// <summary>Finds files of this repository from a test's output folder.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Scripts => Path.Combine(Root, "scripts");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrchestratorEngine.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("OrchestratorEngine.sln not found above " + AppContext.BaseDirectory);
    }
}
