/**
 * Counting: each forwarded call, as it ends, goes into the call statistics and metrics (by server,
 * backend, method and outcome) and, unless `log.calls` is off, leaves one `call` log line on the
 * call's logger, which names its trace and request id (correlate stage), so either id finds the
 * request in every gateway's log on its way.
 */
import type { CallOutcome, CallRecord } from '../../metrics/call-stats';
import { required, type Call, type Stage } from '../context';
import { observed } from '../outcome';

export function countStage(record: (call: CallRecord) => void, logCalls: boolean): Stage {
  return (call, next) =>
    observed(
      () => next(call),
      (outcome, durationMs) => finish(call, outcome, durationMs, record, logCalls),
    );
}

function finish(call: Call, outcome: CallOutcome, durationMs: number, record: (call: CallRecord) => void, logCalls: boolean): void {
  const server = required(call.group, 'the server').name;
  const backend = required(call.backend, 'the backend').id;
  const method = call.request.method;
  record({ server, backend, method, outcome, durationMs });
  if (!logCalls) return;
  const trace = required(call.trace, 'the trace');
  call.log.info(
    {
      span: trace.spanId,
      ...(trace.parentSpanId ? { parent: trace.parentSpanId } : {}),
      server,
      backend,
      method,
      outcome,
      principal: call.client.principal.id,
      ms: Math.round(durationMs * 10) / 10,
    },
    'call',
  );
}
