// The globals a .js workflow sees in OrchestratorEngine, for editors and `tsc`. Written by `orchestrator init`;
// run it again (with --force if you changed this file) after upgrading the orchestrator.
//
// A workflow is the body of an async function: it may `await` at the top level and `return` the run's result.
// Every verb that does work is a journaled step; what crosses a step boundary is JSON.

/** A JSON value as a step returns it (objects, arrays, strings, numbers, booleans, null). */
type Json = any;

/** A recovery strategy by name (`"retry"`), or with its options (`{ strategy: "retry", maxAttempts: 3, delayMs: 100 }`). */
type RecoveryLink = string | { strategy: string; [option: string]: unknown };

/** One recovery link or a chain of them, tried in order. */
type Recovery = RecoveryLink | RecoveryLink[];

/** How much a failure matters: a critical one fails the run, a moderate or minor one is noted in the report. */
type Severity = "critical" | "moderate" | "minor";

/** Options of an agent step; the string form of the second argument of `run` is its name. */
interface StepOptions {
  /** The step's name (its id in the step tree); the agent kind when not given. */
  name?: string;
  /** The recovery chain for this step, e.g. `["retry", { strategy: "fallback", agent: "backup" }]`. */
  recovery?: Recovery;
  /** How long the step may take, in milliseconds. */
  timeoutMs?: number;
  /** How much a failure of this step matters. */
  severity?: Severity;
  /** The step's result when it fails (the run goes on, degraded). */
  fallback?: Json;
  /** Undoes the step when a later one fails and the run rolls back (a `rollback` recovery). */
  compensate?: () => unknown;
}

/** An agent of one kind, from `agent(kind)`. */
interface AgentHandle {
  /** The agent kind, e.g. `"shell"`. */
  readonly kind: string;
  /** Runs the agent as a journaled step with `input`; the second argument is the step's name or its options. */
  run(input: Json, nameOrOptions?: string | StepOptions): Promise<Json>;
}

/** An external system from connectors.json or `defineConnector`, from `connector(name)`. The last argument names the step. */
interface ConnectorHandle {
  /** The connector's name. */
  readonly name: string;
  /** An HTTP GET of `path` relative to the connector's base URL. */
  get(path: string, stepName?: string): Promise<Json>;
  /** An HTTP DELETE of `path`. */
  delete(path: string, stepName?: string): Promise<Json>;
  /** An HTTP POST of `body` (JSON) to `path`. */
  post(path: string, body?: Json, stepName?: string): Promise<Json>;
  /** An HTTP PUT of `body` (JSON) to `path`. */
  put(path: string, body?: Json, stepName?: string): Promise<Json>;
  /** A request as the connector's type takes it, e.g. `{ method, path, body }` for http. */
  call(request: Json, stepName?: string): Promise<Json>;
  /** Runs a command connector with these arguments. */
  run(...args: unknown[]): Promise<Json>;
  /** Checks that the connector answers. */
  health(): Promise<Json>;
}

/** MCP tools of the servers in mcp.json; each call is a journaled step. */
interface Mcp {
  /** Calls a tool on a server that offers it (`call(tool, args)`) or on a given server (`call(server, tool, args)`). */
  call(tool: string, args?: Json): Promise<Json>;
  call(server: string, tool: string, args?: Json): Promise<Json>;
  /** The tools each server offers: `{ server: ["tool", …] }`. */
  tools(): Promise<Record<string, string[]>>;
}

/** Options of `parallel`. */
interface ParallelOptions {
  /** How the branches' outcomes merge: a policy, or a function resolving a key both branches set. */
  merge?: "allMustSucceed" | "firstSuccess" | "collectAll" | ((key: string, current: Json, incoming: Json) => unknown);
  /** Each branch gets its own copy of this context. */
  context?: Json;
  /** Branches whose failure drops them from the merge instead of failing the step. */
  optional?: string[];
}

/** Options of `masterWorker`: `split` (or a `master` agent) makes the subtasks, `worker` runs each. */
interface MasterWorkerOptions {
  /** An agent kind that splits the task (its result is the list of subtasks). */
  master?: string;
  /** Splits the task into subtasks in script code. */
  split?: (task: Json) => unknown;
  /** The agent kind that runs each subtask, or a function of the subtask and its index. */
  worker: string | ((subtask: Json, index: number) => unknown);
  /** Combines the subtasks' results into the step's result. */
  integrate?: (results: Json[], task: Json) => unknown;
  /** How many subtasks run at once. */
  concurrency?: number;
  /** Hears as each subtask ends: `{ done, total, … }`. */
  onProgress?: (progress: Json) => unknown;
  /** The recovery chain of each subtask. */
  recovery?: Recovery;
  /** How long each subtask may take, in milliseconds. */
  timeoutMs?: number;
  /** Integrate what succeeded instead of failing at the first failed subtask. */
  continueOnFailure?: boolean;
}

