/**
 * The phase workflow against a real Temporal dev server, with test activities in the worker:
 * verdicts, not-available reporting, the status query, approval gates and saga compensation.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { failure } from '../../activities/runtime';
import { PipelineClient } from '../../pipeline/client';
import { PHASES, type PhaseRunResult, type StepDef, type StepInput, type StepResult } from '../../pipeline/types';
import type { RunStatus } from '../../workflows/run-state';
import { ensureTemporal } from '../../pipeline/temporal-server';
import { startPipelineWorker, type PipelineWorker } from '../../pipeline/worker';
import { waitFor } from '../helpers/wait';
import { processesMentioning, startTestTemporal, type TestTemporal } from './temporal';

jest.setTimeout(180_000);

const TASK_QUEUE = 'test-phase-workflow';
const calls: string[] = [];

/** A gate the waitGate activity waits at until the test opens it. */
function newGate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}
let gate = newGate();

const activities = {
  async ok(input: StepInput): Promise<StepResult> {
    calls.push(`ok:${String(input.params.tag)}`);
    return { outcome: 'passed', summary: `ok ${String(input.params.tag)}` };
  },
  async na(): Promise<StepResult> {
    return { outcome: 'not-available', summary: 'not available: metrics' };
  },
  async boom(input: StepInput): Promise<StepResult> {
    calls.push(`boom:${String(input.params.tag)}`);
    throw failure('CHECK_FAILED', 'the check failed', { hint: 'fix the thing' });
  },
  /** Fails the first two attempts the way a busy engine does, then passes. */
  async busy(input: StepInput): Promise<StepResult> {
    calls.push(`busy:${String(input.params.tag)}`);
    if (calls.filter((c) => c === `busy:${String(input.params.tag)}`).length < 3) throw failure('COMMAND_FAILED', 'the engine is busy');
    return { outcome: 'passed', summary: 'done on a later attempt' };
  },
  /** A failure that does not say it is non-retryable: only its type, from the code table, stops the retries. */
  async unflagged(input: StepInput): Promise<StepResult> {
    calls.push(`unflagged:${String(input.params.tag)}`);
    throw ApplicationFailure.create({ type: 'BAD_INPUT', message: 'params.x is wrong', nonRetryable: false });
  },
  async undo(input: StepInput): Promise<StepResult> {
    calls.push(`undo:${String(input.params.tag)}`);
    return { outcome: 'passed', summary: `undid ${String(input.params.tag)}` };
  },
  async waitGate(): Promise<StepResult> {
    // a cancelled activity (the worker shutting down after a failed test) stops waiting too
    await Promise.race([gate.opened, Context.current().cancelled]);
    return { outcome: 'passed', summary: 'gate opened' };
  },
};

const step = (id: string, activity: string, extra: Partial<StepDef> = {}): StepDef => ({ id, title: `step ${id}`, activity, params: { tag: id }, ...extra });

let temporal: TestTemporal;
let worker: PipelineWorker;
let client: PipelineClient;

beforeAll(async () => {
  temporal = await startTestTemporal();
  worker = await startPipelineWorker({ temporal, taskQueue: TASK_QUEUE, activities });
  client = await PipelineClient.connect(temporal, TASK_QUEUE);
});

afterAll(async () => {
  await client?.close();
  await worker?.stop();
  await temporal?.stop();
  expect(processesMentioning(temporal.dir)).toEqual([]);
});

beforeEach(() => {
  calls.length = 0;
});

async function run(steps: StepDef[], extra: { autoApprove?: boolean } = {}): Promise<PhaseRunResult> {
  const h = await client.start({ phase: 'docker-compose', verb: 'test', ...extra }, steps);
  return client.result(h.workflowId);
}

/** Polls the run's status query until `ok` holds for it. */
async function statusWhen(workflowId: string, ok: (s: RunStatus) => boolean, what: string): Promise<RunStatus> {
  return waitFor(
    async () => {
      const s = await client.status(workflowId);
      return ok(s) ? s : undefined;
    },
    what,
    60_000,
  );
}
const awaitingApproval = (s: RunStatus) => s.state === 'awaiting-approval';

test('a run passes, reports not-available steps as such, and records durations', async () => {
  const result = await run([step('a', 'ok'), step('m', 'na'), step('b', 'ok')]);
  expect(result.status).toBe('passed');
  expect(result.steps.map((s) => [s.id, s.outcome])).toEqual([
    ['a', 'passed'],
    ['m', 'not-available'],
    ['b', 'passed'],
  ]);
  for (const s of result.steps) expect(typeof s.durationMs).toBe('number');
  expect(calls).toEqual(['ok:a', 'ok:b']);
});

test('a phase whose every step is not-available is not passed', async () => {
  const result = await run([step('m1', 'na'), step('m2', 'na')]);
  expect(result.status).toBe('failed');
  expect(result.steps.every((s) => s.outcome === 'not-available')).toBe(true);
  expect(result.failure?.reason).toMatch(/no step passed.*m1, m2/);
});

test('a failed step compensates completed steps latest first and skips the rest', async () => {
  const result = await run([
    step('a', 'ok', { compensate: 'undo' }),
    step('b', 'ok', { compensate: 'undo' }),
    step('c', 'ok'),
    step('d', 'boom', { compensate: 'undo' }),
    step('e', 'ok'),
  ]);
  expect(result.status).toBe('failed');
  expect(calls).toEqual(['ok:a', 'ok:b', 'ok:c', 'boom:d', 'undo:b', 'undo:a']);
  expect(result.steps.map((s) => s.outcome)).toEqual(['compensated', 'compensated', 'passed', 'failed', 'skipped']);
  expect(result.failure).toEqual({ step: 'd', reason: 'the check failed', hint: 'fix the thing' });
});

