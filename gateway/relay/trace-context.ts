/**
 * W3C trace context carried in MCP's `_meta.traceparent` (the key the OpenTelemetry MCP
 * conventions use): a forwarded call continues the client's trace, or starts one, and the
 * gateway's hop gets its own span id, so one trace id ties the client, every gateway on the way
 * and the server together in their logs.
 */
import { randomBytes } from 'node:crypto';

export interface TraceContext {
  traceId: string;
  /** The gateway's span for this hop: the parent of whatever the upstream does. */
  spanId: string;
  /** The caller's span, when the client sent a valid traceparent. */
  parentSpanId?: string;
  flags: string;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZEROS = /^0+$/;

export function continueTrace(meta: Record<string, unknown> | undefined): TraceContext {
  const spanId = randomBytes(8).toString('hex');
  const m = typeof meta?.traceparent === 'string' ? TRACEPARENT.exec(meta.traceparent) : null;
  if (m && !ZEROS.test(m[1]) && !ZEROS.test(m[2])) return { traceId: m[1], parentSpanId: m[2], spanId, flags: m[3] };
  return { traceId: randomBytes(16).toString('hex'), spanId, flags: '01' };
}

export function traceparent(t: TraceContext): string {
  return `00-${t.traceId}-${t.spanId}-${t.flags}`;
}