/** A consensus peer: an agent kind, an agent with a name and weight, or script code answering each phase. */
type ConsensusPeer =
  | string
  | { agent: string; name?: string; weight?: number }
  | { name: string; run: (phase: "propose" | "vote" | "contribute", payload: Json) => unknown; weight?: number };

/** Options of `consensus`. */
interface ConsensusOptions {
  /** The peers that propose, vote and contribute. */
  peers: ConsensusPeer[];
  /** How many votes decide: `"majority"`, `"unanimous"`, a count or a fraction. */
  quorum?: string | number;
  /** Without a quorum: fail the step (`"throw"`, the default) or return the outcome. */
  onNoQuorum?: "throw" | "return";
  /** Combines the contributions and the agreed plan into the step's result. */
  integrate?: (contributions: Record<string, Json>, plan: Json) => unknown;
  /** Whether the peers contribute to the agreed plan (default true). */
  contribute?: boolean;
  /** The recovery chain of each peer's steps. */
  recovery?: Recovery;
  /** How long each peer's step may take, in milliseconds. */
  timeoutMs?: number;
}

/** A check returns true/false, an issue, a list of issues, or null/undefined when the value is valid. */
type Check = (value: Json) => boolean | string | string[] | null | undefined | void | Promise<boolean | string | string[] | null | undefined | void>;

/** Options of `validate` and `validateResult`: a JSON schema and/or named checks, and a corrector. */
interface ValidationOptions {
  /** A JSON Schema the value must satisfy. */
  schema?: Json;
  /** Named checks of the value. */
  checks?: Record<string, Check>;
  /** Returns the corrected value for the issues found, or null when it cannot. */
  correct?: (value: Json, issues: string[]) => unknown;
  /** How many corrections are tried (default 3). */
  maxCorrections?: number;
}

/** A phase strategy: how the phase's items are worked, learned from how well each strategy did. */
interface PhaseStrategy {
  name: string;
  /** The agent kind, or a capability several kinds declare. */
  agent?: string;
  mode?: "sequential" | "parallel" | "master-worker" | "peer-to-peer";
  concurrency?: number;
  timeoutMs?: number;
  recovery?: Recovery;
  minEffectiveness?: number;
  /** In master-worker mode: the agent (kind or capability) that splits each item and integrates its subtasks' results. */
  master?: string;
}

/** What a phase's worker function gets. */
interface PhaseWork {
  item: Json;
  index: number;
  strategy: Json;
  agent: string | null;
}

/** Options of `phase`. */
interface PhaseOptions {
  /** The strategies the phase picks from. */
  strategies: PhaseStrategy[];
  /** Works one item in script code instead of the strategy's agent. */
  worker?: (work: PhaseWork) => unknown;
  /** Splits the items before they are worked. */
  split?: (items: Json) => unknown;
  /** Combines the items' results into the step's result. */
  integrate?: (results: Json[], items: Json) => unknown;
  /** How many recent runs the strategy choice looks at (default 5). */
  window?: number;
  /** How often a strategy other than the best is tried, 0 to 1 (default 0.5). */
  exploration?: number;
  /** Integrate what succeeded instead of failing at the first failed item. */
  continueOnFailure?: boolean;
  /** The most this phase's agents may report as cost (the llm agent's tokens); the run's budget holds too. */
  budget?: number;
  /** Once the phase's budget is spent, its agent calls fail with this severity (default critical). */
  overBudget?: Severity;
}

/** Options of `goals`. */
interface GoalsOptions {
  /** What strategy selection favours (default reliability). */
  prefer?: "reliability" | "speed" | "cost";
  /** The most of the run's phase items that may fail, 0 to 1. */
  maxFailureRate?: number;
  /** The most the run's agents may report as cost (the llm agent's tokens). */
  budget?: number;
  /** After this many runs of a phase an outcome counts half as much (default 2). */
  halfLife?: number;
  /** Once the budget is spent, agent calls fail with this severity (default critical). */
  overBudget?: Severity;
}

