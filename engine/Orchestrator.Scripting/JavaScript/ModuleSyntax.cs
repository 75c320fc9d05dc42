using System.Text;
using Acornima;
using Acornima.Ast;

namespace Orchestrator.Scripting.JavaScript;

/// <summary>
/// <c>export default value;</c> at a workflow's top level gives the run its result in standard module syntax, which
/// TypeScript checks (a top-level <c>return</c>, which the engine takes too, is TS1108 to it). A workflow runs as the
/// body of an async function, where <c>export</c> does not parse, so the statement is rewritten in place: <c>export</c>
/// becomes an assignment to <see cref="Holder"/>, the rest of the keywords blank space, and the function returns the
/// holder when it ends. Every line and column stays where it was. As in a module, the statements after it still run;
/// a <c>return</c> still ends the run at once with its own value. Nothing else of modules exists here (no imports,
/// no packages), so every other <c>import</c> or <c>export</c>, and a call of <c>import()</c>, is refused.
/// </summary>
internal static class ModuleSyntax
{
    /// <summary>The variable that holds the exported value: with its <c>=</c>, exactly as long as <c>export</c>.</summary>
    internal const string Holder = "$dflt";

    /// <summary>Goes after the rewritten code, inside the function: returns the value when the code runs to its end.</summary>
    internal const string Tail = "\n;return " + Holder + ";var " + Holder + ";";

    /// <summary>
    /// Parses <paramref name="code"/> with import and export allowed anywhere, checks the rules, and rewrites the
    /// one <c>export default</c>. Returns null when the code has no import or export at all. Throws
    /// <see cref="ParseErrorException"/> when it does not parse, and <see cref="ModuleSyntaxException"/> when it breaks a rule.
    /// </summary>
    /// <param name="code">The code to parse.</param>
    /// <param name="options">The parser options; import and export are allowed everywhere on top of them.</param>
    /// <param name="topLevel">The workflow's top-level statements in the parsed tree.</param>
    public static string? Rewrite(string code, ParserOptions options, Func<Script, IReadOnlyList<Statement>> topLevel)
    {
        var script = Parse(code, options);
        var found = Descendants(script).Where(n => n is ImportDeclaration or ExportDeclaration).OrderBy(n => n.Start).ToList();
        if (found.Count == 0)
        {
            return null;
        }

        var top = topLevel(script).ToHashSet();
        ExportDefaultDeclaration? export = null;
        foreach (var node in found)
        {
            switch (node)
            {
                case ImportDeclaration:
                    throw new ModuleSyntaxException(node, "import is not supported: a JavaScript workflow has no modules or packages, only the engine's globals");
                case ExportDefaultDeclaration when !top.Contains((Statement)node):
                    throw new ModuleSyntaxException(node, "export default must be at the top level of the workflow, not inside a block or a function");
                case ExportDefaultDeclaration when export is not null:
                    throw new ModuleSyntaxException(node, $"a workflow has one result: export default is already on line {export.Location.Start.Line}");
                case ExportDefaultDeclaration { Declaration: FunctionDeclaration or ClassDeclaration }:
                    throw new ModuleSyntaxException(node, "export default takes the run's result, a value; a function or class declaration is no value (export default await main(); is)");
                case ExportDefaultDeclaration declaration:
                    export = declaration;
                    break;
                default:
                    throw new ModuleSyntaxException(node, "only export default is supported: it gives the run's result (export default value;)");
            }
        }

        // `export` → `$dflt=`; `default` and whatever is around it → blank, but for line breaks, so that nothing moves.
        var text = new StringBuilder(code);
        var start = export!.Start;
        text.Remove(start, "export".Length).Insert(start, Holder + "=");
        for (var i = start + "export".Length; i < export.Declaration.Start; i++)
        {
            if (text[i] is not ('\n' or '\r' or '\u2028' or '\u2029'))
            {
                text[i] = ' ';
            }
        }

        return text.ToString();
    }

    private static Script Parse(string code, ParserOptions options)
    {
        int? lastExport = null;
        var permissive = options with
        {
            AllowImportExportEverywhere = true,
            OnToken = (in Token token) =>
            {
                if (token.Kind == TokenKind.Keyword && token.Value is "export")
                {
                    lastExport = token.Start;
                }
            },
        };

        try
        {
            return new Parser(permissive).ParseScript(code);
        }
        catch (NullReferenceException) when (lastExport is { } at)
        {
            // Acornima 1.9 fails this way on `export { name }` outside a module, a statement the rules refuse anyway.
            throw new ModuleSyntaxException(Position(code, at), "only export default is supported: it gives the run's result (export default value;)");
        }
    }

    private static Position Position(string code, int index)
    {
        var lineStart = code.LastIndexOf('\n', Math.Max(index - 1, 0)) + 1;
        var line = 1 + code.AsSpan(0, lineStart).Count('\n');
        return Acornima.Position.From(line, index - lineStart);
    }

    /// <summary>
    /// Refuses a call of <c>import(…)</c>, which would load a module when it runs: <paramref name="code"/> is the text
    /// <paramref name="root"/> was parsed from, and a text without the word is not searched.
    /// </summary>
    public static void RefuseImportCalls(string code, Node root)
    {
        if (!code.Contains("import", StringComparison.Ordinal))
        {
            return;
        }

        if (Descendants(root).FirstOrDefault(n => n is ImportExpression) is { } call)
        {
            throw new ModuleSyntaxException(call, "import() is not supported: a JavaScript workflow has no modules or packages, only the engine's globals");
        }
    }

    /// <summary>Every node under <paramref name="root"/>; without recursion, for deeply nested code.</summary>
    private static IEnumerable<Node> Descendants(Node root)
    {
        var pending = new Stack<Node>();
        pending.Push(root);
        while (pending.TryPop(out var node))
        {
            foreach (var child in node.ChildNodes)
            {
                yield return child;
                pending.Push(child);
            }
        }
    }
}

/// <summary>Module syntax a workflow cannot have; <see cref="Position"/> is where it starts (column 0-based).</summary>
internal sealed class ModuleSyntaxException(Position position, string description) : Exception(description)
{
    public ModuleSyntaxException(Node node, string description)
        : this(node.Location.Start, description)
    {
    }

    public Position Position { get; } = position;

    public string Description { get; } = description;
}
