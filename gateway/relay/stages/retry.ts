/**
 * Retrying: a forwarded request whose backend died or could not be reached before it answered
 * (UPSTREAM_UNAVAILABLE) goes again, after a backoff with jitter, to another ready backend of its
 * server, at most `servers.X.retry.attempts` times (cockatiel's RetryPolicy). Only when that is
 * safe: the request never went out (the session was gone before it was written), or it is
 * idempotent (idempotent.ts), since once sent the server may have started on it. Not retried: a
 * timeout (the server is alive, only slow), an answer of any kind, a request answered in part (the
 * client heard its progress: a retry would start it over, and progress may only increase), a round
 * of a multi-round-trip request (its requestState lives on the backend that asked), a cancelled
 * request. When no other
 * backend can take it, the first failure is the answer. Each retry is counted.
 *
 * Every attempt runs the rest of the chain (pick, breaker, lease, send) on its own copy of the call,
 * so one backend's choices (its era's envelope, a task's params) do not leak into the next; the
 * last attempt's is copied back for the stages before this one.
 */
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import type { RetrySettings } from '../../config/resilience-schema';
import { FleetError } from '../../protocol/errors';
import type { JsonRpcResponse } from '../../protocol/jsonrpc';
import type { ServerGroup } from '../../servers/group';
import { required, type Call, type Next, type Stage } from '../context';
import { isIdempotent } from '../idempotent';

/** One retry of a request of `method` to `server` is about to go. */
export type RetryCounter = (server: string, method: string) => void;

export function retryStage(counted: RetryCounter): Stage {
  return (call, next) => {
    const group = required(call.group, 'the server');
    const settings = group.config.retry;
    if (!settings || call.preferBackend !== undefined) return next(call);
    return withRetries(call, next, group, settings, counted);
  };
}

async function withRetries(call: Call, next: Next, group: ServerGroup, settings: RetrySettings, counted: RetryCounter): Promise<JsonRpcResponse> {
  const failedOn = new Set<string>();
  let again = false;
  let first: unknown;
  let last: Call | undefined;
  const policy = retry(
    handleWhen(() => again),
    { maxAttempts: settings.attempts, backoff: new ExponentialBackoff({ initialDelay: settings.backoff.initialMs, maxDelay: settings.backoff.maxMs }) },
  );
  policy.onRetry(() => counted(group.name, call.request.method));
  try {
    return await policy.execute(async () => {
      again = false;
      if (call.cancellation.cancelled) throw first ?? new FleetError('CANCELLED', 'request cancelled');
      const attempt: Call = { ...call, meta: { ...call.meta }, avoidBackends: failedOn };
      last = attempt;
      try {
        return await next(attempt);
      } catch (err) {
        // a retry that found no other backend: the failure that made it is the one to tell
        if (first !== undefined && attempt.backend === undefined) throw first;
        first ??= err;
        if (attempt.backend) failedOn.add(attempt.backend.id);
        again = safeToRetry(err, attempt, group, settings);
        throw err;
      }
    });
  } finally {
    if (last) Object.assign(call, last, { avoidBackends: undefined });
  }
}

function safeToRetry(err: unknown, attempt: Call, group: ServerGroup, settings: RetrySettings): boolean {
  if (!(err instanceof FleetError) || err.code !== 'UPSTREAM_UNAVAILABLE' || attempt.backend === undefined || attempt.cancellation.cancelled) return false;
  if (attempt.answeredInPart) return false;
  if (!attempt.sentUpstream) return true;
  const tool = attempt.request.method === 'tools/call' ? String(attempt.params.name) : undefined;
  // what clients were shown (a backend that went down has emptied its own catalog)
  return isIdempotent({ method: attempt.request.method, tool, catalog: group.catalog, idempotentTools: settings.idempotentTools });
}
