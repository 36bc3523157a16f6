/**
 * Breakers, retries and timeouts with real parts: one server with two real scripted backends
 * (blue, the config's, and green, added through the admin API), killed for real (the `crash` tool
 * exits the process). A backend that dies opens its breaker (admin API, readiness and metrics show
 * it) and takes no traffic until a probe after halfOpenAfterMs succeeds; an idempotent call in
 * flight on it is retried on the other and succeeds, a non-idempotent one is not and gets the
 * error; with every breaker open a call fails at once and readiness says not ready until a probe
 * may go through. The same for two 2026-07-28 servers over
 * HTTP, one stopped and started again on its port. A tool over its timeout is cancelled upstream
 * and the client is told which setting it hit.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import type { LogLine } from '../helpers/log-lines';
import { parseBackendBody } from '../../gateway/admin/bodies';
import { admin, startAdminGateway } from '../helpers/admin';
import { requireCurrentBuild } from '../helpers/dist';
import { startCounterHttp } from '../helpers/fixture-servers';
import type { RemoteServer } from '../helpers/remote-servers';
import { scrapeMetrics, sampleValue } from '../helpers/metrics';
import { waitForNoProcesses } from '../helpers/processes';
import { scripted, sleeping } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';

const TOOLS = 'echo,sleep,sleep_write,crash,fail,tool_error';
/** `sleep` is annotated idempotentHint; `sleep_write` sleeps the same way and is not safe to repeat. */
const serverArgs = (name: string) => ['--tools', TOOLS, '--name', name, '--idempotent', 'sleep'];
/** Long enough that the checks between a breaker opening and its probe never see it elapse. */
const HALF_OPEN_AFTER_MS = 5000;

/** Whether a log line is a `sleeping <id>` line of one backend's stderr: a call of sleep or sleep_write it started. */
const sleepingOn = (backend: string) => (l: LogLine) => sleeping('svc')(l) && l.backend === backend;

async function backends(gw: TestGateway): Promise<Record<string, any>> {
  const server = (await admin(gw, 'GET', '/admin/servers')).body.servers.find((s: { name: string }) => s.name === 'svc');
  return Object.fromEntries(server.backends.map((b: { id: string }) => [b.id, b]));
}

async function whoAnswers(client: Client): Promise<string> {
  const r = await client.callTool({ name: 'svc__echo', arguments: {} });
  return String((r.content as { text: string }[])[0].text).split(':')[0];
}

