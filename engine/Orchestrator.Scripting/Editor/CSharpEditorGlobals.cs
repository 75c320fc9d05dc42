using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Xml.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Orchestrator.Scripting.CSharp;

namespace Orchestrator.Scripting.Editor;

/// <summary>
/// What a C# editor needs to know the workflow globals in a .csx. The engine runs a script with
/// <see cref="WorkflowGlobals"/> as its host object, which an editor cannot be told (OmniSharp's script projects take
/// references and imports, no host object); so this makes a static twin of every public member of the globals, with
/// its doc comment, for the editor to import with <c>using static</c>. It is generated from the engine's own
/// assembly each time, so it cannot drift; the engine never loads it.
/// </summary>
internal static class CSharpEditorGlobals
{
    /// <summary>The static twin's namespace-qualified name: the import an editor adds.</summary>
    public const string TypeName = "Orchestrator.Editor.WorkflowDsl";

    /// <summary>The file name of the assembly holding the twin (its doc comments go next to it, as .xml).</summary>
    public const string AssemblyName = "Orchestrator.Editor.Globals";

    private static readonly SymbolDisplayFormat Signature = new(
        globalNamespaceStyle: SymbolDisplayGlobalNamespaceStyle.Included,
        typeQualificationStyle: SymbolDisplayTypeQualificationStyle.NameAndContainingTypesAndNamespaces,
        genericsOptions: SymbolDisplayGenericsOptions.IncludeTypeParameters,
        memberOptions: SymbolDisplayMemberOptions.IncludeType | SymbolDisplayMemberOptions.IncludeRef,
        parameterOptions: SymbolDisplayParameterOptions.IncludeType | SymbolDisplayParameterOptions.IncludeName | SymbolDisplayParameterOptions.IncludeParamsRefOut,
        miscellaneousOptions: SymbolDisplayMiscellaneousOptions.UseSpecialTypes | SymbolDisplayMiscellaneousOptions.EscapeKeywordIdentifiers
            | SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

    /// <summary>The engine's assemblies a .csx compiles against (the host object's and the types its members use).</summary>
    public static IReadOnlyList<string> EngineAssemblies { get; } =
    [
        typeof(WorkflowGlobals).Assembly.Location,
        typeof(Core.Workflow.WorkflowScope).Assembly.Location,
        typeof(Abstractions.IAgent).Assembly.Location,
    ];

    /// <summary>The twin assembly and its doc comments file, the same bytes for the same engine.</summary>
    public static (byte[] Assembly, byte[] Documentation) Build()
    {
        var references = References();
        var globals = Compilation(references, []).GetTypeByMetadataName(typeof(WorkflowGlobals).FullName!)
            ?? throw new InvalidOperationException("the workflow globals are missing from the engine's assembly");
        var source = Source(globals);
        var compilation = Compilation(references, [CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(documentationMode: DocumentationMode.Parse))]);
        using var assembly = new MemoryStream();
        using var documentation = new MemoryStream();
        var emitted = compilation.Emit(assembly, xmlDocumentationStream: documentation);
        if (!emitted.Success)
        {
            var errors = emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString());
            throw new InvalidOperationException("the editor's globals did not compile: " + string.Join("; ", errors));
        }

