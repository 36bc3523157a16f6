/**
 * Tracing: the call continues the client's W3C trace (from `_meta.traceparent`) or starts one, and
 * the gateway's hop gets a span of its own, which the upstream request carries as its parent.
 */
import type { Stage } from '../context';
import { continueTrace, traceparent } from '../trace-context';

export const traceStage: Stage = (call, next) => {
  const trace = continueTrace(call.params._meta as Record<string, unknown> | undefined);
  call.trace = trace;
  call.meta.traceparent = traceparent(trace);
  return next(call);
};
