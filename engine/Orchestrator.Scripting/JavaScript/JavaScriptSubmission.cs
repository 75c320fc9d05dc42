using System.Text;
using Acornima;
using Acornima.Ast;

namespace Orchestrator.Scripting.JavaScript;

/// <summary>
/// A REPL submission rewritten to run as the body of an async function (so that it may <c>await</c>) while its
/// top-level declarations outlive it, as in Node's REPL: <c>const x = 1</c> becomes an assignment to a global
/// <c>x</c> declared beforehand, function declarations are published from the function's start (where they are
/// hoisted), and a final expression becomes the returned value. Lines stay where they were, so errors name the
/// submission's own line numbers.
/// </summary>
internal sealed record JavaScriptSubmission(string Body, IReadOnlyList<string> Declared, bool HasValue, int LineCount)
{
    private static readonly ParserOptions Options = new() { AllowAwaitOutsideFunction = true, AllowReturnOutsideFunction = true };

    /// <summary>False when the code ends inside a statement (an open brace, bracket, string or operator).</summary>
    public static bool IsComplete(string code)
    {
        try
        {
            Parse(code);
            return true;
        }
        catch (ParseErrorException ex)
        {
            return ex.Error?.Index < code.TrimEnd().Length;
        }
        catch (ModuleSyntaxException)
        {
            return true;
        }
    }

    /// <summary>
    /// Rewrites <paramref name="code"/>; throws <see cref="ParseErrorException"/> if it does not parse and
    /// <see cref="ModuleSyntaxException"/> for an import or export other than one top-level <c>export default</c>.
    /// </summary>
    public static JavaScriptSubmission Rewrite(string code)
    {
        var (script, exported) = Parse(code);
        ModuleSyntax.RefuseImportCalls(code, script);
        var lineCount = code.Split('\n').Length;
        if (exported is not null)
        {
            // A workflow's `export default` (a file #loaded, or typed): its value is the submission's, as in the file.
            code = exported;
        }

        var declared = new List<string>();
        var published = new StringBuilder();
        var edits = new List<(int Start, int End, string Text)>();
        var body = script.Body;
        for (var i = 0; i < body.Count; i++)
        {
            switch (body[i])
            {
                case VariableDeclaration declaration:
                    // `let a = 1, {b} = o;` → `;(a = 1, {b} = o);` with a and b declared as globals.
                    foreach (var declarator in declaration.Declarations)
                    {
                        Bound(declarator.Id, declared);
                    }

                    var parts = declaration.Declarations.Where(d => d.Init is not null).ToList();
                    edits.Add(parts.Count == 0
                        ? (declaration.Start, declaration.End, ";")
                        : (declaration.Start, parts[0].Start, ";("));
                    if (parts.Count > 0)
                    {
                        edits.Add((parts[^1].End, declaration.End, ");"));
                    }

                    break;
                case FunctionDeclaration { Id: { } name }:
                    declared.Add(name.Name);
                    published.Append("globalThis.").Append(name.Name).Append(" = ").Append(name.Name).Append("; ");
                    break;
                case ClassDeclaration { Id: { } name } declaration:
                    declared.Add(name.Name);
                    edits.Add((declaration.Start, declaration.Start, $";{name.Name} = "));
                    edits.Add((declaration.End, declaration.End, ";"));
                    break;
                case ExpressionStatement statement when i == body.Count - 1:
                    edits.Add((statement.Start, statement.Expression.Start, "return ("));
                    edits.Add((statement.Expression.End, statement.End, ");"));
                    break;
            }
        }

        var text = new StringBuilder(code);
        foreach (var (start, end, replacement) in edits.OrderByDescending(e => e.Start).ThenByDescending(e => e.End))
        {
            text.Remove(start, end - start).Insert(start, replacement);
        }

        // Published on the submission's first line, so line numbers do not move.
        text.Insert(0, published.ToString());
        var hasValue = exported is not null || (body.Count > 0 && body[^1] is ExpressionStatement);
        if (exported is not null)
        {
            text.Append(ModuleSyntax.Tail);
        }

        return new JavaScriptSubmission(text.ToString(), declared, hasValue, lineCount);
    }

    /// <summary>The parsed code, and the code rewritten when it has a workflow's <c>export default</c>.</summary>
    private static (Script Script, string? Exported) Parse(string code)
    {
        try
        {
            return (new Parser(Options).ParseScript(code), null);
        }
        catch (ParseErrorException)
        {
            var exported = ModuleSyntax.Rewrite(code, Options, script => script.Body);
            if (exported is null)
            {
                throw;
            }

            return (new Parser(Options).ParseScript(exported), exported);
        }
    }

    /// <summary>The names a declaration's pattern binds.</summary>
    private static void Bound(Node? pattern, List<string> names)
    {
        switch (pattern)
        {
            case Identifier identifier:
                names.Add(identifier.Name);
                break;
            case ObjectPattern objectPattern:
                foreach (var property in objectPattern.Properties)
                {
                    Bound(property is Property p ? p.Value : property, names);
                }

                break;
            case ArrayPattern arrayPattern:
                foreach (var element in arrayPattern.Elements)
                {
                    Bound(element, names);
                }

                break;
            case AssignmentPattern assignment:
                Bound(assignment.Left, names);
                break;
            case RestElement rest:
                Bound(rest.Argument, names);
                break;
        }
    }
}
