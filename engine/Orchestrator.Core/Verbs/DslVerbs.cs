namespace Orchestrator.Core.Verbs;

/// <summary>
/// Every DSL verb, defined once. A front end binds each by name (JavaScript) or by <see cref="VerbDefinition.CSharpName"/>
/// (C#) and reads its options through <see cref="VerbDefinition.Read"/>; adding a verb is its definition here, its engine
/// call, and one line per front end. A test checks that both front ends expose every verb with the same defaults.
/// </summary>
public static class DslVerbs
{
    private static readonly VerbOption TimeoutMs = new("timeoutMs", OptionKind.Milliseconds, "the timeout of each attempt");
    private static readonly VerbOption Recovery = new("recovery", OptionKind.Json, "the recovery chain for a failed agent call (default: the workflow's)");
    private static readonly VerbOption Severity = new("severity", OptionKind.Choice, "how bad a failure is: critical throws, moderate and minor return the fallback")
    {
        Choices = ["critical", "moderate", "minor"],
    };

    private static readonly VerbOption Fallback = new("fallback", OptionKind.Json, "what a moderate or minor failure returns");
    private static readonly VerbOption ContinueOnFailure = new("continueOnFailure", OptionKind.Boolean, "go on after a failed item; the step ends degraded")
    {
        Default = VerbDefaults.ContinueOnFailure,
    };

    private static readonly VerbOption[] ValidationOptions =
    [
        new("schema", OptionKind.Json, "a JSON Schema the value must meet") { JavaScriptOnly = "C# passes Schema(...) validators" },
        new("checks", OptionKind.Functions, "named checks: each returns true/false, an issue, issues, or null") { JavaScriptOnly = "C# passes Schema(...) and Check(...) validators" },
        new("correct", OptionKind.Function, "fixes an invalid value from its issues; null when it cannot"),
        new("maxCorrections", OptionKind.Integer, "how many corrections to try") { Default = VerbDefaults.MaxCorrections, Min = 0 },
    ];

    public static VerbDefinition Agent { get; } = new("agent", "agent(kind).run(input, nameOrOptions)", "an agent of a kind; run(...) calls it as a journaled step")
    {
        Arity = 1,
        CSharpPath = "Agent.RunAsync",
        Options =
        [
            new("name", OptionKind.Text, "the step's name (default: the kind)"),
            Recovery,
            TimeoutMs,
            Severity,
            Fallback,
            new("compensate", OptionKind.Function, "undoes the step when a rollback reaches it"),
        ],
    };

    public static VerbDefinition Step { get; } = new("step", "step(name, body)", "runs a function as a named, journaled step") { Arity = 2 };

    public static VerbDefinition Sequence { get; } = new("sequence", "sequence(name, context, stages)", "runs stages in order, passing the context along") { Arity = 3 };

    public static VerbDefinition Parallel { get; } = new("parallel", "parallel(name, branches, options)", "runs branches concurrently and merges their outcomes")
    {
        Arity = 3,
        Options =
        [
            new("merge", OptionKind.Json, "allMustSucceed (default), firstSuccess, collectAll or a function(key, current, incoming)"),
            new("context", OptionKind.Json, "copied to each branch"),
            new("optional", OptionKind.Json, "names of branches whose failure is dropped from the merge") { JavaScriptOnly = "C# marks a branch with Branch(..., optional: true)" },
        ],
    };

    public static VerbDefinition Handoff { get; } = new("handoff", "handoff(name, data, templatePath)", "records the run's handoff, optionally rendered by a Scriban template") { Arity = 3 };

    public static VerbDefinition Log { get; } = new("log", "log(message)", "writes a line to the run's log") { Arity = 1 };

    public static VerbDefinition Checkpoint { get; } = new("checkpoint", "checkpoint(name)", "marks the last known good state for a rollback") { Arity = 1 };

    public static VerbDefinition SetRecovery { get; } = new("setRecovery", "setRecovery(chain)", "the recovery chain of agent steps that name none") { Arity = 1 };

    public static VerbDefinition SetStepTimeout { get; } = new("setStepTimeout", "setStepTimeout(ms)", "the per-attempt timeout of agent steps that give none") { Arity = 1 };

