using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Classification;
using Microsoft.CodeAnalysis.Completion;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Host.Mef;
using Microsoft.CodeAnalysis.Text;
using Orchestrator.Scripting.CSharp;

namespace Orchestrator.Scripting.Repl;

/// <summary>
/// Tab completion for C# submissions from Roslyn's completion service, as csharprepl does: the submission is a script
/// document over the workflow globals (so <c>Agent("shell").Ru</c> completes to <c>RunAsync</c>), after the session's
/// earlier submissions (so their variables complete too). The workspace is made on the first Tab, not before.
/// </summary>
internal sealed class CSharpCompletion
{
    private readonly Lazy<Project> _project = new(CreateProject);

    /// <summary>The words that can stand where the identifier before <paramref name="position"/> is, in order; empty when none.</summary>
    public async Task<IReadOnlyList<string>> CompleteAsync(string earlier, string code, int position, CancellationToken cancellationToken)
    {
        var text = earlier + code;
        var at = earlier.Length + position;
        var document = _project.Value.AddDocument("repl.csx", SourceText.From(text));
        var service = CompletionService.GetService(document);
        if (service is null)
        {
            return [];
        }

        var completions = await service.GetCompletionsAsync(document, at, cancellationToken: cancellationToken).ConfigureAwait(false);
        var word = WordBefore(text, at);
        return [.. completions.ItemsList
            .Select(item => item.FilterText)
            .Where(candidate => candidate.StartsWith(word, StringComparison.OrdinalIgnoreCase))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.OrdinalIgnoreCase)];
    }

    /// <summary>
    /// Roslyn's classification of <paramref name="line"/> (after <paramref name="earlier"/> submissions, so that their
    /// names are known): keywords, strings, numbers, comments, types and methods, the DSL's verbs among them. Nothing
    /// until the workspace is made (by the first Tab, or in the background on the first call).
    /// </summary>
    public async Task<IReadOnlyList<ClassifiedSpan>> ClassifyAsync(string earlier, string line, CancellationToken cancellationToken)
    {
        if (!_project.IsValueCreated)
        {
            // Making the workspace takes a moment: the first keys show plain while it is made, not after a pause.
            _ = Task.Run(() => _project.Value, CancellationToken.None);
            return [];
        }

        var document = _project.Value.AddDocument("repl.csx", SourceText.From(earlier + line));
        var spans = await Classifier.GetClassifiedSpansAsync(document, new TextSpan(earlier.Length, line.Length), cancellationToken).ConfigureAwait(false);
        return [.. spans
            .Select(span => (span.TextSpan, Kind: KindOf(span.ClassificationType)))
            .Where(span => span.Kind is not null)
            .Select(span => new ClassifiedSpan(span.TextSpan.Start - earlier.Length, span.TextSpan.Length, span.Kind!.Value))];
    }

    private static TokenKind? KindOf(string classification) => classification switch
    {
        ClassificationTypeNames.Keyword or ClassificationTypeNames.ControlKeyword => TokenKind.Keyword,
        ClassificationTypeNames.StringLiteral or ClassificationTypeNames.VerbatimStringLiteral => TokenKind.String,
        ClassificationTypeNames.NumericLiteral => TokenKind.Number,
        ClassificationTypeNames.Comment => TokenKind.Comment,
        ClassificationTypeNames.ClassName or ClassificationTypeNames.StructName or ClassificationTypeNames.InterfaceName
            or ClassificationTypeNames.EnumName or ClassificationTypeNames.RecordClassName => TokenKind.Type,
        ClassificationTypeNames.MethodName or ClassificationTypeNames.ExtensionMethodName => TokenKind.Method,
        _ => null,
    };

    /// <summary>The identifier the cursor is at the end of (what a completion replaces).</summary>
    public static string WordBefore(string text, int position)
    {
        var start = position;
        while (start > 0 && (char.IsLetterOrDigit(text[start - 1]) || text[start - 1] == '_'))
        {
            start--;
        }

        return text[start..position];
    }

    private static Project CreateProject()
    {
        var workspace = new AdhocWorkspace(MefHostServices.Create(MefHostServices.DefaultAssemblies));
        var runtime = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var references = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(path => path.StartsWith(runtime, StringComparison.Ordinal))
            .Concat(new[] { typeof(WorkflowGlobals), typeof(Core.Workflow.WorkflowScope), typeof(Abstractions.IAgent) }.Select(t => t.Assembly.Location))
            .Distinct(StringComparer.Ordinal)
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path));
        var info = ProjectInfo.Create(
            ProjectId.CreateNewId(),
            VersionStamp.Create(),
            "repl",
            "repl",
            LanguageNames.CSharp,
            compilationOptions: new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, usings: CSharpCompiler.Imports),
            parseOptions: new CSharpParseOptions(kind: SourceCodeKind.Script),
            metadataReferences: references,
            isSubmission: true,
            hostObjectType: typeof(WorkflowGlobals));
        return workspace.AddProject(info);
    }
}
