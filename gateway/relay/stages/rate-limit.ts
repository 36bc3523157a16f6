/**
 * Rate limits: once routing knows the server and what the call names there, and the policy let the
 * principal use it, the call takes a token from each bucket of the `rateLimits` rules it matches.
 * It runs after resolve rather than before it because per-server and per-tool rules need the
 * resolved target, and after authorize so that a forbidden call costs nobody's budget. A refusal
 * is RATE_LIMITED with the wait in `data.retryAfterMs` and the rule in `data.limit` (HTTP 429 with
 * Retry-After on /mcp); it is counted by rule and server, and logged at debug only, since a client
 * over its rate can send many. Whether there are rules at all is asked per call: a config
 * reload can add the first.
 */
import { targetOf } from '../../auth/policy';
import { FleetError } from '../../protocol/errors';
import { required, type Stage } from '../context';
import type { RateLimits } from '../rate-limits';

/** A refusal happened: `limit` is the rule's name (or the concurrency setting), `server` the server's. */
export type RefusalCounter = (limit: string, server: string) => void;

export function rateLimitStage(limits: RateLimits, refused: RefusalCounter): Stage {
  const limited: Stage = async (call, next) => {
    const server = required(call.group, 'the server').name;
    const target = targetOf(server, required(call.want, 'what the call names'));
    if (!target) return next(call);
    const principal = call.client.principal;
    const refusal = await limits.admit(principal, target);
    if (!refusal) return next(call);
    refused(refusal.rule, server);
    call.log.debug({ principal: principal.id, rule: refusal.rule, server, retryAfterMs: refusal.retryAfterMs }, 'rate limit refused a request');
    throw new FleetError(
      'RATE_LIMITED',
      `rate limit "${refusal.rule}" reached for ${target.kind} "${target.name}" of server "${server}"; retry in ${refusal.retryAfterMs} ms`,
      {
        data: { retryAfterMs: refusal.retryAfterMs, limit: refusal.rule },
      },
    );
  };
  return (call, next) => (limits.none ? next(call) : limited(call, next));
}
