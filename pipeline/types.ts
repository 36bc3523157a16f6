/**
 * The pipeline's vocabulary, shared by workflows (deterministic), activities (I/O), the worker and
 * the CLI: phases and verbs from the seed, steps as data, and what a step reports.
 */

export const PHASES = [
  'docker-compose',
  'service-discovery',
  'mcp-transport',
  'health-monitoring',
  'dev-workflow',
  'debugging-tools',
  'high-availability',
  'security-hardening',
  'connection-fabric',
  'service-mesh',
] as const;
export type PhaseName = (typeof PHASES)[number];

export const VERBS = ['validate', 'test', 'implement', 'deploy', 'optimize', 'enhance', 'configure', 'audit', 'build', 'integrate'] as const;
export type Verb = (typeof VERBS)[number];

/**
 * How a step ended. `not-available` means the capability it checks is not delivered yet: it is
 * reported as such and never counted as passed.
 */
export type StepOutcome = 'passed' | 'failed' | 'not-available' | 'skipped' | 'compensated';

/** One step of a phase, as data. `activity` names an exported activity function. */
export interface StepDef {
  id: string;
  title: string;
  activity: string;
  /** Fixed input merged into the activity's input. */
  params?: Record<string, unknown>;
  /** Ask for approval before this step (destructive or production work). */
  approval?: string;
  /** Activity that undoes this step if a later step fails (saga). */
  compensate?: string;
  /** Long Docker work: the activity heartbeats; the workflow gives it this long. */
  timeoutSec?: number;
  /** A check of an audit: when it fails the run still fails, but the steps after it run too. */
  keepGoing?: boolean;
}

/** Steps that depend on the run's params (a rollout's percentages); throws on bad params. */
export type StepPlan = (params: Record<string, unknown>) => StepDef[];

export interface PhaseDef {
  name: PhaseName;
  summary: string;
  /** Steps per verb; a verb not listed is refused with the verbs that are. */
  verbs: Partial<Record<Verb, StepDef[] | StepPlan>>;
}

/** What every activity receives. */
export interface StepInput {
  runId: string;
  phase: PhaseName;
  verb: Verb;
  /** Free-form target (e.g. a compose project or server name); defaults per phase. */
  target?: string;
  params: Record<string, unknown>;
  /** Results of the steps that already ran in this run, by step id. */
  previous: Record<string, StepResult>;
}

/** What every activity returns. */
export interface StepResult {
  outcome: Exclude<StepOutcome, 'skipped' | 'compensated'>;
  summary: string;
  details?: Record<string, unknown>;
}

/** A step's record in a run, as the status query and the CLI show it. */
export interface StepRecord {
  id: string;
  title: string;
  outcome: StepOutcome | 'pending' | 'running' | 'awaiting-approval';
  summary?: string;
  durationMs?: number;
  details?: Record<string, unknown>;
}

export interface PhaseRunInput {
  phase: PhaseName;
  verb: Verb;
  target?: string;
  params?: Record<string, unknown>;
  /** Approve every gate up front (CI: --yes). */
  autoApprove?: boolean;
}

export interface PhaseRunResult {
  status: 'passed' | 'failed';
  phase: PhaseName;
  verb: Verb;
  steps: StepRecord[];
  /** For a failure: the step, the reason and what to do. */
  failure?: { step: string; reason: string; hint?: string };
}

/**
 * How a run is labelled for the Temporal UI: its memo, and the McpFleet* search attributes when
 * the namespace has them registered. `target` undefined leaves it out of the memo (a sweep).
 */
export function runLabels(
  phase: PhaseName | 'all',
  verb: Verb,
  target: string | undefined,
  searchAttributes: boolean,
): { memo: Record<string, string>; searchAttributes?: Record<string, string[]> } {
  return {
    memo: { phase, verb, ...(target !== undefined ? { target } : {}) },
    ...(searchAttributes ? { searchAttributes: { McpFleetPhase: [phase], McpFleetVerb: [verb], ...(target ? { McpFleetTarget: [target] } : {}) } } : {}),
  };
}
