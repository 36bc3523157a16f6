/**
 * How the CLI shows a run: one line per step as it starts and ends (with its duration), the
 * closing summary, and the JSON document for --json. Pure formatting; the CLI does the polling.
 */
import type { RunStatus } from '../workflows/run-state';
import type { PendingActivity } from './client';
import type { PhaseRunResult, StepRecord } from './types';

const MARK: Record<StepRecord['outcome'], string> = {
  pending: ' ',
  running: '…',
  'awaiting-approval': '?',
  passed: '✓',
  failed: '✗',
  'not-available': '-',
  skipped: '·',
  compensated: '↺',
};

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '';
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

export function stepLine(s: StepRecord): string {
  const tail = [s.outcome, formatDuration(s.durationMs), s.summary].filter(Boolean).join('  ');
  return `  ${MARK[s.outcome]} ${s.id.padEnd(22)} ${tail}`;
}

/** Remembers what was printed, and returns the lines that a new status adds. */
export class ProgressPrinter {
  private readonly seen = new Map<string, string>();

  update(status: RunStatus): string[] {
    const lines: string[] = [];
    for (const s of status.steps) {
      if (s.outcome === 'pending') continue;
      const key = `${s.outcome}|${s.summary ?? ''}`;
      if (this.seen.get(s.id) === key) continue;
      this.seen.set(s.id, key);
      lines.push(stepLine(s));
    }
    return lines;
  }
}

/** How often a long step whose activity says nothing new is shown again, with its elapsed time. */
const STILL_EVERY_MS = 15_000;

/**
 * Lines for what a running step does now (its activity's heartbeat details: which image, which
 * service is still starting): one when that changes, and one every 15 s while it does not, each
 * with the time since the step started.
 */
export class ActivityPrinter {
  private last: { step: string; details: string; printedMs: number } | undefined;

  update(step: string, activity: PendingActivity | undefined, nowMs: number): string[] {
    if (!activity?.details) return [];
    const same = this.last?.step === step && this.last.details === activity.details;
    if (same && nowMs - this.last!.printedMs < STILL_EVERY_MS) return [];
    this.last = { step, details: activity.details, printedMs: nowMs };
    const elapsed = activity.startedMs === undefined ? '' : `  (${Math.max(0, Math.round((nowMs - activity.startedMs) / 1000))}s)`;
    return [`      ${activity.details}${elapsed}`];
  }
}

export function summaryLines(workflowId: string, result: PhaseRunResult): string[] {
  const count = (o: StepRecord['outcome']) => result.steps.filter((s) => s.outcome === o).length;
  const parts = [`${count('passed')} passed`, `${count('failed')} failed`, `${count('not-available')} not available`];
  if (count('compensated')) parts.push(`${count('compensated')} rolled back`);
  const lines = [`${result.phase} --${result.verb}: ${result.status.toUpperCase()} (${parts.join(', ')}) — ${workflowId}`];
  if (result.failure) {
    lines.push(`  failed at ${result.failure.step}: ${result.failure.reason}`);
    if (result.failure.hint) lines.push(`  what to do: ${result.failure.hint}`);
  }
  return lines;
}

/** One run as the JSON document CI and Claude read. */
export function runJson(workflowId: string, result: PhaseRunResult): Record<string, unknown> {
  return {
    status: result.status,
    workflowId,
    phase: result.phase,
    verb: result.verb,
    steps: result.steps.map((s) => ({ id: s.id, title: s.title, outcome: s.outcome, durationMs: s.durationMs ?? null, summary: s.summary ?? null })),
    ...(result.failure ? { failure: result.failure } : {}),
  };
}
