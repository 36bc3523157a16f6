/**
 * The trace export (config `tracing`) against a real tracing backend: Jaeger v2, fed over OTLP/HTTP
 * and read back through its query API. A client's trace continues through the gateway to the
 * upstream (client span → the gateway's server span → the upstream request's client span → the
 * server's traceparent); failures are recorded on the spans; sampling follows the client's flag
 * and the ratio; a stopped collector or one that never answers costs no call anything and holds
 * at most the bound of spans, every span is accounted for once, and the export recovers when
 * the collector is back.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { SpanKind, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { connectClient, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { startDevJaeger, type DevJaeger, type JaegerSpan } from '../helpers/jaeger';
import { sampleValue, scrapeMetrics } from '../helpers/metrics';
import { freePort } from '../helpers/ports';
import { waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';

const marker = newMarker();
const SERVICE = `mcp-gateway-${marker.slice(0, 8)}`;
let jaeger: DevJaeger;
let gw: TestGateway | undefined;
let clientProvider: TracerProvider;
let clientTracer: Tracer;

beforeAll(async () => {
  jaeger = await startDevJaeger();
  // the client's own spans go to the same backend, as an instrumented agent's would
  clientProvider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'otel-test-client' }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: new OTLPTraceExporter({ url: jaeger.otlpUrl }) })],
  });
  clientTracer = clientProvider.getTracer('otlp-traces.test');
});

afterAll(async () => {
  await clientProvider?.shutdown();
  await jaeger?.close();
});

afterEach(async () => {
  await gw?.stop();
  gw = undefined;
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

type Received = { receivedParams: { _meta: { traceparent: string } } };
const SERVER = () => ({ s: scripted(marker, ['--tools', 'echo,fail,tool_error,crash']) });

function tracedGateway(tracing: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<TestGateway> {
  return startTestGateway({ tracing: { enabled: true, endpoint: jaeger.otlpUrl, serviceName: SERVICE, ...tracing }, servers: SERVER(), ...extra }, marker);
}

/** The trace once Jaeger has `count` spans of it. */
function traceOf(traceId: string, count: number): Promise<JaegerSpan[]> {
  return waitFor(async () => {
    const spans = await jaeger.trace(traceId);
    return spans && spans.length >= count ? spans : undefined;
  }, `${count} spans of trace ${traceId} in Jaeger`);
}

const gatewaySpan = (spans: JaegerSpan[], kind: 'server' | 'client') => spans.find((s) => s.service === SERVICE && s.kind === kind)!;
const callLines = () => gw!.logs.filter((l) => l.msg === 'call');

async function spanCounts(): Promise<{ exported: number; failed: number; dropped: number; pending: number }> {
  const samples = await scrapeMetrics(gw!);
  const count = (outcome: string) => sampleValue(samples, 'mcp_gateway_trace_spans_total', { outcome }) ?? NaN;
  return {
    exported: count('exported'),
    failed: count('failed'),
    dropped: count('dropped'),
    pending: sampleValue(samples, 'mcp_gateway_trace_spans_pending') ?? NaN,
  };
}

test("a client's trace continues through the gateway to the upstream: client → gateway → upstream request spans in Jaeger", async () => {
  gw = await tracedGateway({ batch: { scheduledDelayMs: 50 } });
  const client = await connectClient(gw, 'streamable-http');
  try {
    const span = clientTracer.startSpan('tools/call echo', { kind: SpanKind.CLIENT });
    const { traceId, spanId } = span.spanContext();
    const r = (await client.callTool({ name: 's__echo', arguments: {}, _meta: { traceparent: `00-${traceId}-${spanId}-01` } })) as unknown as Received;
    span.end();

    const spans = await traceOf(traceId, 3);
    const hop = gatewaySpan(spans, 'server');
    const upstream = gatewaySpan(spans, 'client');
    expect(spans.find((s) => s.service === 'otel-test-client')).toMatchObject({ spanID: spanId, parent: undefined });
    expect(hop).toMatchObject({
      parent: spanId,
      operationName: 'tools/call echo',
      tags: expect.objectContaining({
        'mcp.method.name': 'tools/call',
        'gen_ai.tool.name': 'echo',
        'mcp_fleet.server': 's',
        'mcp_fleet.era': 'legacy',
        'mcp_fleet.outcome': 'ok',
      }),
    });
    expect(upstream).toMatchObject({
      parent: hop.spanID,
      operationName: 'tools/call echo',
      tags: expect.objectContaining({ 'mcp_fleet.server': 's', 'mcp_fleet.backend': 'primary', 'mcp_fleet.outcome': 'ok' }),
    });
    expect(hop.tags.error).toBeUndefined();
    // the server continues from the attempt that reached it; the call line names the gateway's span
    expect(r.receivedParams._meta.traceparent).toBe(`00-${traceId}-${upstream.spanID}-01`);
    expect(callLines()).toEqual([expect.objectContaining({ trace: traceId, span: hop.spanID, parent: spanId, outcome: 'ok' })]);
  } finally {
    await client.close();
  }
});

