using Microsoft.Extensions.Time.Testing;
using Orchestrator.Core.Reporting;

namespace Orchestrator.Tests.Reporting;

/// <summary>
/// One test per golden pair in <c>Reporting/Golden</c>: <c>&lt;case&gt;.package.json</c> (a handoff package as
/// <c>reports/&lt;runId&gt;.json</c> holds it) against <c>&lt;case&gt;.expected.md</c>, <c>.expected.html</c> and
/// <c>.expected.json</c> (the package written back). <c>UPDATE_GOLDEN=1</c> rewrites the expected files.
/// </summary>
public sealed class GoldenReportTests
{
    private const string PackageSuffix = ".package.json";
    private static readonly string[] Formats = ["md", "html", "json"];

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var package in Directory.EnumerateFiles(GoldenFiles.Directory, "*" + PackageSuffix).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(package)[..^PackageSuffix.Length];
            foreach (var format in Formats)
            {
                data.Add(name, format);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Report_matches_its_golden_file(string caseName, string format)
    {
        var package = HandoffPackageJson.Deserialize(File.ReadAllText(Path.Combine(GoldenFiles.Directory, caseName + PackageSuffix)));
        var writer = new ReportWriter(Path.GetTempPath(), new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero)));

        var actual = format switch
        {
            "md" => writer.Render(package, ReportFormat.Markdown, null),
            "html" => writer.Render(package, ReportFormat.Html, null),
            _ => HandoffPackageJson.Serialize(package) + "\n",
        };

        GoldenFiles.Verify(Path.Combine(GoldenFiles.Directory, $"{caseName}.expected.{format}"), actual);
    }

    [Fact]
    public void Every_expected_file_has_a_package()
    {
        var orphans = Directory.EnumerateFiles(GoldenFiles.Directory, "*.expected.*")
            .Select(Path.GetFileName)
            .Where(name => !File.Exists(Path.Combine(GoldenFiles.Directory, name![..name!.IndexOf(".expected.", StringComparison.Ordinal)] + PackageSuffix)))
            .ToList();

        orphans.Should().BeEmpty("each expected file belongs to a <case>.package.json beside it");
    }

    [Fact]
    public void The_golden_folder_has_cases()
    {
        Cases().Should().NotBeEmpty($"{GoldenFiles.Directory} should hold at least one *{PackageSuffix}");
    }
}
