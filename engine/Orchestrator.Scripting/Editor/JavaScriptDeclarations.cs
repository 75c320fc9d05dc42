using System.Text.RegularExpressions;

namespace Orchestrator.Scripting.Editor;

/// <summary>
/// What <c>orchestrator.d.ts</c> declares, read from its text: the globals, the type each global function returns or
/// each global constant has, and the members of each interface. The REPL completes <c>agent("shell").</c> from it;
/// the tests compare it with what the engine binds. The file keeps to one declaration a line, which this relies on.
/// </summary>
internal sealed partial class JavaScriptDeclarations
{
    private JavaScriptDeclarations(Dictionary<string, string?> globals, Dictionary<string, List<string>> interfaces)
    {
        Globals = globals;
        Interfaces = interfaces;
    }

    /// <summary>The shipped declarations.</summary>
    public static JavaScriptDeclarations Shipped { get; } = Parse(EditorSetup.JavaScriptDeclarations());

    /// <summary>Every declared global, with the name of its (return) type when that is a declared interface.</summary>
    public IReadOnlyDictionary<string, string?> Globals { get; }

    /// <summary>Every declared interface with its members, in declaration order.</summary>
    public IReadOnlyDictionary<string, List<string>> Interfaces { get; }

    /// <summary>The members of what the global <paramref name="name"/> is (a constant) or returns (a function).</summary>
    public IReadOnlyList<string> MembersOf(string name) =>
        Globals.TryGetValue(name, out var type) && type is not null && Interfaces.TryGetValue(type, out var members) ? members : [];

    public static JavaScriptDeclarations Parse(string text)
    {
        var globals = new Dictionary<string, string?>(StringComparer.Ordinal);
        var interfaces = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        List<string>? members = null;
        foreach (var line in text.Split('\n'))
        {
            if (members is not null)
            {
                if (line.StartsWith('}'))
                {
                    members = null;
                }
                else if (MemberLine().Match(line) is { Success: true } member && !members.Contains(member.Groups[1].Value))
                {
                    members.Add(member.Groups[1].Value);
                }

                continue;
            }

            if (InterfaceLine().Match(line) is { Success: true } declared)
            {
                members = interfaces[declared.Groups[1].Value] = [];
            }
            else if (GlobalLine().Match(line) is { Success: true } global)
            {
                globals[global.Groups[1].Value] = global.Groups[2].Success ? global.Groups[2].Value : null;
            }
        }

        // A type that is no interface (a Promise, Json) has no members to offer.
        foreach (var (name, type) in globals.ToList())
        {
            if (type is not null && !interfaces.ContainsKey(type))
            {
                globals[name] = null;
            }
        }

        return new JavaScriptDeclarations(globals, interfaces);
    }

    [GeneratedRegex(@"^interface (\w+)")]
    private static partial Regex InterfaceLine();

    [GeneratedRegex(@"^  (?:readonly )?(\w+)\??[(:]")]
    private static partial Regex MemberLine();

    // "declare const mcp: Mcp;" or "declare function agent(kind: string): AgentHandle;"
    [GeneratedRegex(@"^declare (?:const|function) (\w+)(?:\(.*\))?: (\w+)")]
    private static partial Regex GlobalLine();
}