/** Options of a wait: as an agent step's, without name and recovery. */
interface WaitOptions {
  timeoutMs?: number;
  severity?: Severity;
  fallback?: Json;
}

/** A failure as a severity rule sees it. */
interface StepFailure {
  stepId: string;
  agent: string | null;
  error: string;
  errorType: string | null;
  reported: string;
}

/** The run's input (`--input`), or null. */
declare const input: Json;

/** The run's id. */
declare const runId: string;

/** External tools from the MCP servers in mcp.json. */
declare const mcp: Mcp;

/** An agent of the given kind, e.g. `agent("shell")`. */
declare function agent(kind: string): AgentHandle;

/** Runs `body` as a named, journaled step; its result (JSON) is the step's. */
declare function step(name: string, body: () => unknown): Promise<Json>;

/** Runs stages in order, passing the context along (objects merge into it); returns the final context. */
declare function sequence(name: string, context: Json, stages: Record<string, (context: Json) => unknown>): Promise<Json>;

/** Runs branches concurrently and merges their outcomes. */
declare function parallel(name: string, branches: Record<string, (context: Json) => unknown>, options?: ParallelOptions): Promise<Json>;

/** The run's report: its data, rendered with a Scriban template when one is given. */
declare function handoff(name: string, data: Json, templatePath?: string): Promise<Json>;

/** A line in the run's log. */
declare function log(...values: unknown[]): void;

/** A checkpoint: a rollback stops here. */
declare function checkpoint(name: string): Promise<Json>;

/** The workflow's recovery chain, for steps that have none of their own. */
declare function setRecovery(chain: Recovery): void;

/** The workflow's step timeout in milliseconds (null: none). */
declare function setStepTimeout(ms: number | null): void;

/** How much each failure matters: return a severity, or null for the default. */
declare function classifyFailures(rule: ((failure: StepFailure) => Severity | null | undefined) | null): void;

/** Master-worker: a master splits the task, workers run the subtasks, `integrate` combines their results. */
declare function masterWorker(name: string, task: Json, options: MasterWorkerOptions): Promise<Json>;

/** Peer-to-peer consensus: peers propose, vote, and contribute to what a quorum agreed. */
declare function consensus(name: string, task: Json, options: ConsensusOptions): Promise<Json>;

/** Validates (and corrects) a value as a step; its result is the valid value. */
declare function validate(name: string, value: Json, options: ValidationOptions): Promise<Json>;

/** Validates the run's result when the script returns it. */
declare function validateResult(options: ValidationOptions): void;

/** A quality check of the run's result at the end; a required one that finds issues fails the run. */
declare function qa(name: string, check: Check, options?: { required?: boolean }): void;

/** A phase: its items worked by the strategy the engine learned does best. */
declare function phase(name: string, items: Json, options: PhaseOptions): Promise<Json>;

/** Hears the monitor's anomalies (a step far slower than usual, a failure rate). */
declare function onAnomaly(handler: (anomaly: Json) => unknown): void;

/** The monitor's intervals (milliseconds) and its anomaly threshold. */
declare function configureMonitor(options: { intervalMs?: number; optimizeEveryMs?: number; threshold?: number }): void;

/** Tunes the circuit breakers of an agent kind (every kind without `agent`): when one opens and for how long. */
declare function configureCircuits(options: { agent?: string; failureRatio?: number; minimumThroughput?: number; windowMs?: number; openForMs?: number }): void;

/** An external system by name, from connectors.json or `defineConnector`. */
declare function connector(name: string): ConnectorHandle;

/** Defines a connector in the script, e.g. `defineConnector("hook", { type: "http", baseUrl, headers })`. */
declare function defineConnector(name: string, spec: Json): void;

/** Asks a person to approve; the run parks until someone decides (or the timeout). */
declare function approval(name: string, data?: Json, options?: WaitOptions): Promise<Json>;

/** Waits for a named event signalled to the run; the run parks meanwhile. */
declare function waitForEvent(name: string, options?: WaitOptions): Promise<Json>;

/** A durable sleep: the run parks and goes on after `ms`, even across restarts. */
declare function sleep(ms: number, name?: string): Promise<Json>;

/** What the run is trying to achieve: journaled, weighs strategy selection, checked at the run's end (the report's Goals). */
declare function goals(options: GoalsOptions): Promise<Json>;

/** The agents, MCP servers, connectors, open reviews and what learning prefers, as a journaled step. */
declare function systemState(): Promise<Json>;
