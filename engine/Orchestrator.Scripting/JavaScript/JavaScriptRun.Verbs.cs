using System.Text.Json.Nodes;
using Jint;
using Jint.Native;
using Jint.Native.Object;
using Jint.Runtime;
using Jint.Runtime.Interop;
using Orchestrator.Core.Verbs;

namespace Orchestrator.Scripting.JavaScript;

/// <summary>
/// The JavaScript bindings of the DSL verbs (<see cref="DslVerbs"/>): one line per verb. Every verb the core defines
/// must be bound here, and only those, or no JavaScript run starts, so a verb cannot silently go missing.
/// </summary>
internal sealed partial class JavaScriptRun
{
    private Dictionary<string, Func<JsValue>> Bindings() => new(StringComparer.Ordinal)
    {
        [DslVerbs.Agent.Name] = () => Verb(DslVerbs.Agent, Agent),
        [DslVerbs.Step.Name] = () => Verb(DslVerbs.Step, Step),
        [DslVerbs.Sequence.Name] = () => Verb(DslVerbs.Sequence, Sequence),
        [DslVerbs.Parallel.Name] = () => Verb(DslVerbs.Parallel, Parallel),
        [DslVerbs.Handoff.Name] = () => Verb(DslVerbs.Handoff, Handoff),
        [DslVerbs.Log.Name] = () => Verb(DslVerbs.Log, Log),
        [DslVerbs.Checkpoint.Name] = () => Verb(DslVerbs.Checkpoint, Checkpoint),
        [DslVerbs.SetRecovery.Name] = () => Verb(DslVerbs.SetRecovery, SetRecovery),
        [DslVerbs.SetStepTimeout.Name] = () => Verb(DslVerbs.SetStepTimeout, SetStepTimeout),
        [DslVerbs.ClassifyFailures.Name] = () => Verb(DslVerbs.ClassifyFailures, ClassifyFailures),
        [DslVerbs.MasterWorker.Name] = () => Verb(DslVerbs.MasterWorker, MasterWorker),
        [DslVerbs.Consensus.Name] = () => Verb(DslVerbs.Consensus, Consensus),
        [DslVerbs.Validate.Name] = () => Verb(DslVerbs.Validate, ValidateVerb),
        [DslVerbs.ValidateResult.Name] = () => Verb(DslVerbs.ValidateResult, ValidateResultVerb),
        [DslVerbs.Qa.Name] = () => Verb(DslVerbs.Qa, QaVerb),
        [DslVerbs.Phase.Name] = () => Verb(DslVerbs.Phase, Phase),
        [DslVerbs.OnAnomaly.Name] = () => Verb(DslVerbs.OnAnomaly, OnAnomaly),
        [DslVerbs.ConfigureMonitor.Name] = () => Verb(DslVerbs.ConfigureMonitor, ConfigureMonitor),
        [DslVerbs.ConfigureCircuits.Name] = () => Verb(DslVerbs.ConfigureCircuits, ConfigureCircuits),
        [DslVerbs.Connector.Name] = () => Verb(DslVerbs.Connector, Connector),
        [DslVerbs.DefineConnector.Name] = () => Verb(DslVerbs.DefineConnector, DefineConnector),
        [DslVerbs.Mcp.Name] = McpObject,
        [DslVerbs.Approval.Name] = () => Verb(DslVerbs.Approval, Approval),
        [DslVerbs.WaitForEvent.Name] = () => Verb(DslVerbs.WaitForEvent, WaitForEvent),
        [DslVerbs.Sleep.Name] = () => Verb(DslVerbs.Sleep, Sleep),
        [DslVerbs.Goals.Name] = () => Verb(DslVerbs.Goals, Goals),
        [DslVerbs.SystemState.Name] = () => Verb(DslVerbs.SystemState, (_, _) => StartHere(frame => frame.Scope.SystemStateAsync(frame.Token))),
    };

    private void InstallVerbs(Engine engine)
    {
        var bindings = Bindings();
        foreach (var verb in DslVerbs.All)
        {
            if (!bindings.Remove(verb.Name, out var bind))
            {
                throw new InvalidOperationException($"the DSL verb '{verb.Name}' has no JavaScript binding");
            }

            engine.SetValue(verb.Name, bind());
        }

        if (bindings.Count > 0)
        {
            throw new InvalidOperationException($"JavaScript binds '{string.Join("', '", bindings.Keys)}', which the core does not define");
        }
    }

    /// <summary>Starts a step in the calling script's scope (see <see cref="Start"/>).</summary>
    private JsValue StartHere(Func<ScopeFrame, Task<JsonNode?>> begin)
    {
        var frame = _current;
        return Start(frame, () => begin(frame));
    }

    /// <summary>A verb's function: an option the core refuses becomes a TypeError that names the verb's usage.</summary>
    private ClrFunction Verb(VerbDefinition verb, Func<JsValue, JsValue[], JsValue> body) =>
        Function(verb.Name, (self, arguments) =>
        {
            try
            {
                return body(self, arguments);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
            {
                throw TypeError(ex.Message.StartsWith(verb.Usage, StringComparison.Ordinal) ? ex.Message : $"{verb.Usage}: {ex.Message}");
            }
        }, verb.Arity);

    /// <summary>
    /// Reads a verb's options object through its core definition (unknown keys, kinds, bounds, defaults); function
    /// options are checked to be functions and handed back as they are. Absent options read as all defaults unless
    /// <paramref name="required"/>.
    /// </summary>
    private ScriptOptions Options(VerbDefinition verb, JsValue value, bool required = false, string? example = null)
    {
        if (value.IsUndefined() || value.IsNull())
        {
            return required
                ? throw TypeError($"{verb.Usage}: options must be an object{(example is null ? "" : " such as " + example)}")
                : new ScriptOptions(verb.Read(null), null);
        }

        if (value is not ObjectInstance bag || value.IsCallable())
        {
            throw TypeError($"{verb.Usage}: options must be an object{(example is null ? "" : " such as " + example)}");
        }

        var keys = bag.GetOwnPropertyKeys(Types.String).Select(k => k.ToString()).ToList();
        verb.CheckKeys(keys);
        var json = new JsonObject();
        foreach (var option in verb.Options)
        {
            var given = bag.Get(option.Name);
            if (option.Kind is OptionKind.Function or OptionKind.Functions)
            {
                if (option.Kind == OptionKind.Function && !given.IsUndefined() && !given.IsNull() && !given.IsCallable())
                {
                    throw TypeError($"{verb.Usage}: options.{option.Name} must be a function");
                }

                continue;
            }

            // Options that are script code or JSON are read from the bag by the verb; the rest are checked by the core.
            if (!given.IsCallable())
            {
                json[option.Name] = ToJsonArgument(given, verb.Usage, "options." + option.Name);
            }
        }

        return new ScriptOptions(verb.Read(json), bag);
    }

    /// <summary>A verb's options as read: the checked values, and the script's object for its function options.</summary>
    private sealed record ScriptOptions(VerbArguments Values, ObjectInstance? Bag)
    {
        public JsValue? Function(string name) => Bag?.Get(name) is { } value && value.IsCallable() ? value : null;

        public JsValue Raw(string name) => Bag?.Get(name) ?? JsValue.Undefined;
    }
}
