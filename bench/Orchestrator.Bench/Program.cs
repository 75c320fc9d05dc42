using BenchmarkDotNet.Running;
using Orchestrator.Bench.Scenarios;

namespace Orchestrator.Bench;

/// <summary>
/// <c>scenarios [--json] [--quick]</c> measures whole scenarios and prints one line; anything else goes to
/// BenchmarkDotNet's switcher for the micro-benchmarks (e.g. <c>--filter *Journal*</c>).
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "scenarios")
        {
            using var cts = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true;
                cts.Cancel();
            };
            return await ScenariosCommand.RunAsync(args[1..], Console.Out, Console.Error, cts.Token);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
