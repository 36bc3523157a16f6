/**
 * Durability: the worker is killed (SIGKILL, its own process) while a step runs; a new worker
 * finishes the run, and no finished step runs again: each activity is scheduled once in the
 * history and the finished step's side effect happened once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PipelineClient } from '../../pipeline/client';
import { requireCurrentBuild } from '../helpers/dist';
import { waitFor } from '../helpers/wait';
import { processesMentioning, startTestTemporal, type TestTemporal } from './temporal';

jest.setTimeout(240_000);

const WORKER_JS = join(__dirname, '../../dist/test/pipeline/fixtures/durable-worker.js');
const TASK_QUEUE = 'test-durability';

let temporal: TestTemporal;
let client: PipelineClient;
const children: ChildProcess[] = [];

beforeAll(async () => {
  // the worker runs compiled: pipeline, workflows and activities as the last build left them
  requireCurrentBuild(['pipeline', 'workflows', 'activities', 'gateway', 'test/pipeline/fixtures']);
  temporal = await startTestTemporal();
  client = await PipelineClient.connect(temporal, TASK_QUEUE);
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await client?.close();
  await temporal?.stop();
  expect(processesMentioning(temporal.dir)).toEqual([]);
});

const logFile = () => join(temporal.dir, 'activities.log');
const logLines = () => (existsSync(logFile()) ? readFileSync(logFile(), 'utf8').trim().split('\n') : []);

function startWorker(): ChildProcess {
  // The temp dir in argv lets processesMentioning() find a leaked worker.
  const child = spawn(process.execPath, [WORKER_JS, temporal.dir], {
    env: { ...process.env, TEMPORAL_ADDRESS: temporal.address, TASK_QUEUE, LOG_FILE: logFile(), GO_FILE: join(temporal.dir, 'go') },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  return child;
}

/** Waits until an activity wrote `line` to the log; a timeout shows the log so far. */
function logged(line: string, what: string): Promise<true> {
  return waitFor(
    () => {
      if (logLines().includes(line)) return true;
      throw new Error(`log so far: ${logLines().join(' | ')}`);
    },
    what,
    120_000,
  );
}

test('a run survives its worker being killed mid-step and repeats no finished step', async () => {
  const first = startWorker();
  const h = await client.start({ phase: 'docker-compose', verb: 'deploy' }, [
    { id: 'one', title: 'first', activity: 'quick', params: { tag: 'one' } },
    // timeoutSec >= 60 gives the step a heartbeat timeout (15 s): the dead worker is noticed then.
    { id: 'two', title: 'slow', activity: 'slow', timeoutSec: 60 },
    { id: 'three', title: 'last', activity: 'quick', params: { tag: 'three' } },
  ]);
  await logged('slow:start', 'step two to start');
  expect((await client.status(h.workflowId)).steps.map((s) => s.outcome)).toEqual(['passed', 'running', 'pending']);
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));

  writeFileSync(join(temporal.dir, 'go'), '');
  const second = startWorker();
  const result = await client.result(h.workflowId);
  expect(result.status).toBe('passed');
  expect(result.steps.map((s) => s.outcome)).toEqual(['passed', 'passed', 'passed']);

  const lines = logLines().filter((l) => !l.startsWith('worker:'));
  expect(lines.filter((l) => l === 'quick:one')).toHaveLength(1);
  expect(lines.filter((l) => l === 'quick:three')).toHaveLength(1);
  expect(lines.filter((l) => l === 'slow:end')).toHaveLength(1);

  const history = await client.client.workflow.getHandle(h.workflowId).fetchHistory();
  const scheduled = (history.events ?? [])
    .filter((e) => e.activityTaskScheduledEventAttributes)
    .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
  expect(scheduled).toEqual(['quick', 'slow', 'quick']);
  // The interrupted step was retried (attempt 2) by the new worker, not scheduled again.
  const started = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes?.attempt);
  expect(started).toEqual([1, 2, 1]);

  second.kill('SIGTERM');
  await new Promise((r) => second.once('exit', r));
});
