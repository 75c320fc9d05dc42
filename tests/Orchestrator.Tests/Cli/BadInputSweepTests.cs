using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Orchestrator.Tests.Support;

namespace Orchestrator.Tests.Cli;

/// <summary>A store with one finished run, shared by the sweep: every bad input must leave it byte for byte as it was.</summary>
public sealed class SweepStore : IAsyncLifetime
{
    internal TempDirectory Dir { get; } = new();

    public string Store => Path.Combine(Dir.Path, "store");

    public string RunId { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var script = Dir.Write("good.csx", "await Step(\"one\", () => 1);\nreturn 1;\n");
        var run = await CliRunner.RunAsync("run", script, "--store", Store, "--json");
        run.ExitCode.Should().Be(0, run.ToString());
        RunId = JsonNode.Parse(run.LastLine)!["runId"]!.GetValue<string>();
    }

    public Task DisposeAsync()
    {
        Dir.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// Bad input across every command, as a hostile but fair user gives it: each is one line on stderr naming what was
/// wrong, exit code 2, no "Unhandled exception", and the store exactly as it was.
/// </summary>
public sealed class BadInputSweepTests(SweepStore fixture) : IClassFixture<SweepStore>
{
    private string Dir => fixture.Dir.Path;

    private string Store => fixture.Store;

    private string RunId => fixture.RunId;

    /// <summary>Each case: its name, and what it writes before it gives the command line (relative names live in the fixture's folder).</summary>
    public static TheoryData<string> Cases => new(BadInputs.Keys);

    private static readonly Dictionary<string, Func<BadInputSweepTests, (string[] Args, string Names)>> BadInputs = new()
    {
        // Scripts.
        ["script: empty"] = t => t.Run(t.Write("empty.csx", "")),
        ["script: comments only"] = t => t.Run(t.Write("comments.csx", "// nothing\n/* at all */\n")),
        ["script: binary"] = t => t.Run(t.WriteBytes("binary.csx", [0x4D, 0x5A, 0x90, 0x00, 0x03, 0xFF])),
        ["script: not UTF-8"] = t => t.Run(t.WriteBytes("latin1.js", [0x6C, 0x6F, 0x67, 0x28, 0x22, 0xE9, 0x22, 0x29])),
        ["script: a folder"] = t => t.Run(t.Folder("folder.csx")),
        ["script: a FIFO"] = t => t.Run(t.Fifo("pipe.csx")),
        ["script: a symlink loop"] = t => t.Run(t.Loop("loop.csx")),
        ["script: wrong extension"] = t => t.Run(t.Write("flow.txt", "return 1;")),
        ["script: a device"] = t => t.Run("/dev/zero"),
        ["script: huge"] = t => t.Run(t.Write("huge.js", new string('x', 9 * 1024 * 1024))),
        ["script: missing"] = t => t.Run(Path.Combine(t.Dir, "missing.csx")),
        ["script: does not compile"] = t => t.Run(t.Write("broken.csx", "var x = ;")),
        ["script: two export defaults"] = t => t.Run(t.Write("two-results.js", "export default 1;\nexport default 2;\n"), "two-results.js(2,1): error: a workflow has one result"),
        ["script: export default in a block"] = t => t.Run(t.Write("nested-result.js", "if (input) {\n  export default 1;\n}\n"), "nested-result.js(2,3): error: export default must be at the top level"),
        ["script: an import"] = t => t.Run(t.Write("imports.js", "import fs from \"fs\";\nexport default 1;\n"), "imports.js(1,1): error: import is not supported"),
        ["script: a named export"] = t => t.Run(t.Write("named.js", "const q = 1;\nexport { q };\n"), "named.js(2,1): error: only export default is supported"),

        // Options of run that take paths or values.
        ["init: a file"] = t => (["init", t.Write("init-target.js", "return 1;")], "init-target.js"),
        ["init: under /proc"] = t => (["init", "/proc/orchestrator-editor"], "/proc/orchestrator-editor"),
        ["--store is a file"] = t => (["run", t.Write("ok1.csx", "return 1;"), "--store", t.Write("afile", "x")], "afile"),
        ["--store under /proc"] = t => (["run", t.Write("ok2.csx", "return 1;"), "--store", "/proc/orchestrator-store"], "/proc/orchestrator-store"),
        ["--store postgres URL malformed"] = t => (["run", t.Write("ok2pg.csx", "return 1;"), "--store", "postgres://u:secret@h/db?nonsense=1"], "'nonsense'"),
        ["--store postgres unreachable"] = t => (["runs", "--store", "postgres://u:secret@127.0.0.1:1/db"], "Host=127.0.0.1;Port=1;Username=u;Password=***;Database=db"),
        ["--plugins missing"] = t => (["run", t.Write("ok3.csx", "return 1;"), "--store", t.Store, "--plugins", Path.Combine(t.Dir, "no-plugins")], "no-plugins"),
        ["--plugins is a file"] = t => (["run", t.Write("ok4.csx", "return 1;"), "--store", t.Store, "--plugins", t.Write("plugins.txt", "x")], "plugins.txt"),
        ["--input malformed"] = t => (["run", t.Write("ok5.csx", "return 1;"), "--store", t.Store, "--input", "{\"a\":"], "--input"),
        ["--input @missing"] = t => (["run", t.Write("ok6.csx", "return 1;"), "--store", t.Store, "--input", "@" + Path.Combine(t.Dir, "no-input.json")], "no-input.json"),
        ["--input @folder"] = t => (["run", t.Write("ok7.csx", "return 1;"), "--store", t.Store, "--input", "@" + t.Folder("input-folder")], "input-folder"),
        ["--input @malformed file"] = t => (["run", t.Write("ok8.csx", "return 1;"), "--store", t.Store, "--input", "@" + t.Write("input.json", "{ nope")], "input.json"),
        ["--timeout not a duration"] = t => (["run", t.Write("ok9.csx", "return 1;"), "--store", t.Store, "--timeout", "soon"], "--timeout"),
        ["--timeout negative"] = t => (["run", t.Write("ok10.csx", "return 1;"), "--store", t.Store, "--timeout", "-5s"], "--timeout"),
        ["--connectors missing"] = t => (["run", t.Write("ok11.csx", "return 1;"), "--store", t.Store, "--connectors", Path.Combine(t.Dir, "no-connectors.json")], "no-connectors.json"),
        ["--connectors malformed"] = t => (["run", t.Write("ok12.csx", "return 1;"), "--store", t.Store, "--connectors", t.Write("bad-connectors.json", "{ \"connectors\": [ }")], "connectors.json"),
        ["--connectors wrong shape"] = t => (["run", t.Write("ok13.csx", "return 1;"), "--store", t.Store, "--connectors", t.Write("shape.json", "{ \"connectors\": { \"x\": { \"type\": \"ftp\" } } }")], "shape.json"),
        ["--secrets malformed"] = t => (["run", t.Write("ok14.csx", "return 1;"), "--store", t.Store, "--secrets", t.Write("bad-secrets.json", "[1, 2]")], "bad-secrets.json"),
        ["--mcp-config missing"] = t => (["run", t.Write("ok15.csx", "return 1;"), "--store", t.Store, "--mcp-config", Path.Combine(t.Dir, "no-mcp.json")], "no-mcp.json"),
        ["--mcp-config malformed"] = t => (["run", t.Write("ok16.csx", "return 1;"), "--store", t.Store, "--mcp-config", t.Write("bad-mcp.json", "{ \"mcpServers\": { \"a\": 5 } }")], "bad-mcp.json"),
        ["--mcp-config a folder"] = t => (["run", t.Write("ok17.csx", "return 1;"), "--store", t.Store, "--mcp-config", t.Folder("mcp-folder")], "mcp-folder"),

        // Reports and templates.
        ["report --out missing folder"] = t => (["report", t.RunId, "--store", t.Store, "--out", Path.Combine(t.Dir, "nowhere", "r.md")], "nowhere"),
        ["report --out a folder"] = t => (["report", t.RunId, "--store", t.Store, "--out", t.Folder("out-folder")], "out-folder"),
        ["report --template missing"] = t => (["report", t.RunId, "--store", t.Store, "--template", Path.Combine(t.Dir, "no.md.sbn")], "no.md.sbn"),
        ["report --template does not parse"] = t => (["report", t.RunId, "--store", t.Store, "--template", t.Write("bad.md.sbn", "{{ for x in }}")], "bad.md.sbn"),
        ["report --format unknown"] = t => (["report", t.RunId, "--store", t.Store, "--format", "pdf"], "pdf"),

        // Read-only commands and ids.
        ["runs --store missing"] = t => (["runs", "--store", Path.Combine(t.Dir, "no-store")], "no-store"),
        ["runs show unknown id"] = t => (["runs", "show", "no-such-run", "--store", t.Store], "no-such-run"),
        ["runs show --step unknown"] = t => (["runs", "show", t.RunId, "--step", "no-such-step", "--store", t.Store], "no-such-step"),
        ["runs fork unknown id"] = t => (["runs", "fork", "no-such-run", "--at", "x", "--store", t.Store], "no-such-run"),
        ["runs fork --at unknown step"] = t => (["runs", "fork", t.RunId, "--at", "no-such-step", "--store", t.Store], "no-such-step"),
        ["runs fork --input malformed"] = t => (["runs", "fork", t.RunId, "--at", "x", "--input", "{nope", "--store", t.Store], "--input"),
        ["runs diff unknown id"] = t => (["runs", "diff", t.RunId, "no-such-run", "--store", t.Store], "no-such-run"),
        ["resume unknown id"] = t => (["resume", "no-such-run", "--store", t.Store], "no-such-run"),
        ["resume a finished run"] = t => (["resume", t.RunId, "--store", t.Store], t.RunId),
        ["stats --store a file"] = t => (["stats", "--store", t.Write("stats-file", "x")], "stats-file"),
        ["review approve unknown"] = t => (["review", "approve", "no-such-item", "--store", t.Store], "no-such-item"),
        ["approve unknown run"] = t => (["approve", "no-such-run", "--store", t.Store], "no-such-run"),
        ["approve a run that waits for nothing"] = t => (["approve", t.RunId, "deploy", "--store", t.Store], "deploy"),
        ["approve --by empty"] = t => (["approve", t.RunId, "--by", " ", "--store", t.Store], "--by"),
        ["review reject unknown run"] = t => (["review", "reject", "no-such-run", "--store", t.Store], "no-such-run"),
        ["signal unknown run"] = t => (["signal", "no-such-run", "payment", "--store", t.Store], "no-such-run"),
        ["signal a finished run"] = t => (["signal", t.RunId, "payment", "--store", t.Store], t.RunId),
        ["signal --data malformed"] = t => (["signal", t.RunId, "payment", "--data", "{", "--store", t.Store], "--data"),
        ["signal an empty name"] = t => (["signal", t.RunId, "", "--store", t.Store], "event name"),
        ["schedule add --cron bad"] = t => (["schedule", "add", t.Write("sched1.csx", "return 1;"), "--cron", "every night", "--store", t.Store], "--cron"),
        ["schedule add missing script"] = t => (["schedule", "add", Path.Combine(t.Dir, "no-sched.csx"), "--cron", "0 3 * * *", "--store", t.Store], "no-sched.csx"),
        ["schedule remove unknown"] = t => (["schedule", "remove", "no-such-schedule", "--store", t.Store], "no-such-schedule"),
        ["runs prune --older-than bad"] = t => (["runs", "prune", "--older-than", "ages", "--store", t.Store], "--older-than"),
        ["connectors --connectors malformed"] = t => (["connectors", "--connectors", t.Write("c2.json", "nope"), "--store", t.Store], "c2.json"),
        ["mcp list --mcp-config malformed"] = t => (["mcp", "list", "--mcp-config", t.Write("m2.json", "{"), "--store", t.Store], "m2.json"),
        ["serve --scripts missing"] = t => (["serve", "--store", t.Store, "--scripts", Path.Combine(t.Dir, "no-scripts")], "no-scripts"),
        ["serve --urls not a URL"] = t => (["serve", "--store", t.Store, "--urls", "not a url"], "not a url"),
        ["serve non-loopback without a token"] = t => (["serve", "--store", t.Store, "--urls", "http://0.0.0.0:0", "--token", "short"], "--token"),
        ["unknown command"] = t => (["rnu", "x.csx"], "rnu"),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_input_is_one_line_naming_it_exit_code_2_and_the_store_unchanged(string name)
    {
        var (args, names) = BadInputs[name](this);
        var before = Snapshot(Store);

        var result = await CliRunner.RunAsync(args).WaitAsync(TimeSpan.FromMinutes(1));

        result.ExitCode.Should().Be(2, result.ToString());
        result.ToString().Should().NotContain("Unhandled exception").And.NotContain("   at ");
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().ContainSingle(result.ToString()).Which.Should().StartWith("orchestrator: ").And.Contain(names);
        Snapshot(Store).Should().Equal(before, "bad input must not change the store");
    }

    private (string[] Args, string Names) Run(string script) => (["run", script, "--store", Store], Path.GetFileName(script));

    private (string[] Args, string Names) Run(string script, string names) => (["run", script, "--store", Store], names);

    private string Write(string name, string text) => fixture.Dir.Write(name, text);

    private string WriteBytes(string name, byte[] bytes)
    {
        var path = Path.Combine(Dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string Folder(string name) => Directory.CreateDirectory(Path.Combine(Dir, name)).FullName;

    private string Fifo(string name)
    {
        var path = Path.Combine(Dir, name);
        if (!File.Exists(path))
        {
            using var mkfifo = System.Diagnostics.Process.Start("mkfifo", [path]);
            mkfifo.WaitForExit();
        }

        return path;
    }

    private string Loop(string name)
    {
        var path = Path.Combine(Dir, name);
        if (!Path.Exists(path) && new FileInfo(path).LinkTarget is null)
        {
            File.CreateSymbolicLink(path, name);
        }

        return path;
    }

    /// <summary>Every file of the store with its hash; SQLite's shared memory and the log (which may say what was refused) aside.</summary>
    private static List<string> Snapshot(string store) =>
        [.. Directory.EnumerateFiles(store, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith("-shm", StringComparison.Ordinal) && !Path.GetRelativePath(store, f).StartsWith("logs", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(f => Path.GetRelativePath(store, f) + " " + Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))))];
}
