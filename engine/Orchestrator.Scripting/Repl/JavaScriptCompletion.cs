using Jint.Native;
using Jint.Native.Object;
using Jint.Runtime;
using Orchestrator.Scripting.Editor;

namespace Orchestrator.Scripting.Repl;

/// <summary>
/// Tab completion for JavaScript submissions, from the session's engine as it is: a name completes from the globals
/// (the DSL's, JavaScript's own, and what earlier submissions declared); <c>a.b.</c> from the properties of that
/// value, read without calling anything; <c>agent("shell").</c> from what orchestrator.d.ts says the DSL function
/// returns, since calling it to find out could start a step.
/// </summary>
internal static class JavaScriptCompletion
{
    /// <summary>The candidates for the identifier ending at <paramref name="position"/>; runs on the engine's thread.</summary>
    public static IReadOnlyList<string> Complete(string code, int position, ObjectInstance global, ObjectInstance objectPrototype)
    {
        var word = WordBefore(code, position);
        var start = position - word.Length;
        IEnumerable<string> names;
        if (start == 0 || code[start - 1] != '.')
        {
            names = Keys(global, objectPrototype);
        }
        else if (CalledFunction(code, start - 1) is { } function)
        {
            names = JavaScriptDeclarations.Shipped.MembersOf(function);
        }
        else if (PathBefore(code, start - 1) is { Length: > 0 } path && Resolve(global, path) is ObjectInstance value)
        {
            names = Keys(value, objectPrototype);
        }
        else
        {
            names = [];
        }

        return [.. names.Where(n => n.StartsWith(word, StringComparison.Ordinal) && !n.StartsWith("__", StringComparison.Ordinal)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    /// <summary>The identifier the cursor is at the end of.</summary>
    public static string WordBefore(string code, int position)
    {
        var start = position;
        while (start > 0 && IsIdentifierPart(code[start - 1]))
        {
            start--;
        }

        return code[start..position];
    }

    /// <summary>For <c>name(…).</c> with the dot at <paramref name="dot"/>: the function's name.</summary>
    private static string? CalledFunction(string code, int dot)
    {
        if (dot == 0 || code[dot - 1] != ')')
        {
            return null;
        }

        var depth = 0;
        for (var i = dot - 1; i >= 0; i--)
        {
            depth += code[i] switch { ')' => 1, '(' => -1, _ => 0 };
            if (depth == 0)
            {
                var name = WordBefore(code, i);
                return name.Length > 0 && (i - name.Length == 0 || code[i - name.Length - 1] != '.') ? name : null;
            }
        }

        return null;
    }

    /// <summary>For <c>a.b.</c> with the dot at <paramref name="dot"/>: <c>["a", "b"]</c>; empty when it is no plain path.</summary>
    private static string[] PathBefore(string code, int dot)
    {
        var start = dot;
        while (start > 0 && (IsIdentifierPart(code[start - 1]) || code[start - 1] == '.'))
        {
            start--;
        }

        var parts = code[start..dot].Split('.');
        return parts.All(p => p.Length > 0 && !char.IsDigit(p[0])) ? parts : [];
    }

    private static JsValue? Resolve(ObjectInstance global, string[] path)
    {
        JsValue value = global;
        try
        {
            foreach (var name in path)
            {
                if (value is not ObjectInstance target || !target.HasProperty(name))
                {
                    return null;
                }

                value = target.Get(name);
            }
        }
        catch (JavaScriptException)
        {
            // A getter that throws has nothing to offer.
            return null;
        }

        return value;
    }

    /// <summary>The value's property names and its prototypes', short of what every object has.</summary>
    private static IEnumerable<string> Keys(ObjectInstance value, ObjectInstance objectPrototype)
    {
        for (var target = value; target is not null && !ReferenceEquals(target, objectPrototype); target = target.Prototype)
        {
            foreach (var key in target.GetOwnPropertyKeys(Types.String))
            {
                yield return key.ToString();
            }
        }
    }

    private static bool IsIdentifierPart(char c) => char.IsLetterOrDigit(c) || c is '_' or '$';
}
