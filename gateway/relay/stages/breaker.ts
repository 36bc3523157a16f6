/**
 * Breaking: the call runs through its picked backend's circuit breaker (servers/breaker.ts), which
 * counts the upstream faults of lease, send and everything between (the gateway gave up: the
 * session was lost, the server went away, the request timed out) and nothing a live server
 * answered. It runs right after pick, with nothing asynchronous between, so the request that pick
 * let through to a breaker due for half-open is the one that probes it.
 */
import { required, type Stage } from '../context';

export const breakerStage: Stage = (call, next) => {
  const backend = required(call.backend, 'the backend');
  return backend.breaker ? backend.breaker.run(() => next(call), backend.id) : next(call);
};