test('failures are recorded on the spans: a JSON-RPC error, a tool error and a server that died under the call', async () => {
  gw = await tracedGateway({ batch: { scheduledDelayMs: 50 } });
  const client = await connectClient(gw, 'streamable-http');
  try {
    await expect(client.callTool({ name: 's__fail', arguments: {} })).rejects.toThrow(/failed on purpose/);
    await client.callTool({ name: 's__tool_error', arguments: {} });
    await expect(client.callTool({ name: 's__crash', arguments: {} })).rejects.toThrow();
    const traces = callLines().map((l) => String(l.trace));
    expect(traces).toHaveLength(3);
    const [failed, toolError, crashed] = await Promise.all(traces.map((t) => traceOf(t, 2)));

    expect(gatewaySpan(failed, 'server').tags).toMatchObject({
      error: true,
      'error.type': '-32603',
      'rpc.response.status_code': '-32603',
      'mcp_fleet.outcome': 'error',
    });
    expect(gatewaySpan(failed, 'client').tags).toMatchObject({ error: true, 'error.type': '-32603' });
    expect(gatewaySpan(toolError, 'server').tags).toMatchObject({ error: true, 'error.type': 'tool_error', 'mcp_fleet.outcome': 'tool_error' });
    for (const kind of ['server', 'client'] as const) {
      const span = gatewaySpan(crashed, kind);
      expect(span.tags).toMatchObject({ error: true, 'mcp_fleet.outcome': 'error', 'error.type': expect.stringMatching(/^UPSTREAM_/) });
      expect(span.events).toContain('exception');
    }
  } finally {
    await client.close();
  }
});

test("sampling: a client's unsampled trace stays unrecorded, and the ratio decides for the gateway's own traces", async () => {
  gw = await tracedGateway({ samplingRatio: 0, batch: { scheduledDelayMs: 50 } });
  const client = await connectClient(gw, 'streamable-http');
  try {
    const unsampled = '0af7651916cd43dd8448eb211c80319c';
    const r = (await client.callTool({ name: 's__echo', arguments: {}, _meta: { traceparent: `00-${unsampled}-b7ad6b7169203331-00` } })) as unknown as Received;
    // the decision travels on: the server is told not to record either
    expect(r.receivedParams._meta.traceparent).toMatch(new RegExp(`^00-${unsampled}-[0-9a-f]{16}-00$`));
    await client.callTool({ name: 's__echo', arguments: {} });
    const ownTrace = String(callLines()[1].trace);
    // a sampled client trace is recorded whatever the ratio (parent-based)
    const sampled = clientTracer.startSpan('sampled');
    const { traceId, spanId } = sampled.spanContext();
    await client.callTool({ name: 's__echo', arguments: {}, _meta: { traceparent: `00-${traceId}-${spanId}-01` } });
    sampled.end();
    await traceOf(traceId, 3);
    // spans leave in the order they ended: once the last call's two are answered for, nothing else was sent
    await waitFor(async () => (await spanCounts()).pending === 0, 'no span pending');
    expect(await spanCounts()).toEqual({ exported: 2, failed: 0, dropped: 0, pending: 0 });
    expect(await jaeger.trace(unsampled)).toBeUndefined();
    expect(await jaeger.trace(ownTrace)).toBeUndefined();
  } finally {
    await client.close();
  }
});

