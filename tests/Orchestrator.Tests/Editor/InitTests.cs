using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Orchestrator.Scripting.Editor;
using Orchestrator.Tests.JavaScript;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Editor;

/// <summary><c>orchestrator init</c>: what it writes makes editors (and their compilers) know the workflow globals.</summary>
public sealed partial class InitTests
{
    private static readonly SemaphoreSlim InstallGate = new(1, 1);

    [Fact]
    public async Task The_example_js_workflows_and_the_starter_type_check_with_tsc_without_a_single_diagnostic()
    {
        using var dir = new TempDirectory();
        (await CliRunner.RunAsync("init", dir.Path)).ExitCode.Should().Be(0);
        var scripts = Directory.GetFiles(RepoPaths.Scripts, "*.js");
        scripts.Should().NotBeEmpty();
        foreach (var script in scripts)
        {
            File.Copy(script, Path.Combine(dir.Path, Path.GetFileName(script)));
        }

        (await CliRunner.RunAsync("new", "workflow", Path.Combine(dir.Path, "starter"), "--js")).ExitCode.Should().Be(0);

        var diagnostics = await TypeCheckAsync(dir.Path);

        // They end with `export default`; a top-level `return` would be TS1108 here.
        diagnostics.Should().BeEmpty(string.Join("\n", diagnostics));
    }

    [Fact]
    public async Task A_top_level_return_is_what_tsc_flags_and_export_default_is_not()
    {
        using var dir = new TempDirectory();
        (await CliRunner.RunAsync("init", dir.Path)).ExitCode.Should().Be(0);
        dir.Write("returns.js", "const r = await agent(\"shell\").run({ command: \"true\" });\nreturn r.exitCode;\n");
        dir.Write("exports.js", "const r = await agent(\"shell\").run({ command: \"true\" });\nexport default r.exitCode;\n");

        var diagnostics = await TypeCheckAsync(dir.Path);

        diagnostics.Select(d => (Path.GetFileName(d.File), d.Line, d.Code)).Should().BeEquivalentTo([("returns.js", 2, "TS1108")], string.Join("\n", diagnostics));
    }

    [Fact]
    public async Task A_js_workflow_that_misuses_a_verb_fails_the_type_check()
    {
        using var dir = new TempDirectory();
        (await CliRunner.RunAsync("init", dir.Path)).ExitCode.Should().Be(0);
        dir.Write("wrong.js", """
            const r = await parallel("checks", { a: () => 1 }, { merge: "everything" });
            agent(42);
            await masterWorker("count", {}, { split: (t) => [t] });
            await phase("draft", [1], { strategies: [{ name: "chat", agent: "llm" }], budget: 700, overBudget: "moderate" });
            await phase("review", [1], { strategies: [{ name: "chat", agent: "llm" }], budget: "lots" });
            """);

        var diagnostics = await TypeCheckAsync(dir.Path);

        diagnostics.Select(d => (d.Line, d.Code)).Should().BeEquivalentTo([(1, "TS2322"), (2, "TS2345"), (3, "TS2741"), (5, "TS2322")], string.Join("\n", diagnostics));
    }

