/**
 * Tracing: the call continues the client's W3C trace (from `_meta.traceparent`) or starts one, and
 * the gateway's hop gets a span of its own, which the upstream request carries as its parent.
 * With a tracer (config `tracing`), that span is an OpenTelemetry server span, recorded and
 * exported: its ids are the ones the call log line and the upstream see, so the client's trace
 * continues through the gateway in the tracing backend too. Without one, only the ids are made.
 */
import { ROOT_CONTEXT, SpanKind, trace, type Context, type Tracer } from '@opentelemetry/api';
import type { Stage } from '../context';
import { callAttributes, clientAttributes, spanName, withinSpan } from '../spans';
import { continueTrace, hexFlags, remoteParent, traceparent, type RemoteParent } from '../trace-context';

const idsOnly: Stage = (call, next) => {
  const trace = continueTrace(call.params._meta as Record<string, unknown> | undefined);
  call.trace = trace;
  call.meta.traceparent = traceparent(trace);
  return next(call);
};

export function traceStage(tracer: Tracer | undefined): Stage {
  if (!tracer) return idsOnly;
  return (call, next) => {
    const client = remoteParent(call.params._meta as Record<string, unknown> | undefined);
    const span = tracer.startSpan(
      spanName(call),
      { kind: SpanKind.SERVER, attributes: { ...callAttributes(call), ...clientAttributes(call) } },
      parentOf(client),
    );
    const { traceId, spanId, traceFlags } = span.spanContext();
    call.trace = { traceId, spanId, ...(client ? { parentSpanId: client.spanId } : {}), flags: hexFlags(traceFlags) };
    call.meta.traceparent = traceparent(call.trace);
    // the stage runs first (every log line of the call, a refusal's too, names the trace): what
    // the call names and its server are known once resolve ran, and go on the span as it ends
    return withinSpan(span, async () => {
      try {
        return await next(call);
      } finally {
        span.updateName(spanName(call));
        span.setAttributes(callAttributes(call));
      }
    });
  };
}

/** The client's span as the remote parent, so its sampling decision (the sampled flag) carries on. */
function parentOf(client: RemoteParent | undefined): Context {
  if (!client) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: client.traceId, spanId: client.spanId, traceFlags: parseInt(client.flags, 16), isRemote: true });
}