    public static VerbDefinition ClassifyFailures { get; } = new("classifyFailures", "classifyFailures(rule)", "decides how bad a failure is") { Arity = 1 };

    public static VerbDefinition MasterWorker { get; } = new("masterWorker", "masterWorker(name, task, options)", "a master splits the task, workers run the parts, the results are integrated")
    {
        Arity = 3,
        Options =
        [
            new("master", OptionKind.Text, "a master agent that splits (and integrates)"),
            new("split", OptionKind.Function, "splits the task into subtasks") { JavaScriptOnly = "C# passes Split(...) as the master" },
            new("worker", OptionKind.Json, "an agent kind or a function(subtask, index)"),
            new("integrate", OptionKind.Function, "puts the results together"),
            new("concurrency", OptionKind.Integer, "subtasks at once (default: the processor count)") { Min = 1 },
            new("onProgress", OptionKind.Function, "hears about each subtask as it finishes"),
            Recovery,
            TimeoutMs,
            ContinueOnFailure,
        ],
    };

    public static VerbDefinition Consensus { get; } = new("consensus", "consensus(name, task, options)", "peers propose, vote, and contribute to the agreed plan")
    {
        Arity = 3,
        Options =
        [
            new("peers", OptionKind.Json, "agent kinds, { agent, name, weight } or { name, run, weight }"),
            new("quorum", OptionKind.Json, "majority (default), unanimous, { atLeast } or weighted"),
            new("onNoQuorum", OptionKind.Choice, "throw, or return the outcome") { Choices = ["throw", "return"], Default = VerbDefaults.OnNoQuorum },
            new("integrate", OptionKind.Function, "gets the contributions and the plan"),
            new("contribute", OptionKind.Boolean, "each peer contributes to the agreed plan") { Default = VerbDefaults.Contribute },
            Recovery,
            TimeoutMs,
        ],
    };

    public static VerbDefinition Validate { get; } = new("validate", "validate(name, value, { schema, checks, correct, maxCorrections })", "validates a value, correcting it if it can")
    {
        Arity = 3,
        Options = ValidationOptions,
    };

    public static VerbDefinition ValidateResult { get; } = new("validateResult", "validateResult({ schema, checks, correct, maxCorrections })", "validates the run's result at its end")
    {
        Arity = 1,
        Options = ValidationOptions,
    };

    public static VerbDefinition Qa { get; } = new("qa", "qa(name, check, { required })", "a quality check of the run's result")
    {
        Arity = 3,
        Options = [new("required", OptionKind.Boolean, "a failed required check fails the run") { Default = VerbDefaults.QaRequired }],
    };

    private static readonly VerbOption OverBudget = new("overBudget", OptionKind.Choice, "once the budget is spent, agent calls fail with this severity")
    {
        Choices = ["critical", "moderate", "minor"],
        Default = VerbDefaults.OverBudget,
    };

    public static VerbDefinition Phase { get; } = new("phase", "phase(name, items, options)", "runs items under a strategy chosen from what earlier runs learned")
    {
        Arity = 3,
        Options =
        [
            new("strategies", OptionKind.Json, "the candidate strategies") { JavaScriptOnly = "C# passes Strategy(...) values" },
            new("worker", OptionKind.Function, "does one item (default: the strategy's agent)"),
            new("split", OptionKind.Function, "turns the task into items"),
            new("integrate", OptionKind.Function, "combines the results"),
            new("window", OptionKind.Integer, "how many of a strategy's latest items its effectiveness looks at") { Default = VerbDefaults.PhaseWindow, Min = 1 },
            new("exploration", OptionKind.Number, "how much selection favours strategies tried less often") { Default = VerbDefaults.PhaseExploration, Min = 0 },
            ContinueOnFailure,
            new("budget", OptionKind.Number, "the most this phase's agents may report as cost (tokens); the run's budget holds too") { Min = 0 },
            OverBudget,
        ],
    };

    public static VerbDefinition OnAnomaly { get; } = new("onAnomaly", "onAnomaly(handler)", "handles the run's anomalies") { Arity = 1 };

