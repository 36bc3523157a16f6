/**
 * Balancing: the call goes to one ready backend of its server that offers what it names, by
 * weight (or as `balancing` says), whose circuit breaker admits it and that an earlier attempt of
 * the call did not fail on (ServerGroup.pick); a multi-round-trip retry goes back to the backend
 * that asked, while that one is ready and admitted, unless `balancing.inputRounds: any-backend`.
 */
import { required, type Call, type Stage } from '../context';

/**
 * A round of a multi-round-trip request was asked by `backend`: its retry goes back there when the
 * server's `balancing.inputRounds` says so (same-backend), else it is balanced like any request.
 */
export function roundAskedBy(call: Call, backend: string): void {
  if (required(call.group, 'the server').config.balancing.inputRounds === 'same-backend') call.preferBackend = backend;
}

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