test('a collector that never answers holds no call: the calls finish while its export hangs, and at most the bound of spans wait', async () => {
  const hole = await blackhole();
  const bound = 6;
  try {
    gw = await tracedGateway({ endpoint: hole.url, batch: { maxQueueSize: bound, maxExportBatchSize: 2, scheduledDelayMs: 20, exportTimeoutMs: 60_000 } });
    const client = await connectClient(gw, 'streamable-http');
    try {
      await client.callTool({ name: 's__echo', arguments: {} });
      await waitFor(() => hole.requests > 0, 'an export request at the collector');
      const calls = 20;
      const results = await Promise.all(Array.from({ length: calls }, () => client.callTool({ name: 's__echo', arguments: {} })));
      expect(results.every((r) => r.isError !== true)).toBe(true);
      // every call answered while the collector still holds the first export, unanswered
      expect(hole.answered).toBe(0);
      expect(hole.open).toBeGreaterThan(0);
      const held = await spanCounts();
      expect(held.pending).toBeLessThanOrEqual(bound);
      expect(held.dropped).toBeGreaterThanOrEqual(2 * (calls + 1) - bound);
      // the collector comes to: what was held goes out, and stopping flushes the rest
      hole.answerAll();
      await waitFor(async () => (await spanCounts()).pending === 0, 'the held spans to be answered for');
      const after = await spanCounts();
      expect(after.exported + after.failed + after.dropped).toBe(2 * (calls + 1));
      expect(after.exported).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  } finally {
    await gw?.stop();
    gw = undefined;
    await hole.close();
  }
});

test('a stopped collector: calls go on, failed and dropped spans are counted with one warning, and the export recovers when it is back', async () => {
  const bound = 8;
  gw = await tracedGateway({ batch: { maxQueueSize: bound, maxExportBatchSize: 4, scheduledDelayMs: 20, exportTimeoutMs: 1500 } });
  const client = await connectClient(gw, 'streamable-http');
  const warnings = () => gw!.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('trace export failing'));
  let calls = 0;
  const call = async (meta?: Record<string, unknown>) => {
    calls++;
    const r = await client.callTool({ name: 's__echo', arguments: {}, ...(meta ? { _meta: meta } : {}) });
    expect(r.isError).not.toBe(true);
  };
  try {
    await jaeger.stop();
    await Promise.all(Array.from({ length: 20 }, () => call()));
    expect((await spanCounts()).pending).toBeLessThanOrEqual(bound);
    await waitFor(async () => (await spanCounts()).failed > 0, 'a failed export counted');
    expect((await spanCounts()).dropped).toBeGreaterThan(0);
    expect(warnings()).toEqual([expect.objectContaining({ level: 40, endpoint: jaeger.otlpUrl, err: expect.stringMatching(/ECONNREFUSED/) })]);

    await jaeger.start();
    const span = clientTracer.startSpan('after the outage');
    const { traceId, spanId } = span.spanContext();
    await waitFor(async () => {
      await call({ traceparent: `00-${traceId}-${spanId}-01` });
      return (await jaeger.trace(traceId)) !== undefined;
    }, 'a trace in Jaeger after it came back');
    span.end();
    expect(gw.logs.filter((l) => l.msg === 'trace export works again')).toHaveLength(1);
    expect(warnings()).toHaveLength(1);
    // every span ended is accounted for once: exported, failed or dropped
    await waitFor(async () => (await spanCounts()).pending === 0, 'no span pending');
    const counts = await spanCounts();
    expect(counts.exported + counts.failed + counts.dropped).toBe(2 * calls);
  } finally {
    await client.close();
  }
});

/** A TCP server that takes HTTP requests and answers none until answerAll(), then answers every one (and later ones) with 200. */
async function blackhole(): Promise<{ url: string; requests: number; open: number; answered: number; answerAll(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const held: Socket[] = [];
  let answering = false;
  const state = { requests: 0, answered: 0 };
  const answer = (socket: Socket) => {
    state.answered++;
    socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n');
  };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      // a request is its headers and content-length bytes of body (the exporter sends no chunked bodies)
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length: *(\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        buffered = buffered.slice(end + 4 + length);
        state.requests++;
        if (answering) answer(socket);
        else held.push(socket);
      }
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    get requests() {
      return state.requests;
    },
    get open() {
      return sockets.size;
    },
    get answered() {
      return state.answered;
    },
    answerAll() {
      answering = true;
      for (const socket of held.splice(0)) answer(socket);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
