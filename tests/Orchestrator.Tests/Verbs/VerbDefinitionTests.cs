using System.Reflection;
using System.Text.Json.Nodes;
using FluentAssertions;
using Orchestrator.Core.Journal;
using Orchestrator.Core.Verbs;
using Orchestrator.Core.Workflow;
using Orchestrator.Scripting.CSharp;
using Orchestrator.Tests.JavaScript;
using Orchestrator.Tests.Support;
using Xunit;

namespace Orchestrator.Tests.Verbs;

/// <summary>Every DSL verb is defined once in the core; both front ends expose each one, with the core's options and defaults.</summary>
public sealed class VerbDefinitionTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string> Verbs() => [.. DslVerbs.All.Select(v => v.Name)];

    [Theory]
    [MemberData(nameof(Verbs))]
    public void Each_core_verb_is_a_CSharp_global_with_the_core_s_options_and_defaults(string name)
    {
        var verb = DslVerbs.All.Single(v => v.Name == name);
        var parameters = CSharpParameters(verb);

        foreach (var option in verb.Options.Where(o => o.JavaScriptOnly is null))
        {
            var matching = parameters.Where(p => p.Name == option.CSharpName).ToList();
            matching.Should().NotBeEmpty($"C# {verb.CSharpPath ?? verb.CSharpName} should take '{option.CSharpName}' ({verb.Name}'s option '{option.Name}')");
            foreach (var parameter in matching.Where(p => p.HasDefaultValue))
            {
                CSharpDefault(parameter).Should().Be(option.Default, $"C# {verb.CSharpName}({parameter.Name}) and the core's {verb.Name}.{option.Name} must default alike");
            }
        }
    }

    [Fact]
    public async Task Every_core_verb_is_a_JavaScript_global_of_its_kind()
    {
        using var js = new JsHarness();
        var checks = string.Join(", ", DslVerbs.All.Select(v => $"{v.Name}: typeof {v.Name}"));
        var run = await js.RunAsync($"return {{ {checks} }};");

        run.Run.Status.Should().Be(RunStatus.Succeeded, run.Run.Error);
        foreach (var verb in DslVerbs.All)
        {
            run.Result![verb.Name]!.GetValue<string>().Should().Be(verb.IsObject ? "object" : "function", verb.Name);
        }
    }

    [Fact]
    public async Task Defaults_live_in_the_core_and_both_languages_refuse_a_bad_option_with_its_message()
    {
        // The same bound, checked by the core's definition, whichever language gives the option.
        var expected = DslVerbs.Phase.Usage + ": options.window must be a whole number of at least 1, not 0";

        var csx = _dir.Write("bad.csx", """return await Phase("p", new[] { 1 }, new[] { Strategy("a", agent: "echo") }, window: 0);""");
        var harness = new EngineHarness();
        var (outcome, _) = await harness.RunCsxAsync(csx);
        outcome.Run.Status.Should().Be(RunStatus.Failed);
        outcome.Run.Error.Should().Contain(expected);

        using var js = new JsHarness();
        var run = await js.RunAsync("""return await phase("p", [1], { strategies: [{ name: "a", agent: "echo" }], window: 0 });""");
        run.Run.Status.Should().Be(RunStatus.Failed);
        run.Run.Error.Should().Contain(expected);

        var misspelt = await js.RunAsync("""return await phase("p", [1], { strategies: [{ name: "a", agent: "echo" }], windw: 3 });""");
        misspelt.Run.Error.Should().Contain($"{DslVerbs.Phase.Usage}: unknown option 'windw'; known: {string.Join(", ", DslVerbs.Phase.Options.Select(o => o.Name))}");
    }

    [Fact]
    public void An_option_not_given_takes_the_core_default_and_an_unknown_one_is_refused()
    {
        var read = DslVerbs.Phase.Read(new JsonObject { ["strategies"] = new JsonArray() });
        read.Get<int>("window").Should().Be(VerbDefaults.PhaseWindow);
        read.Get<double>("exploration").Should().Be(VerbDefaults.PhaseExploration);
        new Orchestrator.Core.Strategies.PhasePlan { Strategies = [] }.Window.Should().Be(VerbDefaults.PhaseWindow, "the engine's plan starts from the same default");

        var act = () => DslVerbs.Qa.Read(new JsonObject { ["requird"] = true });
        act.Should().Throw<ArgumentException>().WithMessage("qa(name, check, { required }): unknown option 'requird'; known: required");
    }

    /// <summary>The parameters of every overload of the verb's C# member (following <see cref="VerbDefinition.CSharpPath"/>).</summary>
    private static List<ParameterInfo> CSharpParameters(VerbDefinition verb)
    {
        var type = typeof(WorkflowGlobals);
        var path = (verb.CSharpPath ?? verb.CSharpName).Split('.');
        List<ParameterInfo> parameters = [];
        foreach (var member in path)
        {
            var methods = type.GetMethods(BindingFlags.Public | BindingFlags.Instance).Where(m => m.Name == member).ToList();
            var property = type.GetProperty(member, BindingFlags.Public | BindingFlags.Instance);
            (methods.Count > 0 || property is not null).Should().BeTrue($"C# should expose {verb.Name} as {type.Name}.{member}");
            parameters = [.. methods.SelectMany(m => m.GetParameters())];
            type = property?.PropertyType ?? methods[0].ReturnType;
        }

        return parameters;
    }

    /// <summary>A C# default as the core writes it: enums by their lower-case name's first word (<c>NoQuorum.Throw</c> is "throw").</summary>
    private static object? CSharpDefault(ParameterInfo parameter) => parameter.DefaultValue switch
    {
        null => null,
        Enum value => value.ToString().ToLowerInvariant(),
        var other => other,
    };
}
