/**
 * Concurrency limits: a call to a server with `limits.maxConcurrent` holds one of its slots from
 * here until its upstream answer, waiting in the server's bounded queue for one when all are taken
 * (concurrency-gates.ts). It runs just before pick, so a call that waited goes to a backend that
 * is ready when its turn comes, and after input drive, so that a 2025 client answering a 2026
 * server's question holds no slot between rounds.
 */
import { FleetError } from '../../protocol/errors';
import type { JsonRpcResponse } from '../../protocol/jsonrpc';
import type { ConcurrencyGate, ConcurrencyGates } from '../concurrency-gates';
import { required, type Call, type Next, type Stage } from '../context';
import type { RefusalCounter } from './rate-limit';

export function concurrencyStage(gates: ConcurrencyGates, refused: RefusalCounter): Stage {
  return (call, next) => {
    const group = required(call.group, 'the server');
    const gate = gates.for(group.name, group.config.limits);
    return gate ? through(gate, call, next, refused) : next(call);
  };
}

async function through(gate: ConcurrencyGate, call: Call, next: Next, refused: RefusalCounter): Promise<JsonRpcResponse> {
  let release;
  try {
    const entered = gate.enter(call.cancellation);
    release = typeof entered === 'function' ? entered : await entered;
  } catch (err) {
    const limit = err instanceof FleetError && err.code === 'LIMIT_REACHED' ? err.data?.limit : undefined;
    if (typeof limit === 'string') refused(limit, gate.server);
    throw err;
  }
  try {
    return await next(call);
  } finally {
    release();
  }
}
