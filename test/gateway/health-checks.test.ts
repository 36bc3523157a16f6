/**
 * Health checks against real stdio servers. A server busy answering is never killed: not
 * server-filesystem reading a 24 MiB file (silent while it reads, its pings waiting behind the
 * answer; the gateway used to kill and restart it mid-answer), not one writing a long answer
 * slowly (its bytes are signs of life), not one whose event loop is blocked (degraded, not dead).
 * A real fault, a process stopped with SIGSTOP, makes its backend degraded, then down (the
 * process is replaced), or healthy again without a restart if it is continued before that;
 * readiness follows required servers only, and the metrics say the state.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { counterStdio } from '../helpers/fixture-servers';
import { connectClient, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { scrapeMetrics, sampleValue } from '../helpers/metrics';
import { processesWithMarker, waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';
import { filesystem } from '../helpers/servers';
import { waitFor } from '../helpers/wait';

const MiB = 1024 * 1024;
const RETRY = 'server unavailable; will retry';
const HEALTH = 'backend health changed';
const STATE = 'mcp_gateway_upstream_health_state';

interface Readiness {
  status: number;
  body: {
    status: string;
    servers: Record<string, { state: string; required: boolean; backends: Record<string, { state: string; health: { state: string } }> }>;
  };
}

async function readiness(gw: TestGateway): Promise<Readiness> {
  const res = await fetch(`${gw.url}/health/readiness`);
  return { status: res.status, body: (await res.json()) as Readiness['body'] };
}

const healthOf = (r: Readiness, server: string) => r.body.servers[server].backends.primary.health.state;

/** The health transitions the checks made, as logged for `server`. */
function transitions(gw: TestGateway, server: string): string[] {
  return gw.logs.filter((l) => l.msg === HEALTH && l.server === server).map((l) => `${l.from}->${l.to}`);
}

function backendOf(gw: TestGateway, server: string) {
  return gw.registry.groupFor(undefined, server)!.backends[0];
}

/** The one process carrying `marker` (each server here has its own). */
function onlyProcess(marker: string): number {
  const pids = processesWithMarker(marker);
  if (pids.length !== 1) throw new Error(`expected one process with marker ${marker}, found ${pids.length}`);
  return pids[0];
}