test('a step is retried only when its failure type is one a retry can fix', async () => {
  const result = await run([step('a', 'busy'), step('b', 'unflagged')]);
  expect(calls).toEqual(['busy:a', 'busy:a', 'busy:a', 'unflagged:b']);
  expect(result.steps.map((s) => [s.id, s.outcome])).toEqual([
    ['a', 'passed'],
    ['b', 'failed'],
  ]);
  expect(result.failure).toMatchObject({ step: 'b', reason: 'params.x is wrong' });
});

test('an approval gate waits, shows in the status query, and goes on when approved', async () => {
  const h = await client.start({ phase: 'docker-compose', verb: 'deploy' }, [step('a', 'ok'), step('prod', 'ok', { approval: 'deploy to production?' })]);
  const waiting = await statusWhen(h.workflowId, awaitingApproval, 'the run to wait at its gate');
  expect(waiting.gate).toEqual({ stepId: 'prod', prompt: 'deploy to production?' });
  expect(waiting.steps.map((s) => s.outcome)).toEqual(['passed', 'awaiting-approval']);
  expect(calls).toEqual(['ok:a']);
  await expect(client.approve(h.workflowId, { stepId: 'other' })).rejects.toMatchObject({
    code: 'NO_GATE',
    message: expect.stringContaining('waiting gate is prod'),
  });
  expect(await client.approve(h.workflowId, { by: 'tester' })).toEqual({ stepId: 'prod', prompt: 'deploy to production?' });
  const result = await client.result(h.workflowId);
  expect(result.status).toBe('passed');
  expect(calls).toEqual(['ok:a', 'ok:prod']);
  await expect(client.approve(h.workflowId)).rejects.toThrow();
});

test('a rejected gate fails the run, skips the step and compensates', async () => {
  const h = await client.start({ phase: 'docker-compose', verb: 'deploy' }, [step('a', 'ok', { compensate: 'undo' }), step('prod', 'ok', { approval: 'go?' })]);
  await statusWhen(h.workflowId, awaitingApproval, 'the run to wait at its gate');
  await client.reject(h.workflowId, { by: 'tester', reason: 'not today' });
  const result = await client.result(h.workflowId);
  expect(result.status).toBe('failed');
  expect(result.steps.map((s) => [s.id, s.outcome])).toEqual([
    ['a', 'compensated'],
    ['prod', 'skipped'],
  ]);
  expect(result.failure?.reason).toBe('rejected by tester: not today');
  expect(calls).toEqual(['ok:a', 'undo:a']);
});

test('autoApprove (--yes) passes gates without waiting', async () => {
  const result = await run([step('prod', 'ok', { approval: 'go?' })], { autoApprove: true });
  expect(result.status).toBe('passed');
});

test('the status query shows a running step', async () => {
  gate = newGate();
  const h = await client.start({ phase: 'docker-compose', verb: 'test', target: 'demo' }, [step('a', 'ok'), step('w', 'waitGate')]);
  const running = await statusWhen(h.workflowId, (s) => s.steps[1].outcome === 'running', 'step w to run');
  expect(running).toMatchObject({ phase: 'docker-compose', verb: 'test', target: 'demo', state: 'running' });
  expect(running.steps[0]).toMatchObject({ id: 'a', outcome: 'passed', summary: 'ok a' });
  gate.open();
  expect((await client.result(h.workflowId)).status).toBe('passed');
  const desc = await client.client.workflow.getHandle(h.workflowId).describe();
  expect(desc.memo).toEqual({ phase: 'docker-compose', verb: 'test', target: 'demo' });
  expect(desc.searchAttributes.McpFleetTarget).toEqual(['demo']);
});

test('a sweep names a child run in its children query only once that run exists (the CLI follows what it names)', async () => {
  const parent = await client.startAll(
    'test',
    PHASES.map((phase) => ({ phase, verb: 'test', steps: [step(phase, 'ok')] })),
  );
  const named = new Set<string>();
  let missing: string[] = [];
  // as fast as the server answers: the window between a child's start command and its start is short
  while ((await client.describe(parent.workflowId)).running) {
    const children = await client.children(parent.workflowId).catch(() => undefined);
    if (!children?.current || named.has(children.current)) continue;
    named.add(children.current);
    const current = children.current;
    if (
      !(await client.describe(current).then(
        () => true,
        () => false,
      ))
    )
      missing = [...missing, current];
  }
  expect((await client.allResult(parent.workflowId)).status).toBe('passed');
  expect(named.size).toBeGreaterThan(0);
  expect(missing).toEqual([]);
});

test('ensureTemporal reuses a dev server already listening and leaves it running', async () => {
  const port = Number(temporal.address.split(':')[1]);
  const again = await ensureTemporal({ local: { port, headless: true } });
  expect(again).toMatchObject({ address: temporal.address, started: false, searchAttributes: true });
  await again.stop();
  // still serving after the reuser "stopped" it
  expect((await run([step('a', 'ok')])).status).toBe('passed');
});

test('cancelling a run compensates what it did, then ends cancelled', async () => {
  const h = await client.start({ phase: 'docker-compose', verb: 'deploy' }, [step('a', 'ok', { compensate: 'undo' }), step('prod', 'ok', { approval: 'go?' })]);
  await statusWhen(h.workflowId, awaitingApproval, 'the run to wait at its gate');
  await h.cancel();
  await expect(h.result()).rejects.toThrow(/cancel/i);
  expect(calls).toEqual(['ok:a', 'undo:a']);
  const after = await client.status(h.workflowId);
  expect(after.steps.map((s) => s.outcome)).toEqual(['compensated', 'skipped']);
  expect(after.failure?.reason).toBe('run cancelled');
});