    public static VerbDefinition ConfigureMonitor { get; } = new("configureMonitor", "configureMonitor({ intervalMs, optimizeEveryMs, threshold })", "tunes the monitor and the optimization loop")
    {
        Arity = 1,
        Options =
        [
            new("intervalMs", OptionKind.Milliseconds, "how often the monitor samples"),
            new("optimizeEveryMs", OptionKind.Milliseconds, "how often the optimization loop looks"),
            new("threshold", OptionKind.Number, "the anomaly z-score threshold") { Min = 0 },
        ],
    };

    public static VerbDefinition ConfigureCircuits { get; } = new("configureCircuits", "configureCircuits({ agent, failureRatio, minimumThroughput, windowMs, openForMs })", "tunes the circuit breakers of an agent kind (every kind without one): when one opens and for how long")
    {
        Arity = 1,
        Options =
        [
            new("agent", OptionKind.Text, "the agent kind whose circuits (one per target) to tune; every kind when left out"),
            new("failureRatio", OptionKind.Number, "the share of failed calls in the window that opens a circuit") { Min = 0.01, Max = 1 },
            new("minimumThroughput", OptionKind.Integer, "the calls needed in the window before the ratio counts") { Min = 1 },
            new("windowMs", OptionKind.Milliseconds, "how far back the calls that make the ratio reach"),
            new("openForMs", OptionKind.Milliseconds, "how long an open circuit fails calls fast before it lets a trial call through"),
        ],
    };

    public static VerbDefinition Connector { get; } = new("connector", "connector(name)", "an external system from connectors.json") { Arity = 1 };

    public static VerbDefinition DefineConnector { get; } = new("defineConnector", "defineConnector(name, spec)", "defines a connector in the script") { Arity = 2 };

    public static VerbDefinition Mcp { get; } = new("mcp", "mcp.call(tool, args) or mcp.call(server, tool, args); mcp.tools()", "MCP tools") { IsObject = true };

    public static VerbDefinition Approval { get; } = new("approval", "approval(name, data, options)", "waits for a person's decision")
    {
        Arity = 3,
        Options = [TimeoutMs, Severity, Fallback],
    };

    public static VerbDefinition WaitForEvent { get; } = new("waitForEvent", "waitForEvent(name, options)", "waits for an event")
    {
        Arity = 2,
        Options = [TimeoutMs, Severity, Fallback],
    };

    public static VerbDefinition Sleep { get; } = new("sleep", "sleep(ms, name)", "sleeps durably") { Arity = 2 };

    public static VerbDefinition Goals { get; } = new("goals", "goals({ prefer, maxFailureRate, budget, halfLife, overBudget })", "states what the run is trying to achieve; journaled, weighs strategy selection, checked at the end")
    {
        Arity = 1,
        Options =
        [
            new("prefer", OptionKind.Choice, "what strategy selection favours") { Choices = ["reliability", "speed", "cost"], Default = VerbDefaults.Prefer },
            new("maxFailureRate", OptionKind.Number, "the most of the run's phase items that may fail") { Min = 0, Max = 1 },
            new("budget", OptionKind.Number, "the most the run's agents may report as cost (tokens)") { Min = 0 },
            new("halfLife", OptionKind.Number, "after this many runs of a phase an outcome counts half as much") { Default = VerbDefaults.HalfLifeRuns, Min = 0.1 },
            OverBudget,
        ],
    };

    public static VerbDefinition SystemState { get; } = new("systemState", "systemState()", "agents, MCP servers, connectors, open reviews and what learning prefers, as a step");

    public static IReadOnlyList<VerbDefinition> All { get; } =
    [
        Agent, Step, Sequence, Parallel, Handoff, Log, Checkpoint, SetRecovery, SetStepTimeout, ClassifyFailures,
        MasterWorker, Consensus, Validate, ValidateResult, Qa, Phase, OnAnomaly, ConfigureMonitor, ConfigureCircuits,
        Connector, DefineConnector, Mcp, Approval, WaitForEvent, Sleep, Goals, SystemState,
    ];
}
