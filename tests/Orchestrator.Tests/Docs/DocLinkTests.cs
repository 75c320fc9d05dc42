using System.Text.RegularExpressions;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Docs;

/// <summary>The docs hold together: every relative link in the README and docs/ points at a file, and every #anchor at a heading.</summary>
public sealed partial class DocLinkTests
{
    [Fact]
    public void Every_relative_link_in_the_readme_and_docs_points_at_a_file_or_heading_that_exists()
    {
        var pages = new[] { Path.Combine(RepoPaths.Root, "README.md"), Path.Combine(RepoPaths.Root, "CONTRIBUTING.md") }
            .Concat(Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "docs"), "*.md", SearchOption.AllDirectories))
            .ToList();
        var broken = new List<string>();
        var links = 0;
        foreach (var page in pages)
        {
            var text = File.ReadAllText(page);
            foreach (Match link in Link().Matches(text))
            {
                var target = link.Groups["target"].Value;
                if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
                {
                    continue;
                }

                links++;
                var (file, anchor) = target.IndexOf('#') is var hash and >= 0 ? (target[..hash], target[(hash + 1)..]) : (target, null);
                var path = file.Length == 0 ? page : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page)!, Uri.UnescapeDataString(file)));
                if (!File.Exists(path) && !Directory.Exists(path))
                {
                    broken.Add($"{Path.GetRelativePath(RepoPaths.Root, page)}: {target} (no such file)");
                }
                else if (anchor is not null && path.EndsWith(".md", StringComparison.Ordinal) && !Anchors(File.ReadAllText(path)).Contains(anchor))
                {
                    broken.Add($"{Path.GetRelativePath(RepoPaths.Root, page)}: {target} (no such heading)");
                }
            }
        }

        broken.Should().BeEmpty();
        links.Should().BeGreaterThan(20, "the README alone links the docs, the license and its own sections");
    }

    /// <summary>GitHub's anchors: a heading in lower case, punctuation dropped, spaces as hyphens.</summary>
    private static HashSet<string> Anchors(string markdown) =>
        [.. Heading().Matches(markdown).Select(m => AnchorChars().Replace(m.Groups["title"].Value.Trim().ToLowerInvariant(), "").Replace(' ', '-'))];

    [GeneratedRegex(@"\[[^\]]*\]\((?<target>[^)\s]+)\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"^#{1,6}\s+(?<title>.+)$", RegexOptions.Multiline)]
    private static partial Regex Heading();

    [GeneratedRegex(@"[^\p{L}\p{N} _-]")]
    private static partial Regex AnchorChars();
}
