/**
 * The one generic phase workflow: it runs the steps of (phase, verb) that the client resolved from
 * pipeline/phases.ts and passed in, each as the activity the step names. Deterministic and free of
 * I/O; the bookkeeping lives in RunState so it can be tested outside the sandbox.
 *
 * - approval gates before steps with `approval`, answered by the `approve`/`reject` updates
 *   (or up front by `autoApprove`);
 * - saga: when a step fails, a gate is rejected or the run is cancelled, the `compensate`
 *   activities of completed steps run latest first, in a non-cancellable scope;
 * - a failed step ends the run, unless it is marked `keepGoing` (an audit's checks all run);
 * - the `status` query returns the step records at any time.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineUpdate,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import { FleetError, NON_RETRYABLE_CODES } from '../gateway/protocol/errors';
import type { PhaseRunResult, StepDef, StepInput, StepResult } from '../pipeline/types';
import { RunState, type GateDecision, type PendingGate, type PhaseWorkflowInput, type RunStatus } from './run-state';

export const statusQuery = defineQuery<RunStatus>('status');
/** Answers the waiting gate; `stepId`, when given, must name it (guards against approving the wrong gate). */
export const approveUpdate = defineUpdate<PendingGate, [GateAnswer]>('approve');
export const rejectUpdate = defineUpdate<PendingGate, [GateAnswer]>('reject');

export interface GateAnswer {
  stepId?: string;
  by?: string;
  reason?: string;
}

type StepActivity = (input: StepInput) => Promise<StepResult>;

/** Default for steps without timeoutSec. */
const DEFAULT_TIMEOUT_SEC = 60;
/** Steps given at least this long are "long Docker work": they must heartbeat. */
const LONG_STEP_SEC = 60;

export function activityOptions(step: StepDef): ActivityOptions {
  const timeoutSec = step.timeoutSec ?? DEFAULT_TIMEOUT_SEC;
  return {
    startToCloseTimeout: `${timeoutSec}s`,
    // A dead worker is noticed within the heartbeat timeout instead of the whole step timeout.
    ...(timeoutSec >= LONG_STEP_SEC ? { heartbeatTimeout: `${Math.min(30, Math.ceil(timeoutSec / 4))}s` } : {}),
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '20s', maximumAttempts: 3, nonRetryableErrorTypes: [...NON_RETRYABLE_CODES] },
  };
}

function activity(step: StepDef, name: string): StepActivity {
  const acts = proxyActivities<Record<string, StepActivity>>(activityOptions(step));
  return acts[name];
}

export async function runPhase(input: PhaseWorkflowInput): Promise<PhaseRunResult> {
  const state = new RunState(input);
  const previous: Record<string, StepResult> = {};
  const stepInput = (step: StepDef): StepInput => ({
    runId: workflowInfo().workflowId,
    phase: input.phase,
    verb: input.verb,
    ...(input.target !== undefined ? { target: input.target } : {}),
    params: { ...(input.params ?? {}), ...(step.params ?? {}) },
    previous: { ...previous },
  });

  setHandler(statusQuery, () => state.status());
  const answer =
    (approved: boolean) =>
    (a: GateAnswer): PendingGate =>
      state.decide({ approved, ...pick(a) });
  const validate = (a: GateAnswer): void => {
    const why = state.refuseDecision(a?.stepId);
    if (why) throw ApplicationFailure.create(new FleetError('NO_GATE', why).toFailureOptions());
  };
  setHandler(approveUpdate, answer(true), { validator: validate });
  setHandler(rejectUpdate, answer(false), { validator: validate });

  let cancelled: unknown;
  try {
    for (const step of input.steps) {
      if (step.approval && state.openGate(step)) {
        await condition(() => state.decision(step.id) !== undefined);
      }
      const decision = state.decision(step.id);
      if (step.approval && decision && !decision.approved) {
        state.rejected(step.id, decision);
        break;
      }
      state.start(step.id, Date.now());
      let result: StepResult;
      try {
        result = await activity(step, step.activity)(stepInput(step));
      } catch (err) {
        if (isCancellation(err)) throw err;
        const hint = hintOf(err);
        result = { outcome: 'failed', summary: reasonOf(err), ...(hint ? { details: { hint } } : {}) };
      }
      previous[step.id] = result;
      if (!state.finish(step.id, result, Date.now()) && !step.keepGoing) break;
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    cancelled = err;
    state.fail(state.status().steps.find((s) => s.outcome === 'running' || s.outcome === 'awaiting-approval')?.id ?? input.steps[0].id, 'run cancelled');
  }

  if (state.status().failure) await compensate(state, stepInput);
  const result = state.result();
  if (cancelled) throw cancelled;
  return result;
}

/** Undoes completed steps latest first; cancellation of the run must not interrupt it. */
async function compensate(state: RunState, stepInput: (s: StepDef) => StepInput): Promise<void> {
  await CancellationScope.nonCancellable(async () => {
    for (const step of state.toCompensate()) {
      try {
        const undone = await activity(step, step.compensate as string)(stepInput(step));
        state.compensated(step.id, undone.summary);
      } catch (err) {
        state.compensationFailed(step.id, reasonOf(err));
      }
    }
  });
}

function pick(a: GateAnswer | undefined): Omit<GateDecision, 'approved'> {
  const out: Omit<GateDecision, 'approved'> = {};
  if (a?.by) out.by = a.by;
  if (a?.reason) out.reason = a.reason;
  return out;
}

/** An activity's `hint` (details[0].hint of its ApplicationFailure): what the user should do. */
function hintOf(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (!(cause instanceof ApplicationFailure)) return undefined;
  const first = cause.details?.[0] as { hint?: unknown } | undefined;
  return typeof first?.hint === 'string' ? first.hint : undefined;
}

/** The innermost message: ActivityFailure wraps the activity's own ApplicationFailure. */
function reasonOf(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}
