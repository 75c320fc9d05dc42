using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Reporting;

namespace Orchestrator.Bench.Scenarios;

/// <summary>What a run's cost grows with: a million steps in one CLI process, and large outputs nested in their parents'.</summary>
internal sealed class ScaleScenarios(ScenarioSettings settings, string workDirectory, TextWriter progress)
{
    /// <summary>The figures of <c>scale</c>: peak RSS and time per step of the big run, its reports, the small run beside it, and the fan-out.</summary>
    public sealed record Figures(double PeakRssMb, double UsPerStep, double SmallUsPerStep, double ReportMs, double ReportKb, double JsPeakRssMb, double JsUsPerStep, double JsSmallUsPerStep, double FanOutRatio, double FanOutPeakRssMb, int Steps);

    public async Task<Figures> MeasureAsync(CancellationToken cancellationToken)
    {
        var chains = await WriteAsync("chains.csx", """
            var w = Input!["w"]!.GetValue<int>();
            var s = Input!["s"]!.GetValue<int>();
            await Parallel("all", Merge.AllMustSucceed, Enumerable.Range(0, w).Select(i => Branch($"w{i}", async () =>
            {
                for (var j = 0; j < s; j++) await Step("s", () => j);
                return (JsonNode?)i;
            })).ToArray());
            return w * s;
            """, cancellationToken).ConfigureAwait(false);
        var jsChains = await WriteAsync("chains.js", """
            const branches = {};
            for (let i = 0; i < input.w; i++) branches["w" + i] = async () => { for (let j = 0; j < input.s; j++) await step("s", async () => j); return i; };
            await parallel("all", branches, { merge: "allMustSucceed" });
            return input.w * input.s;
            """, cancellationToken).ConfigureAwait(false);
        var fanOut = await WriteAsync("fanout.csx", $$"""
            var branches = Enumerable.Range(0, 16).Select(i => Branch($"b{i}", () => Agent("shell").RunAsync(new { script = $"yes branch-{i} | head -c {{settings.FanOutBytes}}" }))).ToArray();
            var outputs = await Parallel("fan", Merge.AllMustSucceed, branches);
            return outputs!.AsObject().Count;
            """, cancellationToken).ConfigureAwait(false);

        var steps = settings.ScaleChains * settings.ScaleStepsPerChain;
        var bigStore = Store("big");
        var big = await CliProcess.RunAsync(chains, bigStore, new JsonObject { ["w"] = settings.ScaleChains, ["s"] = settings.ScaleStepsPerChain }, workDirectory, cancellationToken).ConfigureAwait(false);
        var smallStore = Store("small");
        var small = await CliProcess.RunAsync(chains, smallStore, new JsonObject { ["w"] = 100, ["s"] = 100 }, workDirectory, cancellationToken).ConfigureAwait(false);

        // Like the in-process figures, a steady state: the median of three after the code has been compiled on the small
        // run's reports, as it is in the CLI (ReadyToRun) or a warm host.
        await TimeReportsAsync(smallStore, small.RunId, cancellationToken).ConfigureAwait(false);
        var reportTimes = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            reportTimes.Add(await TimeReportsAsync(bigStore, big.RunId, cancellationToken).ConfigureAwait(false));
        }

        var reportMs = ScenarioRunner.Median(reportTimes);
        var reportKb = new[] { "md", "html" }.Max(format => new FileInfo(Path.Combine(bigStore, "reports", $"{big.RunId}.{format}")).Length) / 1024.0;
        var js = await CliProcess.RunAsync(jsChains, Store("js"), new JsonObject { ["w"] = settings.ScaleChains, ["s"] = settings.ScaleStepsPerChain }, workDirectory, cancellationToken).ConfigureAwait(false);
        var jsSmall = await CliProcess.RunAsync(jsChains, Store("js-small"), new JsonObject { ["w"] = 100, ["s"] = 100 }, workDirectory, cancellationToken).ConfigureAwait(false);

        var fanStore = Store("fanout");
        var fan = await CliProcess.RunAsync(fanOut, fanStore, null, workDirectory, cancellationToken).ConfigureAwait(false);
        var journalBytes = Directory.EnumerateFiles(fanStore, "journal.db*").Sum(f => new FileInfo(f).Length);
        var ratio = journalBytes / (16.0 * settings.FanOutBytes);

