/**
 * Multi-round-trip requests for 2026-07-28 clients, the gateway's own, whatever the server speaks.
 *
 * - A 2025 server asks its question on the session while the call runs: the client is answered
 *   input_required with the questions, the upstream call is held, and the retry's answers settle
 *   the questions; the call goes on until it is answered or asks again.
 * - A 2026 server answers input_required itself: the client gets its questions with the server's
 *   requestState sealed inside the gateway's, and the retry goes back to the server (the backend
 *   that asked while it is ready, unless `balancing.inputRounds: any-backend`) with the server's
 *   state restored.
 *
 * The requestState the client sees is always the gateway's, sealed (request-state.ts), bound to the
 * method, the server and the arguments. Other clients and methods pass through untouched.
 */
import type { Logger } from 'pino';
import { FleetError } from '../../protocol/errors';
import { resultResponse, type JsonRpcResponse, type RequestId } from '../../protocol/jsonrpc';
import type { ClientDirectory } from '../clients';
import { required, type Call, type Stage } from '../context';
import { isStatelessPeer, type HeldCall, type HeldCalls, type StatelessPeer } from '../held-calls';
import { requestDigest, type RequestStateSealer } from '../request-state';
import { INPUT_METHODS } from '../routes';
import { roundAskedBy } from './pick';

export interface InputRoundDeps {
  sealer: RequestStateSealer;
  held: HeldCalls;
  clients: ClientDirectory;
  /** This gateway instance, named in the state of the calls it holds. */
  instance: string;
  log: Logger;
}

export function inputRoundStage(deps: InputRoundDeps): Stage {
  return async (call, next) => {
    const peer = call.client;
    if (!isStatelessPeer(peer)) return next(call);
    const method = call.request.method;
    const server = required(call.group, 'the server').name;
    // Only a state sealed or opened needs the digest: most calls never ask, so it is computed on first use.
    const params = call.params;
    let digest: string | undefined;
    const binding: Binding = { method, server, principal: peer.principal.id, digest: () => (digest ??= requestDigest(params)) };
    if (call.params.requestState !== undefined) {
      const state = deps.sealer.open(call.params.requestState, method, binding.digest());
      if (state.s !== server)
        throw new FleetError('INVALID_REQUEST_STATE', 'Invalid or expired requestState: it belongs to another server', {
          data: { reason: 'invalid_request_state' },
        });
      // another principal's state is as good as a forged one: it says nothing about whose it is
      if (state.p !== peer.principal.id)
        throw new FleetError('INVALID_REQUEST_STATE', 'Invalid or expired requestState: it belongs to another request', {
          data: { reason: 'invalid_request_state' },
        });
      if (state.kind === 'held') return resume(deps, state.x!, state.i!, call, binding);
      // the server's own state, back to the backend that issued it
      const { requestState: _gateway, ...rest } = call.params;
      call.params = state.u === undefined ? rest : { ...rest, requestState: state.u };
      if (state.b !== undefined) roundAskedBy(call, state.b);
      return wrap(deps, await attached(deps, peer, () => next(call)), call, binding);
    }
    if (!INPUT_METHODS.has(method)) return attached(deps, peer, () => next(call));
    const answer = attached(deps, peer, () => next(call));
    const outcome = await peer.questions.outcome(answer);
    if (outcome.kind === 'answered') return wrap(deps, outcome.response, call, binding);
    const abandon = (reason: string) => {
      call.cancellation.cancel(reason);
      peer.questions.fail(new FleetError('CANCELLED', reason));
    };
    if (outcome.kind === 'unanswerable') return unanswerable(abandon, server, outcome.requiredCapabilities);
    return hold(deps, { response: answer, peer, abandon }, call.request.id, outcome.inputRequests, binding);
  };
}

interface Binding {
  method: string;
  server: string;
  principal: string;
  /** The digest of the request as the client sent it (request-state.ts requestDigest). */
  digest: () => string;
}

/**
 * The peer is attached (a server's question, a log line of its call find it) from before its
 * upstream call starts until it ends, held or not.
 */
async function attached(deps: InputRoundDeps, peer: StatelessPeer, run: () => Promise<JsonRpcResponse>): Promise<JsonRpcResponse> {
  deps.clients.add(peer).logLevel = peer.logLevel;
  try {
    return await run();
  } finally {
    deps.clients.remove(peer.id);
  }
}

/** A server's own input_required goes to the client with the gateway's state around the server's. */
function wrap(deps: InputRoundDeps, response: JsonRpcResponse, call: Call, binding: Binding): JsonRpcResponse {
  if ('error' in response || response.result.resultType !== 'input_required') return response;
  const upstreamState = response.result.requestState;
  const sealed = deps.sealer.seal({
    kind: 'wrapped',
    m: binding.method,
    h: binding.digest(),
    s: binding.server,
    p: binding.principal,
    ...(typeof upstreamState === 'string' ? { u: upstreamState } : {}),
    b: required(call.backend, 'the backend').id,
  });
  return { ...response, result: { ...response.result, requestState: sealed } };
}

/** The call waits upstream; the client gets the questions, and the state that finds the call again. */
function hold(
  deps: InputRoundDeps,
  call: Omit<HeldCall, 'id'>,
  answerTo: RequestId,
  inputRequests: Record<string, unknown>,
  binding: Binding,
): JsonRpcResponse {
  const id = deps.held.hold(call);
  const requestState = deps.sealer.seal({
    kind: 'held',
    m: binding.method,
    h: binding.digest(),
    s: binding.server,
    p: binding.principal,
    x: id,
    i: deps.instance,
  });
  return resultResponse(answerTo, { resultType: 'input_required', inputRequests, requestState });
}

/** The server needs what the client did not declare: the call is given up, the client told what it lacks. */
function unanswerable(abandon: (reason: string) => void, server: string, requiredCapabilities: Record<string, unknown>): never {
  abandon('the client lacks a capability the server needs');
  throw new FleetError(
    'MISSING_CLIENT_CAPABILITY',
    `server "${server}" needs a client capability this request did not declare: ${JSON.stringify(requiredCapabilities)}`,
    {
      data: { requiredCapabilities },
    },
  );
}

async function resume(deps: InputRoundDeps, id: string, instance: string, retry: Call, binding: Binding): Promise<JsonRpcResponse> {
  if (instance !== deps.instance) {
    throw new FleetError(
      'INVALID_REQUEST_STATE',
      'Invalid or expired requestState: the call it continues waits in another gateway instance; send the retry to the same instance (session affinity)',
      {
        data: { reason: 'invalid_request_state' },
      },
    );
  }
  const held = deps.held.take(id);
  if (!held)
    throw new FleetError('INVALID_REQUEST_STATE', 'Invalid or expired requestState: the call it continues ended or was already continued', {
      data: { reason: 'invalid_request_state' },
    });
  held.peer.takeOver(retry.client);
  retry.cancellation.whenCancelled((reason) => held.abandon(reason ?? 'the client closed the stream'));
  held.peer.questions.answer(retry.params.inputResponses);
  const outcome = await held.peer.questions.outcome(held.response);
  retry.cancellation.whenCancelled(undefined);
  if (outcome.kind === 'answered') return { ...outcome.response, id: retry.request.id };
  if (outcome.kind === 'unanswerable') return unanswerable(held.abandon, binding.server, outcome.requiredCapabilities);
  return hold(deps, held, retry.request.id, outcome.inputRequests, binding);
}
