/**
 * How a forwarded call ended, in the words the metrics, the call log line and the spans share:
 * ok, error (a failed request), tool_error (the tool ran and reported failure, result.isError) or
 * cancelled (the client called it off, which says nothing about the backend).
 */
import type { CallOutcome } from '../metrics/call-stats';
import { toFleetError } from '../protocol/errors';
import type { JsonRpcResponse } from '../protocol/jsonrpc';

export function replyOutcome(reply: JsonRpcResponse): CallOutcome {
  if ('error' in reply) return 'error';
  return reply.result.isError === true ? 'tool_error' : 'ok';
}

export function thrownOutcome(err: unknown): CallOutcome {
  return toFleetError(err).code === 'CANCELLED' ? 'cancelled' : 'error';
}
