/**
 * Balancing: the call goes to one ready backend of its server that offers what it names, by
 * weight (or as `balancing` says), whose circuit breaker admits it and that an earlier attempt of
 * the call did not fail on (ServerGroup.pick); a multi-round-trip retry goes back to the backend
 * that asked, while that one is ready and admitted.
 */
import { required, type Stage } from '../context';

export const pickStage: Stage = (call, next) => {
  const group = required(call.group, 'the server');
  const want = required(call.want, 'what the call names');
  const preferred = call.preferBackend === undefined ? undefined : group.backend(call.preferBackend);
  call.backend =
    preferred?.ready && preferred.admits && preferred.offers(want)
      ? preferred
      : group.pick(want, {
          avoid: call.avoidBackends,
          // a 2025 client has a session to stick to; a 2026-07-28 request has none
          session: call.client.era === 'legacy' ? call.client.id : undefined,
        });
  return next(call);
};