        var figures = new Figures(big.PeakRssMb, big.UsPerStep, small.UsPerStep, reportMs, reportKb, js.PeakRssMb, js.UsPerStep, jsSmall.UsPerStep, ratio, fan.PeakRssMb, steps);
        progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"scale: {steps:N0} steps in one run: peak RSS {big.PeakRssMb:0} MB, {big.UsPerStep:0.00} µs per step (10,000 steps: {small.UsPerStep:0.00}), reports in {reportMs:0} ms (the larger {reportKb:0} KB); .js peak RSS {js.PeakRssMb:0} MB, {js.UsPerStep:0.00} µs per step (10,000 steps: {jsSmall.UsPerStep:0.00}); fan-out of 16 × {settings.FanOutBytes / 1048576.0:0.0} MiB: journal {journalBytes / 1048576.0:0.0} MiB ({ratio:0.00} × the output), peak RSS {fan.PeakRssMb:0} MB"));
        return figures;
    }

    /// <summary>Writing the big run's reports (JSON, Markdown, HTML) from its journal, in this process, as a run's end or <c>orchestrator report</c> does.</summary>
    private static async Task<double> TimeReportsAsync(string store, string runId, CancellationToken cancellationToken)
    {
        await using var journal = SqliteJournal.Open(store);
        var writer = new ReportWriter(store);
        var started = Stopwatch.GetTimestamp();
        var package = await HandoffPackage.LoadAsync(journal, runId, cancellationToken).ConfigureAwait(false);
        await writer.WriteAsync(package, cancellationToken).ConfigureAwait(false);
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    private string Store(string name) => Path.Combine(workDirectory, "scale-" + name + "-" + Guid.NewGuid().ToString("N"));

    private async Task<string> WriteAsync(string name, string text, CancellationToken cancellationToken)
    {
        var path = Path.Combine(workDirectory, name);
        await File.WriteAllTextAsync(path, text, cancellationToken).ConfigureAwait(false);
        return path;
    }
}

/// <summary>One <c>orchestrator run --json --quiet</c> process, its peak resident memory sampled from <c>/proc</c> while it runs.</summary>
internal static class CliProcess
{
    public sealed record Result(string RunId, double PeakRssMb, double UsPerStep);

    public static async Task<Result> RunAsync(string script, string store, JsonNode? input, string workingDirectory, CancellationToken cancellationToken)
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } muxer && File.Exists(muxer) ? muxer : "dotnet";
        var info = new ProcessStartInfo(host) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string[] args = [OrchestratorRun.Cli, "run", script, "--store", store, "--json", "--quiet"];
        foreach (var arg in input is null ? args : [.. args, "--input", input.ToJsonString()])
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + OrchestratorRun.Cli);
        using var kill = cancellationToken.Register(() => process.Kill(entireProcessTree: true));
        var stdout = Task.Factory.StartNew(process.StandardOutput.ReadToEnd, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var stderr = Task.Factory.StartNew(process.StandardError.ReadToEnd, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        // VmHWM is the kernel's own high-water mark of the process's resident set: the last reading before it exits is its peak.
        long peakKb = 0;
        var status = $"/proc/{process.Id}/status";
        while (!process.HasExited)
        {
            peakKb = Math.Max(peakKb, ReadHighWaterKb(status));
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }

        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        var output = await stdout.ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"orchestrator run {script} exited with {process.ExitCode}: {await stderr.ConfigureAwait(false)}{output}");
        }

        var json = JsonNode.Parse(output.Trim().Split('\n')[^1])!;
        var steps = json["steps"]!.GetValue<int>();
        return new Result(json["runId"]!.GetValue<string>(), peakKb / 1024.0, json["durationMs"]!.GetValue<double>() * 1000 / steps);
    }

    private static long ReadHighWaterKb(string statusFile)
    {
        try
        {
            foreach (var line in File.ReadLines(statusFile))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
            // The process exited between the check and the read.
        }

        return 0;
    }
}
