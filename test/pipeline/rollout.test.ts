/**
 * service-mesh --deploy end to end: a real gateway (admin API, weighted backends, call statistics),
 * a real Temporal dev server, the pipeline worker with its real activities. The server is the
 * scripted test server; its new version is the same server started with flags that make it bad
 * (--tool-error, --delay-ms) or good, and --name shows which backend answered a call.
 */
import { randomUUID } from 'node:crypto';
import { PipelineClient } from '../../pipeline/client';
import { stepsFor } from '../../pipeline/phases';
import type { PhaseRunResult } from '../../pipeline/types';
import { startPipelineWorker, type PipelineWorker } from '../../pipeline/worker';
import { connectClient, startTestGateway, type TestGateway } from '../helpers/gateway';
import { processesWithMarker, waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';
import { processesMentioning, startTestTemporal, type TestTemporal } from './temporal';
import { TEST_REGISTER } from '../helpers/admin';
import { testSecret } from '../helpers/secret-values';

jest.setTimeout(240_000);

const TOKEN = testSecret(`rollout-${randomUUID()}`);
const marker = `rollout-${randomUUID()}`;
const TASK_QUEUE = 'test-rollout';
let temporal: TestTemporal;
let worker: PipelineWorker;
let client: PipelineClient;
let gw: TestGateway;

beforeAll(async () => {
  process.env.MCP_FLEET_ADMIN_TOKEN = TOKEN;
  temporal = await startTestTemporal();
  worker = await startPipelineWorker({ temporal, taskQueue: TASK_QUEUE });
  client = await PipelineClient.connect(temporal, TASK_QUEUE);
});

beforeEach(async () => {
  gw = await startTestGateway(
    { admin: { token: TOKEN, register: TEST_REGISTER }, servers: { echo: scripted(marker, ['--name', 'v1', '--tools', 'echo']) } },
    marker,
  );
});

afterEach(async () => {
  await gw.stop();
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

afterAll(async () => {
  await client?.close();
  await worker?.stop();
  await temporal?.stop();
  delete process.env.MCP_FLEET_ADMIN_TOKEN;
  expect(processesMentioning(temporal.dir)).toEqual([]);
});

async function admin(path: string, init: RequestInit = {}): Promise<any> {
  const res = await fetch(`${gw.url}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });
  expect(res.ok).toBe(true);
  return res.status === 204 ? undefined : res.json();
}

const weights = async () =>
  Object.fromEntries(((await admin('/admin/servers')).servers.find((s: any) => s.name === 'echo').backends as any[]).map((b) => [b.id, b.weight]));

/** Which backend answers echo__echo now, over a fresh session. */
async function servedBy(): Promise<string> {
  const c = await connectClient(gw, 'streamable-http');
  try {
    const r = (await c.callTool({ name: 'echo__echo', arguments: {} })) as { content: { text: string }[] };
    return r.content[0].text.split(':')[0];
  } finally {
    await c.close();
  }
}

async function rollout(params: Record<string, unknown>, autoApprove = true): Promise<{ workflowId: string; result: Promise<PhaseRunResult> }> {
  const all = { url: gw.url, server: 'echo', version: 'v2', bakeSec: 1, minCalls: 3, ...params };
  const handle = await client.start({ phase: 'service-mesh', verb: 'deploy', params: all, autoApprove }, stepsFor('service-mesh', 'deploy', all));
  return { workflowId: handle.workflowId, result: client.result(handle.workflowId) };
}

/** The scripted server as a backend spec: backends take the transport, the rest comes from their server. */
function version(args: string[]): Record<string, unknown> {
  const { restart: _restart, ...spec } = scripted(marker, args);
  return spec;
}

const outcomes = (r: PhaseRunResult) => r.steps.map((s) => [s.id, s.outcome]);

test('a good canary moves traffic 20 → 100 % step by step and is promoted: v2 alone serves the server', async () => {
  const { result } = await rollout({ backend: version(['--name', 'v2', '--tools', 'echo']), percents: [20, 100] });
  const r = await result;
  expect(outcomes(r)).toEqual([
    ['add-version', 'passed'],
    ['canary-20', 'passed'],
    ['canary-100', 'passed'],
    ['promote', 'passed'],
  ]);
  expect(r.status).toBe('passed');
  // at 20 % the probe made enough calls that v2 got at least minCalls of them, and the step says so
  expect(r.steps[1].summary).toMatch(/^20 % on v2: \d+ calls, error rate 0\.0 %, p95 \d+ ms; previous: primary \d+ calls/);
  expect(await weights()).toEqual({ v2: 100 });
  expect(await servedBy()).toBe('v2');
});

test('a canary that fails its calls breaches the error rate at the first step and is rolled back', async () => {
  const { result } = await rollout({ backend: version(['--name', 'v2', '--tools', 'echo', '--tool-error']), percents: [20, 100] });
  const r = await result;
  expect(r.status).toBe('failed');
  expect(outcomes(r)).toEqual([
    ['add-version', 'compensated'],
    ['canary-20', 'failed'],
    ['canary-100', 'skipped'],
    ['promote', 'skipped'],
  ]);
  expect(r.failure?.step).toBe('canary-20');
  expect(r.failure?.reason).toMatch(/v2 breached the error rate at 20 %: 100\.0 % > 1\.0 % \(0 errors, \d+ tool errors in \d+ calls\)/);
  expect(r.steps[0].summary).toMatch(/rolled back echo: weights primary=100 restored, v2 removed/);
  expect(await weights()).toEqual({ primary: 100 });
  expect(await servedBy()).toBe('v1');
  // only v1's process is left: the rolled-back version was stopped
  expect(processesWithMarker(marker)).toHaveLength(1);
});

test('a slow canary breaches the p95 latency and is rolled back', async () => {
  const { result } = await rollout({ backend: version(['--name', 'v2', '--tools', 'echo', '--delay-ms', '400']), percents: [50, 100], maxP95Ms: 150 });
  const r = await result;
  expect(r.failure?.step).toBe('canary-50');
  expect(r.failure?.reason).toMatch(/v2 breached the latency at 50 %: p95 \d+ ms > 150 ms/);
  expect(await weights()).toEqual({ primary: 100 });
});

test('blue/green switches all traffic at once, holds, and retires the old version', async () => {
  const { result } = await rollout({ backend: version(['--name', 'green', '--tools', 'echo']), strategy: 'blue-green', version: 'green' });
  const r = await result;
  expect(outcomes(r)).toEqual([
    ['add-version', 'passed'],
    ['switch', 'passed'],
    ['promote', 'passed'],
  ]);
  expect(await weights()).toEqual({ green: 100 });
  expect(await servedBy()).toBe('green');
});

test('rejecting the promotion gate rolls back: the old version serves again and the new one is gone', async () => {
  const { workflowId, result } = await rollout({ backend: version(['--name', 'v2', '--tools', 'echo']), strategy: 'blue-green' }, false);
  // An answer is only accepted by a waiting gate: wait for each one before answering it.
  const gate = (stepId: string) =>
    waitFor(
      async () => {
        const st = await client.status(workflowId);
        return st.gate?.stepId === stepId || st.failure ? st : undefined;
      },
      `the run to reach the ${stepId} gate`,
      120_000,
    );
  expect((await gate('add-version')).failure).toBeUndefined();
  await client.approve(workflowId, { stepId: 'add-version', by: 'test' });
  // at the promotion gate v2 serves everything
  const atGate = await gate('promote');
  expect(atGate.failure).toBeUndefined();
  expect(atGate.gate?.stepId).toBe('promote');
  expect(await servedBy()).toBe('v2');
  await client.reject(workflowId, { stepId: 'promote', by: 'test', reason: 'not today' });
  const r = await result;
  expect(r.status).toBe('failed');
  expect(outcomes(r)[0]).toEqual(['add-version', 'compensated']);
  expect(await weights()).toEqual({ primary: 100 });
  expect(await servedBy()).toBe('v1');
});

test('a version that cannot start fails add-version with the reason, and leaves nothing behind', async () => {
  const { result } = await rollout({ backend: version(['--exit-at-start']) });
  const r = await result;
  expect(r.failure?.step).toBe('add-version');
  expect(r.failure?.reason).toMatch(/v2 of echo did not become ready \(state (down|connecting)\); it was removed/);
  expect(await weights()).toEqual({ primary: 100 });
});

test('bad input: an unknown server, a malformed backend, a wrong admin token — each one clear failure', async () => {
  const unknown = await (await rollout({ server: 'nope', backend: version([]) })).result;
  expect(unknown.failure).toMatchObject({ step: 'add-version', reason: expect.stringContaining('has no server "nope"') });

  const malformed = await (await rollout({ backend: { command: 42 } })).result;
  expect(malformed.failure?.step).toBe('add-version');
  expect(malformed.failure?.reason).toMatch(/answered 400: .*command/);

  process.env.MCP_FLEET_ADMIN_TOKEN = 'wrong';
  try {
    const denied = await (await rollout({ backend: version([]) })).result;
    expect(denied.failure?.reason).toMatch(/answered 401: .*must equal the gateway's admin.token/);
  } finally {
    process.env.MCP_FLEET_ADMIN_TOKEN = TOKEN;
  }
  expect(await weights()).toEqual({ primary: 100 });
});
