/**
 * The state machine of one phase run, as a plain class with no Temporal import: the workflow
 * (workflows/phase.ts) drives it, the status query reads it, and unit tests exercise it outside the
 * sandbox. Deterministic: it never reads a clock; callers pass workflow time in.
 *
 * Verdict rules (a check with nothing real to check proves nothing, so it never passes):
 * - `failed` when a step failed, a gate was rejected, or the run was cancelled;
 * - `failed` also when no step passed (every step not-available or skipped): nothing was proved;
 * - otherwise `passed`, with not-available steps still listed as such.
 */
import type { PhaseName, PhaseRunInput, PhaseRunResult, StepDef, StepRecord, StepResult, Verb } from '../pipeline/types';

/** The workflow's input: the run request plus the steps, resolved by the client from pipeline/phases.ts. */
export interface PhaseWorkflowInput extends PhaseRunInput {
  steps: StepDef[];
}

/** A gate that waits for `approve`/`reject`. */
export interface PendingGate {
  stepId: string;
  prompt: string;
}

/** What the `status` query returns. */
export interface RunStatus {
  phase: PhaseName;
  verb: Verb;
  target?: string;
  state: 'running' | 'awaiting-approval' | 'compensating' | 'passed' | 'failed';
  steps: StepRecord[];
  gate?: PendingGate;
  failure?: PhaseRunResult['failure'];
}

export interface GateDecision {
  approved: boolean;
  by?: string;
  reason?: string;
}

export class RunState {
  private readonly records: StepRecord[];
  private readonly startedAt = new Map<string, number>();
  private readonly decisions = new Map<string, GateDecision>();
  private gate?: PendingGate;
  private compensating = false;
  private failure?: PhaseRunResult['failure'];
  private finished?: PhaseRunResult['status'];

  constructor(private readonly input: PhaseWorkflowInput) {
    if (input.steps.length === 0) throw new Error(`phase ${input.phase} --${input.verb} has no steps`);
    this.records = input.steps.map((s) => ({ id: s.id, title: s.title, outcome: 'pending' }));
  }

  /** Opens the gate before `step`; returns false when --yes already approved it. */
  openGate(step: StepDef): boolean {
    if (this.input.autoApprove) {
      this.decisions.set(step.id, { approved: true, by: 'autoApprove (--yes)' });
      return false;
    }
    this.gate = { stepId: step.id, prompt: step.approval ?? `run ${step.title}?` };
    this.record(step.id).outcome = 'awaiting-approval';
    return true;
  }

  /** Why an approve/reject cannot be accepted now, or undefined when it can (update validator). */
  refuseDecision(stepId?: string): string | undefined {
    if (!this.gate) return 'no approval gate is waiting';
    if (stepId !== undefined && stepId !== this.gate.stepId) return `the waiting gate is ${this.gate.stepId} (got ${stepId})`;
    return undefined;
  }

  decide(decision: GateDecision): PendingGate {
    const gate = this.gate;
    if (!gate) throw new Error('no approval gate is waiting');
    this.decisions.set(gate.stepId, decision);
    this.gate = undefined;
    this.record(gate.stepId).outcome = 'pending';
    return gate;
  }

  decision(stepId: string): GateDecision | undefined {
    return this.decisions.get(stepId);
  }

  start(stepId: string, now: number): void {
    this.startedAt.set(stepId, now);
    this.record(stepId).outcome = 'running';
  }

  /** Records an activity's result; true when the run may go on (passed or not-available). */
  finish(stepId: string, result: StepResult, now: number): boolean {
    const rec = this.record(stepId);
    rec.outcome = result.outcome;
    rec.summary = result.summary;
    if (result.details) rec.details = result.details;
    rec.durationMs = now - (this.startedAt.get(stepId) ?? now);
    if (result.outcome === 'failed') this.fail(stepId, result.summary, hintOf(result));
    return result.outcome !== 'failed';
  }

  /** A gate was rejected: the step is skipped and the run fails. */
  rejected(stepId: string, decision: GateDecision): void {
    const rec = this.record(stepId);
    rec.outcome = 'skipped';
    rec.summary = `rejected${decision.by ? ` by ${decision.by}` : ''}${decision.reason ? `: ${decision.reason}` : ''}`;
    this.fail(stepId, rec.summary, 'run the phase again and approve the gate to go on');
  }

  fail(stepId: string, reason: string, hint?: string): void {
    this.failure ??= { step: stepId, reason, ...(hint ? { hint } : {}) };
  }

  /** Completed steps to undo, latest first. */
  toCompensate(): StepDef[] {
    this.compensating = true;
    return this.input.steps.filter((s) => s.compensate && this.record(s.id).outcome === 'passed').reverse();
  }

  compensated(stepId: string, summary: string): void {
    const rec = this.record(stepId);
    rec.outcome = 'compensated';
    rec.summary = `${rec.summary ?? ''} (undone: ${summary})`.trim();
  }

  compensationFailed(stepId: string, reason: string): void {
    const rec = this.record(stepId);
    rec.summary = `${rec.summary ?? ''} (undo FAILED: ${reason})`.trim();
  }

  /** Closes the run: steps never reached become `skipped`; returns the verdict. */
  result(): PhaseRunResult {
    for (const rec of this.records) {
      if (rec.outcome === 'pending' || rec.outcome === 'running' || rec.outcome === 'awaiting-approval') rec.outcome = 'skipped';
    }
    if (!this.failure && !this.records.some((r) => r.outcome === 'passed')) {
      const na = this.records.filter((r) => r.outcome === 'not-available').map((r) => r.id);
      this.fail(
        na[0] ?? this.records[0].id,
        `no step passed: not available yet: ${na.join(', ') || 'none'}`,
        'the capabilities these steps check are not built into this version of mcp-fleet yet; nothing was checked',
      );
    }
    this.finished = this.failure ? 'failed' : 'passed';
    this.compensating = false;
    const out: PhaseRunResult = { status: this.finished, phase: this.input.phase, verb: this.input.verb, steps: this.steps() };
    if (this.failure) out.failure = this.failure;
    return out;
  }

  status(): RunStatus {
    const state = this.finished ?? (this.compensating ? 'compensating' : this.gate ? 'awaiting-approval' : 'running');
    const out: RunStatus = { phase: this.input.phase, verb: this.input.verb, state, steps: this.steps() };
    if (this.input.target !== undefined) out.target = this.input.target;
    if (this.gate) out.gate = { ...this.gate };
    if (this.failure) out.failure = { ...this.failure };
    return out;
  }

  private steps(): StepRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  private record(stepId: string): StepRecord {
    const rec = this.records.find((r) => r.id === stepId);
    if (!rec) throw new Error(`unknown step ${stepId}`);
    return rec;
  }
}

function hintOf(result: StepResult): string | undefined {
  const hint = result.details?.hint;
  return typeof hint === 'string' ? hint : undefined;
}
