/**
 * The upstream-span stage: each attempt of a call gets one client span, a child of the gateway's
 * span for the call, naming the backend and the upstream session's era, and the upstream request
 * carries that span as its parent. Spans are recorded by the real OpenTelemetry SDK into its
 * in-memory exporter; the stage after it is a stand-in that answers as an upstream would (the
 * end-to-end trace through a real collector is test/observability/otlp-traces.test.ts).
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import pino from 'pino';
import { FleetError } from '../../protocol/errors';
import type { JsonRpcResponse } from '../../protocol/jsonrpc';
import type { Backend } from '../../servers/backend';
import type { ServerGroup } from '../../servers/group';
import type { UpstreamConnection } from '../../upstream/connection';
import { Cancellation, type Call, type Next } from '../context';
import type { TraceContext } from '../trace-context';
import { upstreamSpanStage } from './upstream-span';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const stage = upstreamSpanStage(provider.getTracer('test'));

const HOP: TraceContext = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: '01' };

function callOf(backend: string, extra: Partial<Call> = {}): Call {
  return {
    request: { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'crm__lookup' } },
    client: {} as Call['client'],
    cancellation: new Cancellation(),
    params: { name: 'lookup' },
    meta: {},
    log: pino({ level: 'silent' }),
    group: { name: 'crm' } as ServerGroup,
    want: { kind: 'tool', name: 'lookup' },
    backend: { id: backend } as Backend,
    connection: { era: 'modern' } as UpstreamConnection,
    trace: HOP,
    ...extra,
  };
}

const ok: JsonRpcResponse = { jsonrpc: '2.0', id: 7, result: { content: [] } };

/** The traceparent each upstream request went with, and the stand-in upstream's answer. */
function upstream(answer: (call: Call) => JsonRpcResponse | Promise<never> = () => ok) {
  const sent: string[] = [];
  const next: Next = async (call) => {
    sent.push(String(call.meta.traceparent));
    return answer(call);
  };
  return { sent, next };
}

beforeEach(() => exporter.reset());
afterAll(() => provider.shutdown());

describe('the upstream-span stage', () => {
  it("starts one client span per attempt under the gateway's span, and sends it upstream as the request's parent", async () => {
    const { sent, next } = upstream();
    await stage(callOf('b1'), next);
    await stage(callOf('b2', { connection: { era: 'legacy' } as UpstreamConnection }), next);
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(2);
    for (const [i, span] of spans.entries()) {
      expect(span.name).toBe('tools/call lookup');
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(span.spanContext().traceId).toBe(HOP.traceId);
      expect(span.parentSpanContext?.spanId).toBe(HOP.spanId);
      expect(sent[i]).toBe(`00-${HOP.traceId}-${span.spanContext().spanId}-01`);
    }
    expect(spans.map((s) => s.attributes)).toEqual([
      expect.objectContaining({
        'mcp_fleet.server': 'crm',
        'mcp_fleet.backend': 'b1',
        'mcp_fleet.era': 'modern',
        'gen_ai.tool.name': 'lookup',
        'mcp_fleet.outcome': 'ok',
      }),
      expect.objectContaining({ 'mcp_fleet.backend': 'b2', 'mcp_fleet.era': 'legacy' }),
    ]);
    expect(spans[0].spanContext().spanId).not.toBe(spans[1].spanContext().spanId);
  });

  it('names no era when the call has no upstream session of its own', async () => {
    await stage(callOf('b1', { connection: undefined }), upstream().next);
    expect(exporter.getFinishedSpans()[0].attributes).not.toHaveProperty(['mcp_fleet.era']);
  });

  it("marks the span failed with the upstream's JSON-RPC error, and with the thrown error, which still reaches the caller", async () => {
    const refused = upstream(() => ({ jsonrpc: '2.0', id: 7, error: { code: -32602, message: 'no such id' } }));
    await stage(callOf('b1'), refused.next);
    const gone = new FleetError('UPSTREAM_UNAVAILABLE', 'server "crm" disconnected');
    await expect(stage(callOf('b2'), upstream(() => Promise.reject(gone)).next)).rejects.toBe(gone);
    const [answered, thrown] = exporter.getFinishedSpans();
    expect(answered.status).toEqual({ code: SpanStatusCode.ERROR, message: 'no such id' });
    expect(answered.attributes).toMatchObject({ 'error.type': '-32602', 'rpc.response.status_code': '-32602', 'mcp_fleet.outcome': 'error' });
    expect(thrown.status.code).toBe(SpanStatusCode.ERROR);
    expect(thrown.attributes).toMatchObject({ 'error.type': 'UPSTREAM_UNAVAILABLE' });
    expect(thrown.events.map((e) => e.name)).toEqual(['exception']);
  });

  it("keeps the client's decision not to sample: no span is recorded and the upstream is told so", async () => {
    const { sent, next } = upstream();
    await stage(callOf('b1', { trace: { ...HOP, flags: '00' } }), next);
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    expect(sent[0]).toMatch(new RegExp(`^00-${HOP.traceId}-[0-9a-f]{16}-00$`));
  });

  it('is a wiring error when the tracing or picking stage did not run first', async () => {
    await expect(async () => stage(callOf('b1', { trace: undefined }), upstream().next)).rejects.toThrow(/the trace is not set/);
    await expect(async () => stage(callOf('b1', { backend: undefined }), upstream().next)).rejects.toThrow(/the backend is not set/);
  });
});
