/**
 * Tracing and the call line are live settings: a hot reload (SIGHUP) turns the trace export on,
 * changes it and turns it off, and the `call` line off and on, with no restart. The client keeps
 * its session throughout, and each call is traced and logged as the config in force says.
 * Real parts: the gateway CLI as its own process, Jaeger, an SDK client.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { connectGateway, type GatewayConnection } from '../../gateway/client/connect';
import { newMarker } from '../helpers/gateway';
import { spawnGateway, stopGatewayProcess, writeGatewayConfig, type GatewayProcess } from '../helpers/gateway-process';
import { startDevJaeger, type DevJaeger } from '../helpers/jaeger';
import { sampleValue, scrapeMetrics } from '../helpers/metrics';
import { waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';

const marker = newMarker();
let jaeger: DevJaeger;
let gw: GatewayProcess | undefined;
let connection: GatewayConnection | undefined;

beforeAll(async () => {
  jaeger = await startDevJaeger();
});

afterAll(async () => {
  await jaeger?.close();
});

afterEach(async () => {
  await connection?.close();
  connection = undefined;
  if (gw) await stopGatewayProcess(gw);
  gw = undefined;
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

type Received = { receivedParams: { _meta: { traceparent: string } } };

const doc = (settings: Record<string, unknown>) => ({ reload: { watch: false }, servers: { s: scripted(marker, ['--tools', 'echo']) }, ...settings });
const tracing = (serviceName: string, extra: Record<string, unknown> = {}) => ({
  enabled: true,
  endpoint: jaeger.otlpUrl,
  serviceName,
  batch: { scheduledDelayMs: 50 },
  ...extra,
});

/** Writes the new config in one rename and reloads it with SIGHUP; resolves with the reload's line. */
async function reload(next: Record<string, unknown>) {
  const from = gw!.logs.length;
  writeGatewayConfig(gw!, next);
  gw!.child.kill('SIGHUP');
  return gw!.waitForLog((l) => l.msg === 'config reloaded', 'the SIGHUP reload', { from });
}

/** Calls echo; resolves with the trace id the server received. */
async function call(): Promise<string> {
  const r = (await connection!.client.callTool({ name: 's__echo', arguments: {} })) as unknown as Received;
  return r.receivedParams._meta.traceparent.split('-')[1];
}

/** The services of the spans Jaeger holds of `traceId`, once it has `count` of them. */
function servicesOf(traceId: string, count: number): Promise<string[]> {
  return waitFor(async () => {
    const spans = await jaeger.trace(traceId);
    return spans && spans.length >= count ? spans.map((s) => s.service).sort() : undefined;
  }, `${count} spans of trace ${traceId} in Jaeger`);
}

const exportedSpans = async () => sampleValue(await scrapeMetrics(gw!), 'mcp_gateway_trace_spans_total', { outcome: 'exported' });

test('a reload turns tracing on, changes it and turns it off, and the call line off and on, while the session stays', async () => {
  const first = `live-${marker.slice(0, 8)}-a`;
  const second = `live-${marker.slice(0, 8)}-b`;
  gw = await spawnGateway(doc({}), marker);
  connection = await connectGateway(gw.url, 'streamable-http', { name: 'live-tracing-test', version: '1.0.0' });
  const session = connection.client.transport?.sessionId;

  // off, as by default: ids only, no export, no export metrics
  const untraced = await call();
  expect(await exportedSpans()).toBeUndefined();

  expect(await reload(doc({ tracing: tracing(first) }))).toMatchObject({ swapped: ['tracing'], needsRestart: [] });
  const traced = await call();
  expect(await servicesOf(traced, 2)).toEqual([first, first]);

  // a changed export (another service name, the call line off): the next call goes to the new one, unlogged
  expect(await reload(doc({ tracing: tracing(second), log: { calls: false } }))).toMatchObject({ needsRestart: [] });
  const renamed = await call();
  expect(await servicesOf(renamed, 2)).toEqual([second, second]);

  // off again, the call line back on; the export counters stay, and count no more
  expect(await reload(doc({ log: { calls: true } }))).toMatchObject({ swapped: expect.arrayContaining(['tracing', 'log.calls']), needsRestart: [] });
  await waitFor(async () => (await exportedSpans()) === 4, 'the 4 spans of the two traced calls counted as exported');
  const lastUntraced = await call();
  await gw.waitForLog((l) => l.msg === 'call' && l.trace === lastUntraced, 'the last call line');
  expect(await exportedSpans()).toBe(4);
  expect(await jaeger.trace(lastUntraced)).toBeUndefined();
  expect(await jaeger.trace(untraced)).toBeUndefined();

  // every call had its line but the one made while the call line was off, and all on the one session
  expect(gw.logs.filter((l) => l.msg === 'call').map((l) => l.trace)).toEqual([untraced, traced, lastUntraced]);
  expect(connection.client.transport?.sessionId).toBe(session);
  expect(gw.logs.filter((l) => l.msg === 'client session opened')).toHaveLength(1);
  expect(gw.logs.filter((l) => l.msg === 'client session closed')).toEqual([]);
});

test('an export a reload ended still counts what it holds as pending until its collector answers for it or its timeout passes', async () => {
  // a collector that takes the connection and never answers
  const held = new Set<Socket>();
  const silent = createServer((socket) => held.add(socket));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/v1/traces`;
  try {
    const spans = async () => {
      const samples = await scrapeMetrics(gw!);
      return {
        pending: sampleValue(samples, 'mcp_gateway_trace_spans_pending'),
        failed: sampleValue(samples, 'mcp_gateway_trace_spans_total', { outcome: 'failed' }),
      };
    };
    gw = await spawnGateway(doc({ tracing: { enabled: true, endpoint, batch: { scheduledDelayMs: 50, exportTimeoutMs: 3000 } } }), marker);
    connection = await connectGateway(gw.url, 'streamable-http', { name: 'live-tracing-test', version: '1.0.0' });
    await call();
    expect(await spans()).toEqual({ pending: 2, failed: 0 });

    await reload(doc({}));
    // tracing is off, and the ended export still waits for its collector
    expect(await spans()).toEqual({ pending: 2, failed: 0 });
    await waitFor(async () => (await spans()).pending === 0, 'the ended export to give up on its collector');
    expect(await spans()).toEqual({ pending: 0, failed: 2 });
  } finally {
    for (const socket of held) socket.destroy();
    await new Promise((r) => silent.close(r));
  }
});
