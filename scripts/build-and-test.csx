// build-and-test.csx: a realistic workflow. It builds a .NET project and, at the same time, runs
// quick source checks on it; then it decides a verdict and hands off a report rendered from
// templates/build-report.md.sbn. Run it on this repository's contract project with
//   dotnet run --project engine/Orchestrator.Cli -- run scripts/build-and-test.csx
// or on any project with --input '{"project":"path/to/My.csproj"}'.

var project = Input?["project"]?.GetValue<string>() ?? "engine/Orchestrator.Abstractions/Orchestrator.Abstractions.csproj";
var sourceDir = Path.GetDirectoryName(Path.GetFullPath(project))!;
var output = Path.Combine(Path.GetTempPath(), "orchestrator-build", RunId);

var sdk = await Agent("shell").RunAsync(new { command = "dotnet", args = new[] { "--version" } }, name: "sdk");

// Branches are independent: collect every outcome instead of stopping at the first failure.
var checks = await Parallel("checks", Merge.CollectAll,
    Branch("build", () => Agent("shell").RunAsync(new
    {
        command = "dotnet",
        args = new[] { "build", project, "-c", "Release", "-o", output, "--nologo", "-v", "quiet", "-p:UseSharedCompilation=false" },
        timeoutMs = 600_000,
    })),
    Branch("markers", () => Agent("shell").RunAsync(new
    {
        script = "grep -rnE --include='*.cs' 'TODO|FIXME|HACK' . | wc -l",
        cwd = sourceDir,
    })),
    Branch("size", () => Agent("shell").RunAsync(new
    {
        script = "find . -name '*.cs' -not -path '*/obj/*' -not -path '*/bin/*' | xargs cat | wc -l",
        cwd = sourceDir,
    })));

var verdict = await Step("verdict", () =>
{
    var built = checks!["build"]!["ok"]!.GetValue<bool>();
    int Count(string branch) => checks![branch]!["ok"]!.GetValue<bool>()
        ? int.Parse(checks[branch]!["output"]!["stdout"]!.GetValue<string>().Trim())
        : -1;
    return new
    {
        project,
        sdk = sdk!["stdout"]!.GetValue<string>().Trim(),
        built,
        buildError = built ? null : checks["build"]!["error"]!.GetValue<string>(),
        markers = Count("markers"),
        linesOfCode = Count("size"),
        output,
    };
});

await Handoff("build-and-test", verdict, template: "templates/build-report.md.sbn");

if (!verdict!["built"]!.GetValue<bool>())
{
    throw new Exception("the build failed: " + verdict["buildError"]);
}

return verdict;
