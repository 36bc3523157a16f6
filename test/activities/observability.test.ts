/**
 * health-monitoring, service-mesh and connection-fabric checks against a real gateway: its
 * Prometheus endpoint and its admin API, with real upstream processes and a real per-session
 * container pool on the Docker engine.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkMetrics, poolStatistics, routingWeights, trafficShift } from '../../activities';
import type { StepInput } from '../../pipeline/types';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { containersOf, ensureScriptedImage, waitForNoContainers } from '../helpers/docker';
import { waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';
import { memory } from '../helpers/servers';
import { waitFor } from '../helpers/wait';
import { TEST_REGISTER } from '../helpers/admin';
import { testSecret } from '../helpers/secret-values';

jest.setTimeout(120_000);

const TOKEN = testSecret(`obs-${randomUUID()}`);
const marker = `obs-${randomUUID()}`;
const input = (gw: TestGateway): StepInput => ({ runId: 'r1', phase: 'health-monitoring', verb: 'deploy', params: { url: gw.url }, previous: {} });
const gateways: TestGateway[] = [];

async function gateway(servers: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<TestGateway> {
  const gw = await startTestGateway({ admin: { token: TOKEN, register: TEST_REGISTER }, servers, ...extra }, marker);
  gateways.push(gw);
  return gw;
}

beforeAll(() => {
  process.env.MCP_FLEET_ADMIN_TOKEN = TOKEN;
});

afterEach(async () => {
  for (const gw of gateways.splice(0)) await gw.stop();
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

afterAll(() => {
  delete process.env.MCP_FLEET_ADMIN_TOKEN;
});

test('checkMetrics: the families exist, every upstream is up, and a round trip moves the request counter', async () => {
  const gw = await gateway({ echo: scripted(marker, ['--tools', 'echo']), other: scripted(marker, ['--tools', 'echo']) });
  const r = await checkMetrics(input(gw));
  expect(r.summary).toMatch(/^\d+ samples; 2 upstreams up; a round trip counted \d+ request/);
  expect(r.outcome).toBe('passed');
  expect(r.details).toMatchObject({ upstreams: 2, down: [], missing: [], roundTrip: 'passed' });
  expect(r.details!.requestsCounted).toBeGreaterThanOrEqual(1);
});

test('checkMetrics fails naming the upstream that is down', async () => {
  const gw = await gateway(
    { echo: scripted(marker, ['--tools', 'echo']), broken: scripted(marker, ['--exit-at-start']) },
    { startup: { waitForServersMs: 3000 } },
  );
  const r = await checkMetrics(input(gw));
  expect(r.outcome).toBe('failed');
  expect(r.summary).toContain('upstreams down: broken/primary');
});

test('routingWeights reports each server’s backends and weights, and fails for a server with no ready backend', async () => {
  const gw = await gateway(
    { echo: scripted(marker, ['--tools', 'echo']), broken: scripted(marker, ['--exit-at-start']) },
    { startup: { waitForServersMs: 3000 } },
  );
  const r = await routingWeights(input(gw));
  expect(r.outcome).toBe('failed');
  expect(r.summary).toMatch(/^no ready backend with weight > 0 for broken: echo \(primary=100\); broken \(primary=100 (down|connecting)\)$/);

  const healthy = await gateway({ echo: scripted(marker, ['--tools', 'echo']) });
  expect(await routingWeights(input(healthy))).toMatchObject({ outcome: 'passed', summary: '1 servers routed: echo (primary=100)' });
});

test('poolStatistics reads a real per-session container pool: warm containers within max', async () => {
  const image = ensureScriptedImage();
  const instance = `obs-${randomUUID().slice(0, 8)}`;
  const gw = await gateway({ boxed: { docker: { image, command: ['--tools', 'echo'] }, mode: 'per-session', pool: { warm: 1, max: 2 } } }, { instance });
  await waitFor(async () => (await containersOf(instance)).length >= 1, 'the warm container', 60_000);
  const r = await waitFor(
    async () => {
      const s = await poolStatistics(input(gw));
      return (s.details!.containerPools as { warm: number }[])[0]?.warm === 1 ? s : undefined;
    },
    'the pool to report its warm container',
    60_000,
  );
  expect(r.outcome).toBe('passed');
  expect(r.summary).toBe('boxed/primary: 0 busy, 1 warm containers, max 2, 0 waiting');

  // a gateway without any pool has nothing to check: the step fails, it does not pass empty-handed
  const none = await gateway({ echo: scripted(marker, ['--tools', 'echo']) });
  expect(await poolStatistics(input(none))).toMatchObject({
    outcome: 'failed',
    summary: expect.stringMatching(/^nothing to check: the gateway has no upstream pool/),
  });
  await gw.stop();
  expect(await waitForNoContainers(instance)).toEqual([]);
});

test('poolStatistics drives a real session pool with bursts of read-only calls and reads its reuse', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-pool-'));
  const inner = await startTestGateway({ servers: { memory: memory(marker, join(dir, 'memory.jsonl'), { prefix: false }) } }, marker);
  gateways.push(inner);
  // the tools' exposed names are the gateway's to make (prefix `kg`, separator `.`), not `memory__…`
  const gw = await gateway(
    { memory: { url: `${inner.url}/mcp`, protocol: '2025-11-25', prefix: 'kg', pool: { min: 1, max: 4, maxConcurrent: 4 } } },
    { nameSeparator: '.' },
  );
  const r = await poolStatistics(input(gw));
  expect(r).toMatchObject({ outcome: 'passed' });
  const [measured] = r.details!.sessionPools as { reused: number; created: number; efficiency: number }[];
  expect(measured.reused + measured.created).toBe(40);
  expect(measured.created).toBeGreaterThanOrEqual(1); // bursts of 8 on sessions of 4: the pool grew
  expect(measured.efficiency).toBeGreaterThanOrEqual(0.9);
  expect(r.summary).toMatch(/^memory\/primary: \d sessions, reuse \d+\.\d% \(\d+ reused, \d+ opened\)$/);
  rmSync(dir, { recursive: true, force: true });
});

test('trafficShift adds a second backend to a real upstream, checks both splits from the statistics, and removes it again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-shift-'));
  const inner = await startTestGateway({ servers: { memory: memory(marker, join(dir, 'memory.jsonl'), { prefix: false }) } }, marker);
  gateways.push(inner);
  const gw = await gateway({ memory: { url: `${inner.url}/mcp`, prefix: 'memory' } });
  const r = await trafficShift(input(gw));
  expect(r).toMatchObject({ outcome: 'passed', details: { server: 'memory', even: { primary: 10, 'mesh-check': 10 }, all: { primary: 20, 'mesh-check': 0 } } });
  expect(gw.registry.get('memory').specs.map((s) => [s.id, s.weight])).toEqual([['primary', 100]]);

  // a gateway whose only server is a local process has nothing to shift
  const local = await gateway({ echo: scripted(marker, ['--tools', 'echo']) });
  expect(await trafficShift(input(local))).toMatchObject({ outcome: 'failed', summary: expect.stringMatching(/^nothing to shift/) });
  rmSync(dir, { recursive: true, force: true });
});