describe('a server with two backends, a breaker and retries', () => {
  const marker = newMarker();
  let gw: TestGateway;
  let client: Client;

  /** Makes `id` the next pick (a weight change starts a fresh round-robin cycle) while the other keeps a share. */
  const prefer = (id: 'primary' | 'green') =>
    admin(gw, 'PUT', '/admin/servers/svc/weights', { body: id === 'green' ? { primary: 1, green: 100 } : { primary: 100, green: 1 } });

  /** Kills green's process for real while `pending` is in flight on it. */
  const killGreen = async () => {
    const green = gw.registry.groupFor(undefined, 'svc')!.backend('green')!;
    await expect(green.connection!.request('tools/call', { name: 'crash', arguments: {} }, { timeoutMs: 5000 }).response).rejects.toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
    });
  };

  beforeAll(async () => {
    gw = await startAdminGateway(marker, {
      svc: scripted(marker, serverArgs('blue'), {
        breaker: { consecutive: 1, halfOpenAfterMs: HALF_OPEN_AFTER_MS },
        retry: { attempts: 2, backoff: { initialMs: 10, maxMs: 50 } },
      }),
    });
    const { command, args, env } = scripted(marker, serverArgs('green'));
    expect(await admin(gw, 'POST', '/admin/servers/svc/backends', { body: { id: 'green', command, args, env, weight: 100 } })).toMatchObject({
      status: 201,
      body: { state: 'ready' },
    });
    client = await connectClient(gw, 'streamable-http');
  });

  afterAll(async () => {
    await disconnect(client);
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('never opens a breaker for what a live server answered: a JSON-RPC error, a tool error', async () => {
    for (const id of ['primary', 'green'] as const) {
      await prefer(id);
      await expect(client.callTool({ name: 'svc__fail', arguments: {} })).rejects.toThrow(/failed on purpose/);
      await prefer(id);
      expect(await client.callTool({ name: 'svc__tool_error', arguments: {} })).toMatchObject({ isError: true });
    }
    expect(await backends(gw)).toMatchObject({ primary: { breaker: { state: 'closed', opened: 0 } }, green: { breaker: { state: 'closed', opened: 0 } } });
  });

  it('retries an idempotent call whose backend died on the other backend, and opens the dead one’s breaker', async () => {
    const retriesBefore = sampleValue(await scrapeMetrics(gw), 'mcp_gateway_retries_total', { server: 'svc', method: 'tools/call' }) ?? 0;
    await prefer('green');
    const from = gw.logs.length;
    const call = client.callTool({ name: 'svc__sleep', arguments: { ms: 200 } });
    await gw.waitForLog(sleepingOn('green'), 'the call to run on green', { from });
    await killGreen();
    expect(await call).toMatchObject({ content: [{ text: 'slept 200' }] });
    // the retry ran on blue, once (blue's stderr line and its answer on stdout arrive in either order)
    await gw.waitForLog(sleepingOn('primary'), 'the retry to run on blue', { from });
    expect(gw.logs.slice(from).filter(sleepingOn('primary'))).toHaveLength(1);

    expect((await backends(gw)).green.breaker).toMatchObject({ state: 'open', opened: 1, lastFault: expect.stringMatching(/server "svc" disconnected/) });
    const metrics = await scrapeMetrics(gw);
    expect(sampleValue(metrics, 'mcp_gateway_retries_total', { server: 'svc', method: 'tools/call' })).toBe(retriesBefore + 1);
    expect(sampleValue(metrics, 'mcp_gateway_breaker_state', { server: 'svc', backend: 'green', state: 'open' })).toBe(1);
    expect(sampleValue(metrics, 'mcp_gateway_breaker_state', { server: 'svc', backend: 'green', state: 'closed' })).toBe(0);
    expect(sampleValue(metrics, 'mcp_gateway_breaker_state', { server: 'svc', backend: 'primary', state: 'closed' })).toBe(1);
    expect((await admin(gw, 'GET', '/admin/stats')).body.servers.svc.green).toMatchObject({ calls: expect.any(Number), breaker: { state: 'open', opened: 1 } });
    const readiness = (await (await fetch(`${gw.url}/health/readiness`)).json()) as { servers: Record<string, any> };
    expect(readiness.servers.svc.backends.green.breaker).toMatchObject({ state: 'open' });
  });

  it('keeps an open breaker’s backend out of picking after it is back, then closes on a successful probe', async () => {
    await waitFor(async () => (await backends(gw)).green.state === 'ready', 'green to restart');
    await prefer('green');
    const served = [await whoAnswers(client), await whoAnswers(client), await whoAnswers(client)];
    // checked after the calls: the breaker was open during all of them
    expect((await backends(gw)).green.breaker.state).toBe('open');
    expect(served).toEqual(['blue', 'blue', 'blue']);

    // after halfOpenAfterMs the next call picked for green probes it, and its answer closes the breaker
    await waitFor(async () => (await whoAnswers(client)) === 'green', 'a probe to reach green', 3 * HALF_OPEN_AFTER_MS);
    expect((await backends(gw)).green.breaker).toMatchObject({ state: 'closed', opened: 1 });
    await prefer('green');
    expect(await whoAnswers(client)).toBe('green');
  });

  it('does not retry a call that is not safe to repeat once it reached the backend that died', async () => {
    const retriesBefore = sampleValue(await scrapeMetrics(gw), 'mcp_gateway_retries_total', { server: 'svc', method: 'tools/call' }) ?? 0;
    await prefer('green');
    const from = gw.logs.length;
    const call = client.callTool({ name: 'svc__sleep_write', arguments: { ms: 200 } });
    await gw.waitForLog(sleepingOn('green'), 'the call to run on green', { from });
    await killGreen();
    await expect(call).rejects.toThrow(/server "svc" disconnected/);
    expect(gw.logs.slice(from).filter(sleepingOn('primary'))).toEqual([]);
    expect(sampleValue(await scrapeMetrics(gw), 'mcp_gateway_retries_total', { server: 'svc', method: 'tools/call' })).toBe(retriesBefore);
    expect((await backends(gw)).green.breaker).toMatchObject({ state: 'open', opened: 2 });
  });

  it('fails a call at once with CIRCUIT_OPEN when every backend that could serve it has an open breaker', async () => {
    await prefer('primary');
    await expect(client.callTool({ name: 'svc__crash', arguments: {} })).rejects.toThrow(/server "svc"/); // blue dies: its breaker opens
    await waitFor(async () => Object.values(await backends(gw)).every((b) => b.state === 'ready'), 'both backends to restart');
    await expect(client.callTool({ name: 'svc__echo', arguments: {} })).rejects.toMatchObject({
      code: -32000,
      message: expect.stringMatching(/server "svc": every backend that could serve the request has an open circuit breaker \(primary, green\)/),
    });
    expect(await backends(gw)).toMatchObject({ primary: { breaker: { state: 'open' } }, green: { breaker: { state: 'open' } } });
  });

  it('is not ready while every backend of a required server holds its breaker open, and ready again once a probe may go through', async () => {
    const readiness = async () => {
      const res = await fetch(`${gw.url}/health/readiness`);
      return { status: res.status, body: (await res.json()) as any };
    };
    // both breakers opened in the test before, well within halfOpenAfterMs
    expect(await readiness()).toMatchObject({
      status: 503,
      body: {
        status: 'degraded',
        servers: {
          svc: {
            reason: 'every serving backend has an open circuit breaker',
            backends: { primary: { state: 'ready', breaker: { state: 'open' } }, green: { state: 'ready', breaker: { state: 'open' } } },
          },
        },
      },
    });
    // once the next request may probe a backend, ready again: a balancer then sends the traffic that closes it
    const ready = await waitFor(
      async () => ((r) => (r.status === 200 ? r : undefined))(await readiness()),
      'readiness once a probe may go through',
      3 * HALF_OPEN_AFTER_MS,
    );
    expect(ready.body.servers.svc.reason).toBeUndefined();
    expect(['blue', 'green']).toContain(await whoAnswers(client));
    expect(Object.values(await backends(gw)).some((b) => b.breaker.state === 'closed')).toBe(true);
  });
});

