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

/**
 * Runs `run` and tells `end` how it ended and how long it took, reply or throw (the throw is passed
 * on): the stages that watch calls (count, tap) share this instead of each catching on its own.
 */
export async function observed(
  run: () => Promise<JsonRpcResponse>,
  end: (outcome: CallOutcome, durationMs: number, reply?: JsonRpcResponse) => void,
): Promise<JsonRpcResponse> {
  const started = performance.now();
  let outcome: CallOutcome = 'error';
  let reply: JsonRpcResponse | undefined;
  try {
    reply = await run();
    outcome = replyOutcome(reply);
    return reply;
  } catch (err) {
    // the client called it off: that says nothing about the backend (a rollout gate must not count it)
    outcome = thrownOutcome(err);
    throw err;
  } finally {
    end(outcome, performance.now() - started, reply);
  }
}