    [Fact]
    public async Task The_example_csx_workflows_compile_against_the_references_and_imports_init_declared()
    {
        using var dir = new TempDirectory();
        (await CliRunner.RunAsync("init", dir.Path)).ExitCode.Should().Be(0);
        var settings = JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Path, "omnisharp.json")))!["script"]!;
        var rsp = Path.Combine(dir.Path, settings["rspFilePath"]!.GetValue<string>());

        // As OmniSharp reads a script project's response file: csc's own parser, then a script compilation without a host object.
        var parsed = CSharpCommandLineParser.Script.Parse(["@" + rsp], dir.Path, sdkDirectory: null);
        parsed.Errors.Should().BeEmpty();
        var runtime = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var references = Directory.GetFiles(runtime, "System*.dll").Append(Path.Combine(runtime, "netstandard.dll"))
            .Concat(parsed.MetadataReferences.Select(r => r.Reference))
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToList();
        var scripts = Directory.GetFiles(RepoPaths.Scripts, "*.csx");
        scripts.Should().NotBeEmpty();
        foreach (var script in scripts)
        {
            var tree = CSharpSyntaxTree.ParseText(File.ReadAllText(script), CSharpParseOptions.Default.WithKind(SourceCodeKind.Script), script);
            var compilation = CSharpCompilation.CreateScriptCompilation(Path.GetFileNameWithoutExtension(script), tree, references, parsed.CompilationOptions.WithOutputKind(OutputKind.DynamicallyLinkedLibrary));

            compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Should().BeEmpty(script);
        }
    }

    [Fact]
    public void The_editor_globals_carry_the_engines_doc_comments()
    {
        var (_, documentation) = CSharpEditorGlobals.Build();
        var docs = System.Xml.Linq.XDocument.Parse(System.Text.Encoding.UTF8.GetString(documentation));

        var agent = docs.Descendants("member").Single(m => m.Attribute("name")!.Value == "M:Orchestrator.Editor.WorkflowDsl.Agent(System.String)");
        agent.Element("summary")!.Value.Should().Contain("An agent of the given kind");
        docs.Descendants("member").Select(m => m.Attribute("name")!.Value)
            .Should().Contain(n => n.StartsWith("M:Orchestrator.Editor.WorkflowDsl.Parallel(", StringComparison.Ordinal))
            .And.Contain(n => n.StartsWith("M:Orchestrator.Editor.WorkflowDsl.Phase(", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Every_global_the_javascript_front_end_binds_is_declared_with_its_members()
    {
        using var harness = new JsHarness();
        var run = await harness.RunAsync("""
            return {
              globals: Object.getOwnPropertyNames(globalThis),
              agent: Object.keys(agent("x")),
              connector: Object.keys(connector("x")),
              mcp: Object.keys(mcp),
            };
            """);
        var standard = new Jint.Engine().Global.GetOwnPropertyKeys().Select(k => k.ToString()).ToHashSet(StringComparer.Ordinal);
        string[] Names(string key) => [.. run.Result![key]!.AsArray().Select(n => n!.GetValue<string>())];
        var declared = JavaScriptDeclarations.Shipped;

        var bound = Names("globals").Where(name => !standard.Contains(name)).ToList();

        bound.Should().Contain(["agent", "parallel", "phase", "mcp", "input"]);
        declared.Globals.Keys.Should().Contain(bound, "every global the engine binds needs a declaration in orchestrator.d.ts");
        declared.Globals.Keys.Should().BeSubsetOf(bound, "orchestrator.d.ts must not declare a global the engine does not bind");
        declared.MembersOf("agent").Should().BeEquivalentTo(Names("agent"));
        declared.MembersOf("connector").Should().BeEquivalentTo(Names("connector"));
        declared.MembersOf("mcp").Should().BeEquivalentTo(Names("mcp"));
    }

    [Fact]
    public async Task Init_again_changes_nothing_and_keeps_a_file_the_user_changed_unless_forced()
    {
        using var dir = new TempDirectory();
        (await CliRunner.RunAsync("init", dir.Path)).ExitCode.Should().Be(0);

        var again = await CliRunner.RunAsync("init", dir.Path);

        again.ExitCode.Should().Be(0);
        again.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().OnlyContain(l => l.StartsWith("up to date ", StringComparison.Ordinal));

        var jsconfig = Path.Combine(dir.Path, "jsconfig.json");
        File.WriteAllText(jsconfig, """{ "compilerOptions": { "checkJs": false } }""");
        var kept = await CliRunner.RunAsync("init", dir.Path);

        kept.ExitCode.Should().Be(0);
        kept.Stderr.Trim().Should().Be($"orchestrator: kept {jsconfig}: it was changed since init wrote it (--force overwrites it)");
        File.ReadAllText(jsconfig).Should().Contain("\"checkJs\": false");
        (await CliRunner.RunAsync("init", dir.Path)).Stderr.Should().Contain("kept " + jsconfig, "a file the user changed stays theirs");

        var forced = await CliRunner.RunAsync("init", dir.Path, "--force");

        forced.ExitCode.Should().Be(0);
        forced.Stdout.Should().Contain("overwrote " + jsconfig);
        File.ReadAllText(jsconfig).Should().Contain("\"checkJs\": true");
    }

    [Fact]
    public async Task A_file_init_wrote_itself_is_updated_without_force()
    {
        using var dir = new TempDirectory();
        (await CliRunner.RunAsync("init", dir.Path)).ExitCode.Should().Be(0);

        // As if an older orchestrator had written the declarations: the file and the manifest agree on older content.
        var declarations = Path.Combine(dir.Path, "orchestrator.d.ts");
        File.WriteAllText(declarations, "declare function agent(kind: string): unknown;\n");
        var manifestPath = Path.Combine(dir.Path, ".orchestrator-editor", "init.json");
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        manifest["files"]!["orchestrator.d.ts"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(declarations)));
        File.WriteAllText(manifestPath, manifest.ToJsonString());

        var result = await CliRunner.RunAsync("init", dir.Path);

        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Contain("updated " + declarations);
        File.ReadAllText(declarations).Should().Be(EditorSetup.JavaScriptDeclarations());
    }

    [Fact]
    public async Task Init_on_a_file_is_refused_in_one_line_with_exit_code_2()
    {
        using var dir = new TempDirectory();
        var file = dir.Write("flow.js", "return 1;");

        var result = await CliRunner.RunAsync("init", file);

        result.ExitCode.Should().Be(2);
        result.Stderr.Trim().Should().Be($"orchestrator: {file} is a file; init needs the folder the workflows are in");
        File.ReadAllText(file).Should().Be("return 1;");
    }

    /// <summary>Runs the pinned tsc on the folder's jsconfig.json and reads its diagnostics.</summary>
    private static async Task<List<TsDiagnostic>> TypeCheckAsync(string directory)
    {
        var tsc = await EnsureTypeScriptAsync();
        using var process = Process.Start(new ProcessStartInfo(tsc, ["-p", Path.Combine(directory, "jsconfig.json"), "--pretty", "false"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        (await errors).Should().BeEmpty();
        return [.. (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            var match = DiagnosticLine().Match(line);
            match.Success.Should().BeTrue($"tsc printed '{line}'");
            return new TsDiagnostic(match.Groups[1].Value, int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), match.Groups[3].Value, line);
        })];
    }

    /// <summary>The pinned TypeScript compiler: build/install-typescript.sh puts it in .tools/typescript/ (.ci/run runs it first).</summary>
    private static async Task<string> EnsureTypeScriptAsync()
    {
        var tsc = Path.Combine(RepoPaths.Root, ".tools", "typescript", "node_modules", ".bin", "tsc");
        await InstallGate.WaitAsync();
        try
        {
            await BuildScripts.RunAsync("install-typescript.sh");
            return tsc;
        }
        finally
        {
            InstallGate.Release();
        }
    }

    [GeneratedRegex(@"^(.+?)\((\d+),\d+\): error (TS\d+): ")]
    private static partial Regex DiagnosticLine();

    private sealed record TsDiagnostic(string File, int Line, string Code, string Text)
    {
        public override string ToString() => Text;
    }
}
