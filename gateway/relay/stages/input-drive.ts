/**
 * A 2026-07-28 server's questions for a 2025 client. The server answers input_required; a 2025
 * client cannot read that, so the gateway asks the client each question as an ordinary request on
 * the call's stream (elicitation, sampling, roots), then retries the call upstream with the answers
 * and the server's requestState, round after round, until the server answers. The client sees one
 * ordinary call. Each round is a request of its own (the stage runs before pick): it goes back to
 * the backend that asked while that one is ready (its requestState may be only its own to verify),
 * else to another picked by weight; with `balancing.inputRounds: any-backend` every round is
 * balanced like any request. Modern clients get the server's questions themselves
 * (input-rounds.ts), and their retries prefer the asking backend the same way.
 */
import { FleetError, SdkCode } from '../../protocol/errors';
import { errorResponse, resultResponse, type JsonRpcResponse } from '../../protocol/jsonrpc';
import { required, type Call, type Stage } from '../context';
import { INPUT_METHODS } from '../routes';
import { roundAskedBy } from './pick';

/** As many rounds as the SDK's own bridge allows a server before it gives up. */
export const MAX_INPUT_ROUNDS = 8;

export const inputDriveStage: Stage = async (call, next) => {
  if (call.client.era !== 'legacy' || !INPUT_METHODS.has(call.request.method)) return next(call);
  for (let round = 1; ; round++) {
    const reply = await next(call);
    if ('error' in reply || reply.result.resultType !== 'input_required') return reply;
    if (round > MAX_INPUT_ROUNDS) {
      const server = required(call.group, 'the server').name;
      return failure(
        call,
        new FleetError('INTERNAL', `server "${server}" still asked for input after ${MAX_INPUT_ROUNDS} rounds; the gateway gave up on ${call.request.method}`),
      );
    }
    const answers = await askAll(call, reply.result.inputRequests);
    if (answers instanceof FleetError) return failure(call, answers);
    roundAskedBy(call, required(call.backend, 'the backend').id);
    const { requestState } = reply.result;
    call.params = { ...call.params, inputResponses: answers, ...(requestState === undefined ? {} : { requestState }) };
    if (requestState === undefined) delete call.params.requestState;
  }
};

/**
 * Every question of a round, asked at once; the first one refused or failed fails the round.
 * `tie` adds to each question's params what ties it to its call (a task's related-task `_meta`).
 */
export async function askAll(
  call: Call,
  inputRequests: unknown,
  tie: (params: Record<string, unknown>) => Record<string, unknown> = (params) => params,
): Promise<Record<string, unknown> | FleetError> {
  if (typeof inputRequests !== 'object' || inputRequests === null || Array.isArray(inputRequests)) return {};
  const conn = required(required(call.backend, 'the backend').connection, 'a connected backend');
  const timeoutMs = required(call.group, 'the server').config.requestTimeoutMs;
  const entries = Object.entries(inputRequests as Record<string, { method?: unknown; params?: unknown }>);
  const replies = await Promise.all(
    entries.map(([key, q]) => {
      if (typeof q?.method !== 'string')
        return Promise.resolve(errorResponse(key, { code: SdkCode.InvalidParams, message: `the server's input request ${key} names no method` }));
      const params = tie(typeof q.params === 'object' && q.params !== null ? (q.params as Record<string, unknown>) : {});
      return call.client.ask(
        { jsonrpc: '2.0', id: key, method: q.method, ...(Object.keys(params).length > 0 ? { params } : {}) },
        call.request.id,
        timeoutMs,
        conn,
      );
    }),
  );
  const answers: Record<string, unknown> = {};
  for (const [i, reply] of replies.entries()) {
    const key = entries[i][0];
    if ('error' in reply)
      return new FleetError(
        'NO_CLIENT_FOR_REQUEST',
        `the client did not answer the server's ${String(entries[i][1]?.method)} (${key}): ${reply.error.message}`,
      );
    answers[key] = reply.result;
  }
  return answers;
}

/** As the SDK's bridge does: a tool reports the failure as its result, other methods as an error. */
function failure(call: Call, error: FleetError): JsonRpcResponse {
  if (call.request.method === 'tools/call') return resultResponse(call.request.id, { content: [{ type: 'text', text: error.message }], isError: true });
  throw error;
}