describe('per-tool timeouts', () => {
  const marker = newMarker();
  let gw: TestGateway;
  let client: Client;

  beforeAll(async () => {
    gw = await startTestGateway({ servers: { t: scripted(marker, ['--tools', 'echo,sleep'], { timeouts: { tools: { sleep: 300 } } }) } }, marker);
    client = await connectClient(gw, 'streamable-http');
  });

  afterAll(async () => {
    await disconnect(client);
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('cancels a tool call over its timeout upstream and tells the client which setting it hit', async () => {
    await expect(client.callTool({ name: 't__sleep', arguments: { ms: 30_000 } })).rejects.toMatchObject({
      code: -32001,
      message: expect.stringMatching(
        /tool "sleep" of server "t" did not finish within 300 ms \(servers\.t\.timeouts\.tools\.sleep\); the gateway cancelled it upstream/,
      ),
    });
    // the server was told: it logs the id of the request it stopped
    await gw.waitForLog((l) => l.server === 't' && l.stream === 'stderr' && String(l.msg).startsWith('cancelled '), 'the cancellation upstream');
    // other tools keep the server's requestTimeoutMs
    expect(await client.callTool({ name: 't__echo', arguments: {} })).toMatchObject({ content: [{ text: 'scripted:echo' }] });
  });
});

describe('two 2026-07-28 backends over HTTP, one stopped and started again', () => {
  const marker = newMarker();
  let gw: TestGateway;
  let client: Client;
  let counters: RemoteServer[] = [];

  beforeAll(async () => {
    requireCurrentBuild(['test/fixtures']);
    counters = [await startCounterHttp(marker), await startCounterHttp(marker)];
    gw = await startTestGateway(
      {
        servers: {
          ctr: {
            url: counters[0].url,
            breaker: { consecutive: 1, halfOpenAfterMs: HALF_OPEN_AFTER_MS },
            retry: { attempts: 1, backoff: { initialMs: 10, maxMs: 50 }, idempotentTools: ['wait'] },
            restart: { initialDelayMs: 100, maxDelayMs: 500 },
          },
        },
      },
      marker,
    );
    await gw.registry.addBackend('ctr', parseBackendBody({ id: 'twin', weight: 100, url: counters[1].url }, gw.registry.get('ctr').config));
    client = await connectClient(gw, 'streamable-http');
  });

  afterAll(async () => {
    if (client) await disconnect(client);
    await gw?.stop();
    for (const c of counters) await c.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('retries a call in flight on a backend that died on the twin, opens the breaker, and closes it once the server is back', async () => {
    const group = gw.registry.groupFor(undefined, 'ctr')!;
    const primary = group.backend('primary')!;
    const retries = async () => sampleValue(await scrapeMetrics(gw), 'mcp_gateway_retries_total', { server: 'ctr', method: 'tools/call' }) ?? 0;
    const before = await retries();
    gw.registry.setWeights('ctr', { primary: 100, twin: 1 }); // the next pick is primary
    // `wait` (marked idempotent in the config) runs until cancelled; without a progress token the client hears nothing of it
    const twin = group.backend('twin')!;
    const abort = new AbortController();
    const call = client.callTool({ name: 'ctr__wait', arguments: {} }, undefined, { signal: abort.signal });
    await waitFor(() => primary.outstanding === 1, 'the call to run on primary');
    await counters[0].stop();
    await waitFor(() => twin.outstanding === 1, 'the retry to run on the twin');
    expect(await retries()).toBe(before + 1);
    expect(primary.breaker!.report).toMatchObject({ state: 'open', opened: 1 });
    abort.abort('done');
    await expect(call).rejects.toThrow();
    // the twin ran it: it counts the cancellation (primary is down, so the twin answers the read)
    await waitFor(
      async () => ((await client.readResource({ uri: 'test://cancelled' })).contents[0] as { text?: string }).text === '1',
      'the twin to count the cancelled call',
    );

    counters[0] = await startCounterHttp(marker, counters[0].port);
    await waitFor(() => primary.ready, 'primary to reconnect');
    // after halfOpenAfterMs the next request picked for primary probes it; its answer closes the breaker
    await waitFor(
      async () => {
        await client.readResource({ uri: 'test://counter' });
        return primary.breaker!.state === 'closed';
      },
      'a probe to close the breaker',
      3 * HALF_OPEN_AFTER_MS,
    );
    expect(await retries()).toBe(before + 1);
  });

  it('does not retry a call whose client already heard its progress: it would start over', async () => {
    const group = gw.registry.groupFor(undefined, 'ctr')!;
    const retries = async () => sampleValue(await scrapeMetrics(gw), 'mcp_gateway_retries_total', { server: 'ctr', method: 'tools/call' }) ?? 0;
    const before = await retries();
    gw.registry.setWeights('ctr', { primary: 100, twin: 1 });
    let progress = 0;
    const call = client.callTool({ name: 'ctr__wait', arguments: {} }, undefined, { onprogress: () => void progress++ });
    await waitFor(() => progress === 1, 'the call to report progress on primary');
    await counters[0].stop();
    await expect(call).rejects.toThrow(/no answer to request \d+: the connection was lost/);
    expect([progress, group.backend('twin')!.outstanding, await retries()]).toEqual([1, 0, before]);
  });
});
