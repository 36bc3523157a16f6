/**
 * The live traffic tap: each forwarded call's start and end go to the debug stream's subscribers
 * (metrics/traffic-events.ts), with its server, backend, tool, trace and request id, and at the
 * end its outcome and duration. Placed right before sending, where the backend is known; with
 * nobody subscribed it costs one check.
 */
import type { CallFields, TrafficEvents } from '../../metrics/traffic-events';
import { required, type Call, type Stage } from '../context';
import { observed } from '../outcome';

export function tapStage(traffic: TrafficEvents): Stage {
  return async (call, next) => {
    if (!traffic.listening) return next(call);
    const fields = fieldsOf(call);
    traffic.publish({ type: 'call.start', ...fields }, () => ({ arguments: call.params.arguments }));
    return observed(
      () => next(call),
      (outcome, durationMs, reply) =>
        traffic.publish({ type: 'call.end', ...fields, outcome, ms: Math.round(durationMs * 10) / 10 }, () => ({
          result: reply && ('error' in reply ? reply.error : reply.result),
        })),
    );
  };
}

function fieldsOf(call: Call): CallFields {
  const tool = call.request.method === 'tools/call' && typeof call.params.name === 'string' ? { tool: call.params.name } : {};
  return {
    server: required(call.group, 'the server').name,
    backend: required(call.backend, 'the backend').id,
    method: call.request.method,
    ...tool,
    trace: required(call.trace, 'the trace').traceId,
    ...(call.requestId === undefined ? {} : { requestId: call.requestId }),
    principal: call.client.principal.id,
    client: call.client.id,
  };
}
