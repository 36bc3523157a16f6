/**
 * The upstream request's span: one OpenTelemetry client span per attempt (a retried call has one
 * for each backend it tried), a child of the gateway's span for the call, naming the backend and
 * the upstream session's era. The upstream request carries it as its parent (`_meta.traceparent`),
 * so the server's own spans hang below the attempt that reached it. Only in the chain when tracing
 * is on; it comes last, just before the request is sent.
 */
import { ROOT_CONTEXT, SpanKind, trace, type Attributes, type Tracer } from '@opentelemetry/api';
import { required, type Stage } from '../context';
import { ATTR_BACKEND, ATTR_ERA, callAttributes, spanName, withinSpan } from '../spans';
import { hexFlags, traceparent } from '../trace-context';

export function upstreamSpanStage(tracer: Tracer): Stage {
  return (call, next) => {
    const hop = required(call.trace, 'the trace');
    const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId: hop.traceId, spanId: hop.spanId, traceFlags: parseInt(hop.flags, 16) });
    const attributes: Attributes = { ...callAttributes(call), [ATTR_BACKEND]: required(call.backend, 'the backend').id };
    if (call.connection) attributes[ATTR_ERA] = call.connection.era;
    const span = tracer.startSpan(spanName(call), { kind: SpanKind.CLIENT, attributes }, parent);
    const { spanId, traceFlags } = span.spanContext();
    call.meta.traceparent = traceparent({ ...hop, spanId, flags: hexFlags(traceFlags) });
    return withinSpan(span, () => next(call));
  };
}
