using Xunit.Sdk;

namespace Orchestrator.Tests.Reporting;

/// <summary>
/// Golden files live in the source tree (<c>tests/Orchestrator.Tests/Reporting/Golden</c>), found by walking up
/// from the test binaries to the folder holding <c>OrchestratorEngine.sln</c>, so that <c>UPDATE_GOLDEN=1</c>
/// rewrites the files under version control rather than copies in bin/.
/// </summary>
internal static class GoldenFiles
{
    public const string UpdateVariable = "UPDATE_GOLDEN";

    public static string RepositoryRoot => Orchestrator.Tests.Support.RepoPaths.Root;

    public static string Directory => Path.Combine(RepositoryRoot, "tests", "Orchestrator.Tests", "Reporting", "Golden");

    public static bool Updating => Environment.GetEnvironmentVariable(UpdateVariable) is "1" or "true" or "TRUE" or "True";

    /// <summary>
    /// Compares <paramref name="actual"/> with the golden file (line endings normalized), or rewrites the
    /// file when <c>UPDATE_GOLDEN=1</c>.
    /// </summary>
    public static void Verify(string expectedPath, string actual)
    {
        actual = Normalize(actual);
        if (Updating)
        {
            if (!File.Exists(expectedPath) || Normalize(File.ReadAllText(expectedPath)) != actual)
            {
                File.WriteAllText(expectedPath, actual);
            }

            return;
        }

        if (!File.Exists(expectedPath))
        {
            throw new XunitException(
                $"The golden file {expectedPath} is missing. Run the tests with {UpdateVariable}=1 to create it from the current output, then review it before committing.");
        }

        var expected = Normalize(File.ReadAllText(expectedPath));
        if (expected != actual)
        {
            throw new XunitException(
                $"The output differs from the golden file {expectedPath}.{Environment.NewLine}" +
                $"{FirstDifference(expected, actual)}{Environment.NewLine}" +
                $"If the change is intended, run the tests with {UpdateVariable}=1 and review the diff of the golden files.{Environment.NewLine}" +
                $"--- actual output ---{Environment.NewLine}{actual}");
        }
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal);

    private static string FirstDifference(string expected, string actual)
    {
        var expectedLines = expected.Split('\n');
        var actualLines = actual.Split('\n');
        for (var i = 0; i < Math.Max(expectedLines.Length, actualLines.Length); i++)
        {
            var e = i < expectedLines.Length ? expectedLines[i] : "<end of file>";
            var a = i < actualLines.Length ? actualLines[i] : "<end of file>";
            if (e != a)
            {
                return $"First difference, line {i + 1}:{Environment.NewLine}  expected: {e}{Environment.NewLine}  actual:   {a}";
            }
        }

        return "The texts differ only in ways that line splitting hides.";
    }
}