        return (assembly.ToArray(), documentation.ToArray());
    }

    /// <summary>The twin's C# source: a static member for every public instance member of <paramref name="globals"/>.</summary>
    internal static string Source(INamedTypeSymbol globals)
    {
        var members = globals.GetMembers()
            .Where(m => m.DeclaredAccessibility == Accessibility.Public && !m.IsStatic && !m.IsOverride && !m.IsImplicitlyDeclared)
            .Where(m => m is IMethodSymbol { MethodKind: MethodKind.Ordinary } or IPropertySymbol { IsIndexer: false })
            .ToList();
        var text = new StringBuilder();
        text.AppendLine("#nullable enable");
        text.AppendLine("namespace Orchestrator.Editor");
        text.AppendLine("{");
        text.AppendLine("    /// <summary>The workflow globals of a .csx, for editors: a script runs with the engine's own, never with these.</summary>");
        text.AppendLine("    public static class WorkflowDsl");
        text.AppendLine("    {");
        text.AppendLine("        private const string EditorOnly = \"editor declarations only: run the script with orchestrator\";");
        foreach (var member in members)
        {
            foreach (var line in DocLines(member, members))
            {
                text.Append("        /// ").AppendLine(line);
            }

            var declaration = member switch
            {
                IPropertySymbol property => $"{property.Type.ToDisplayString(Signature)} {property.Name}",
                IMethodSymbol method => $"{method.ToDisplayString(Signature)}({string.Join(", ", method.Parameters.Select(Parameter))}){Constraints(method)}",
                _ => throw new InvalidOperationException($"unexpected member {member}"),
            };
            text.Append("        public static ").Append(declaration).AppendLine(" => throw new global::System.NotSupportedException(EditorOnly);");
        }

        text.AppendLine("    }");
        text.AppendLine("}");
        return text.ToString();
    }

    /// <summary>A parameter as declared, its default spelt out in full (Roslyn shows an enum's default by its bare member name).</summary>
    private static string Parameter(IParameterSymbol parameter)
    {
        var text = parameter.ToDisplayString(Signature);
        if (!parameter.HasExplicitDefaultValue)
        {
            return text;
        }

        var value = parameter.ExplicitDefaultValue;
        var type = parameter.Type.ToDisplayString(Signature);
        return text + " = " + (value switch
        {
            null => "default",
            _ when parameter.Type.TypeKind == TypeKind.Enum => $"({type})({SymbolDisplay.FormatPrimitive(value, quoteStrings: false, useHexadecimalNumbers: false)})",
            _ => $"({type.TrimEnd('?')})({SymbolDisplay.FormatPrimitive(value, quoteStrings: true, useHexadecimalNumbers: false)})",
        });
    }

    /// <summary>The method's <c>where</c> clauses.</summary>
    private static string Constraints(IMethodSymbol method)
    {
        var clauses = method.TypeParameters.Select(t =>
        {
            var constraints = new List<string>();
            if (t.HasReferenceTypeConstraint)
            {
                constraints.Add("class");
            }

            if (t.HasValueTypeConstraint)
            {
                constraints.Add("struct");
            }

            if (t.HasNotNullConstraint)
            {
                constraints.Add("notnull");
            }

            constraints.AddRange(t.ConstraintTypes.Select(c => c.ToDisplayString(Signature)));
            if (t.HasConstructorConstraint)
            {
                constraints.Add("new()");
            }

            return constraints.Count == 0 ? "" : $" where {t.Name} : {string.Join(", ", constraints)}";
        });
        return string.Concat(clauses);
    }

    /// <summary>The member's doc comment as source lines; an <c>inheritdoc</c> takes an overload's comment.</summary>
    private static IEnumerable<string> DocLines(ISymbol member, List<ISymbol> members)
    {
        var xml = member.GetDocumentationCommentXml(CultureInfo.InvariantCulture, expandIncludes: true);
        if (string.IsNullOrWhiteSpace(xml) || xml.Contains("<inheritdoc", StringComparison.Ordinal))
        {
            xml = members.Where(m => m.Name == member.Name)
                .Select(m => m.GetDocumentationCommentXml(CultureInfo.InvariantCulture, expandIncludes: true))
                .FirstOrDefault(d => !string.IsNullOrWhiteSpace(d) && !d.Contains("<inheritdoc", StringComparison.Ordinal));
        }

        if (string.IsNullOrWhiteSpace(xml))
        {
            return [];
        }

        // The comment comes as <member name="…">…</member>; the source takes what is inside, one line at a time.
        var parts = XElement.Parse(xml).Elements().Select(e => e.ToString(SaveOptions.DisableFormatting));
        return parts.SelectMany(p => p.Split('\n')).Select(l => l.TrimEnd());
    }

    private static CSharpCompilation Compilation(ImmutableArray<MetadataReference> references, SyntaxTree[] trees) =>
        CSharpCompilation.Create(
            AssemblyName,
            trees,
            references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, deterministic: true));

    /// <summary>The runtime's assemblies and the engine's, the latter with their doc comments where the build wrote them.</summary>
    private static ImmutableArray<MetadataReference> References()
    {
        var runtime = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var framework = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(path => path.StartsWith(runtime, StringComparison.Ordinal))
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path));
        var engine = EngineAssemblies.Select(path =>
        {
            var xml = Path.ChangeExtension(path, ".xml");
            return (MetadataReference)MetadataReference.CreateFromFile(path, documentation: File.Exists(xml) ? XmlDocumentationProvider.CreateFromFile(xml) : null);
        });
        return [.. framework, .. engine];
    }
}
