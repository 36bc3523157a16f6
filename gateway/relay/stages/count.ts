/**
 * Counting: each forwarded call, as it ends, goes into the call statistics and metrics (by server,
 * backend, method and outcome) and, unless `log.calls` is off, leaves one `call` log line on the
 * call's logger, which names its trace and request id (correlate stage), so either id finds the
 * request in every gateway's log on its way.
 */
import type { CallOutcome, CallRecord } from '../../metrics/call-stats';
import { toFleetError } from '../../protocol/errors';
import type { JsonRpcResponse } from '../../protocol/jsonrpc';
import { required, type Call, type Stage } from '../context';

export function countStage(record: (call: CallRecord) => void, logCalls: boolean): Stage {
  return async (call, next) => {
    const started = performance.now();
    let outcome: CallOutcome = 'error';
    try {
      const reply = await next(call);
      outcome = outcomeOf(reply);
      return reply;
    } catch (err) {
      // the client called it off: that says nothing about the backend (a rollout gate must not count it)
      if (toFleetError(err).code === 'CANCELLED') outcome = 'cancelled';
      throw err;
    } finally {
      finish(call, outcome, performance.now() - started, record, logCalls);
    }
  };
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

/** tool_error: the tool ran and reported failure (result.isError), as opposed to a failed request. */
export function outcomeOf(reply: JsonRpcResponse): CallOutcome {
  if ('error' in reply) return 'error';
  return reply.result.isError === true ? 'tool_error' : 'ok';
}