describe('health checks', () => {
  const markers: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-health-'));
  let gw: TestGateway | undefined;
  let client: Client | undefined;
  const marker = () => {
    markers.push(newMarker());
    return markers[markers.length - 1];
  };

  afterEach(async () => {
    await client?.close();
    await gw?.stop();
    client = gw = undefined;
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    for (const m of markers) expect(await waitForNoProcesses(m)).toEqual([]);
  });

  it('answers a 24 MiB file read from server-filesystem, busy far past the ping timeout, without a restart', async () => {
    const bigFile = join(dir, 'big.txt');
    const line = 'health checks and big files\n';
    writeFileSync(bigFile, line.repeat(Math.ceil((24 * MiB) / line.length)));
    // Pings every 20 ms with 100 ms to answer; down would take 50 misses in a row, seconds of
    // silence (the defaults give a server a minute: 3 × (15 s + 5 s)). One miss used to be enough.
    const fsMarker = marker();
    gw = await startTestGateway(
      {
        http: { maxBodyBytes: 64 * MiB },
        servers: { fs: filesystem(fsMarker, dir, { healthCheck: { intervalMs: 20, timeoutMs: 100, unhealthyThreshold: 50 } }) },
      },
      fsMarker,
    );
    const pid = onlyProcess(fsMarker);
    client = await connectClient(gw, 'streamable-http');
    const r = (await client.callTool({ name: 'fs__read_text_file', arguments: { path: bigFile } }, undefined, { timeout: 60_000 })) as {
      content: { text: string }[];
    };
    expect(r.content[0].text.length).toBe(line.length * Math.ceil((24 * MiB) / line.length));
    expect(gw.logs.filter((l) => l.msg === RETRY).map((l) => l.err)).toEqual([]);
    expect(gw.logs.filter((l) => l.msg === 'server connected')).toHaveLength(1);
    expect(transitions(gw, 'fs')).not.toContain('degraded->down');
    expect(onlyProcess(fsMarker)).toBe(pid);
  });

  it('takes the bytes of an answer still arriving as signs of life: pings waiting behind it fail no check', async () => {
    const m = marker();
    // Two misses in a row would take it down; its answer takes many ping timeouts to write.
    gw = await startTestGateway(
      { servers: { s: scripted(m, ['--tools', 'stream'], { healthCheck: { intervalMs: 20, timeoutMs: 200, unhealthyThreshold: 2 } }) } },
      m,
    );
    const pid = onlyProcess(m);
    client = await connectClient(gw, 'streamable-http');
    const call = client.callTool({ name: 's__stream', arguments: { bytes: 300_000, chunks: 150, everyMs: 10 } });
    // while the answer is written, the pings behind it time out, each with traffic: busy, a success
    await waitFor(
      () => backendOf(gw!, 's').health.reason.startsWith('busy: ping waited past its timeout'),
      'a ping that timed out during the answer',
      10_000,
      5,
    );
    expect(backendOf(gw, 's').healthState).not.toBe('down');
    const r = (await call) as { content: { text: string }[] };
    expect(r.content[0].text).toBe('s'.repeat(300_000));
    expect(gw.logs.filter((l) => l.msg === RETRY)).toEqual([]);
    expect(transitions(gw, 's')).not.toContain('degraded->down');
    expect(onlyProcess(m)).toBe(pid);
  });

  it('takes a server whose event loop is blocked for degraded, not dead: it still serves, and is healthy again after healthyThreshold successes', async () => {
    const m = marker();
    gw = await startTestGateway(
      {
        servers: {
          s: scripted(m, ['--tools', 'block,echo'], { healthCheck: { intervalMs: 20, timeoutMs: 100, unhealthyThreshold: 1000, healthyThreshold: 2 } }),
        },
      },
      m,
    );
    const pid = onlyProcess(m);
    client = await connectClient(gw, 'streamable-http');
    const call = client.callTool({ name: 's__block', arguments: { ms: 1500 } });
    await waitFor(() => backendOf(gw!, 's').healthState === 'degraded', 'the blocked server to be degraded', 10_000, 5);
    // degraded still serves: readiness stays 200
    const during = await readiness(gw);
    expect(during.status).toBe(200);
    expect(healthOf(during, 's')).toBe('degraded');
    expect(await call).toMatchObject({ content: [{ text: 'blocked 1500' }] });
    await waitFor(() => backendOf(gw!, 's').healthState === 'healthy', 'the server to be healthy again', 10_000, 5);
    expect(transitions(gw, 's')).toEqual(['healthy->degraded', 'degraded->healthy']);
    expect(gw.logs.find((l) => l.msg === HEALTH && l.to === 'healthy')).toMatchObject({ consecutiveSuccesses: 2, consecutiveFailures: 0 });
    expect(gw.logs.filter((l) => l.msg === RETRY)).toEqual([]);
    expect(onlyProcess(m)).toBe(pid);
  });

  it('makes a server stopped with SIGSTOP degraded, and healthy again after SIGCONT without a restart; the metrics follow', async () => {
    const m = marker();
    gw = await startTestGateway(
      { servers: { s: scripted(m, ['--tools', 'echo'], { healthCheck: { intervalMs: 20, timeoutMs: 100, unhealthyThreshold: 1000, healthyThreshold: 3 } }) } },
      m,
    );
    const pid = onlyProcess(m);
    const stateGauge = async (state: string) => sampleValue(await scrapeMetrics(gw!), STATE, { server: 's', backend: 'primary', state });
    expect(await stateGauge('healthy')).toBe(1);
    process.kill(pid, 'SIGSTOP');
    try {
      await waitFor(() => backendOf(gw!, 's').healthState === 'degraded', 'the stopped server to be degraded', 10_000, 5);
      expect([await stateGauge('healthy'), await stateGauge('degraded'), await stateGauge('down')]).toEqual([0, 1, 0]);
      expect((await readiness(gw)).status).toBe(200);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitFor(() => backendOf(gw!, 's').healthState === 'healthy', 'the continued server to be healthy', 10_000, 5);
    expect(await stateGauge('healthy')).toBe(1);
    expect(transitions(gw, 's')).toEqual(['healthy->degraded', 'degraded->healthy']);
    expect(gw.logs.find((l) => l.msg === HEALTH && l.to === 'healthy')).toMatchObject({ consecutiveSuccesses: 3 });
    expect(gw.logs.filter((l) => l.msg === RETRY)).toEqual([]);
    expect(onlyProcess(m)).toBe(pid);
    client = await connectClient(gw, 'streamable-http');
    expect(await client.callTool({ name: 's__echo', arguments: {} })).toMatchObject({ content: [{ text: 'scripted:echo' }] });
  });

  it('checks a 2026-07-28 server with server/discover: stopped, it is degraded for the discover it did not answer; continued, healthy', async () => {
    const m = marker();
    gw = await startTestGateway(
      {
        servers: {
          c: counterStdio(m, { protocol: '2026-07-28', healthCheck: { intervalMs: 20, timeoutMs: 100, unhealthyThreshold: 1000, healthyThreshold: 2 } }),
        },
      },
      m,
    );
    const pid = onlyProcess(m);
    process.kill(pid, 'SIGSTOP');
    try {
      await waitFor(() => backendOf(gw!, 'c').healthState === 'degraded', 'the stopped server to be degraded', 10_000, 5);
      expect(backendOf(gw, 'c').health.reason).toBe('server "c" did not answer server/discover within 100 ms');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitFor(() => backendOf(gw!, 'c').healthState === 'healthy', 'the continued server to be healthy', 10_000, 5);
    expect(gw.logs.filter((l) => l.msg === RETRY)).toEqual([]);
    expect(onlyProcess(m)).toBe(pid);
  });

  it('takes a server stopped for good down and replaces it; readiness fails for a required server only', async () => {
    const [reqMarker, optMarker] = [marker(), marker()];
    const [reqGate, optGate] = [join(dir, 'req-stays-down'), join(dir, 'opt-stays-down')];
    const healthCheck = { intervalMs: 20, timeoutMs: 100, unhealthyThreshold: 3 };
    gw = await startTestGateway(
      {
        servers: {
          req: scripted(reqMarker, ['--tools', 'echo', '--exit-if-exists', reqGate], { healthCheck }),
          opt: scripted(optMarker, ['--tools', 'echo', '--exit-if-exists', optGate], { healthCheck, required: false }),
        },
      },
      reqMarker,
    );
    const before = await readiness(gw);
    expect(before).toMatchObject({ status: 200, body: { status: 'ready', servers: { req: { required: true }, opt: { required: false } } } });
    expect([healthOf(before, 'req'), healthOf(before, 'opt')]).toEqual(['healthy', 'healthy']);

    // the optional server stops; while it is down (its restarts cannot start yet) the gateway stays ready
    writeFileSync(optGate, '');
    process.kill(onlyProcess(optMarker), 'SIGSTOP');
    const optDown = await waitFor(async () => {
      const r = await readiness(gw!);
      return healthOf(r, 'opt') === 'down' ? r : undefined;
    }, 'the optional server to be down');
    expect(optDown.status).toBe(200);
    expect(optDown.body.servers.opt.backends.primary.state).not.toBe('ready');
    expect(transitions(gw, 'opt')).toEqual(['healthy->degraded', 'degraded->down']);
    const samples = await scrapeMetrics(gw);
    expect(sampleValue(samples, STATE, { server: 'opt', state: 'down' })).toBe(1);
    expect(sampleValue(samples, STATE, { server: 'req', state: 'healthy' })).toBe(1);

    // the required one stops: not ready until it is back
    writeFileSync(reqGate, '');
    process.kill(onlyProcess(reqMarker), 'SIGSTOP');
    const reqDown = await waitFor(async () => {
      const r = await readiness(gw!);
      return r.status === 503 ? r : undefined;
    }, 'readiness to fail');
    expect(reqDown.body.status).toBe('degraded');
    expect(healthOf(reqDown, 'req')).toBe('down');
    expect(transitions(gw, 'req')).toEqual(['healthy->degraded', 'degraded->down']);
    // the connection is given up (a stopped process gets SIGKILL after the SIGTERM grace), then retried
    const retry = await waitFor(() => gw!.logs.find((l) => l.msg === RETRY && l.server === 'req'), 'the reconnect of req');
    expect(retry.err).toMatch(
      /^health check failed: 3 requests in a row got no answer and no traffic \(last: server "req" did not answer ping within 100 ms\)$/,
    );

    // both may start again: replaced by new processes, healthy, ready
    rmSync(reqGate);
    rmSync(optGate);
    const after = await waitFor(async () => {
      const r = await readiness(gw!);
      return r.status === 200 && healthOf(r, 'req') === 'healthy' && healthOf(r, 'opt') === 'healthy' ? r : undefined;
    }, 'both servers back');
    expect(after.body.status).toBe('ready');
    // the stopped processes were killed; each server runs one new one
    await waitFor(() => processesWithMarker(reqMarker).length === 1 && processesWithMarker(optMarker).length === 1, 'one process per server');
  });
});
