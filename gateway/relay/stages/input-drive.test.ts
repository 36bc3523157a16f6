/**
 * The input drive stage: a 2026-07-28 server's input_required, for a 2025 client, becomes the
 * gateway's own requests to that client, and the call is retried upstream with the answers and the
 * server's requestState until the server answers. The server is a stand-in `next` that asks and
 * checks what its retries carry, the client a stand-in peer that records what it is asked (real
 * servers and clients do the same end to end in test/gateway/modern-upstream-input.test.ts; here
 * every branch is reached on purpose: refusals, a question without a method, a server that never
 * stops asking).
 */
import pino from 'pino';
import { FleetError } from '../../protocol/errors';
import { errorResponse, resultResponse, type JsonRpcRequest, type JsonRpcResponse } from '../../protocol/jsonrpc';
import type { Backend } from '../../servers/backend';
import type { ServerGroup } from '../../servers/group';
import type { UpstreamConnection } from '../../upstream/connection';
import type { ClientPeer } from '../clients';
import { Cancellation, type Call } from '../context';
import { MAX_INPUT_ROUNDS, inputDriveStage } from './input-drive';

const CONNECTION = { era: 'modern' } as UpstreamConnection;
const ELICIT = { method: 'elicitation/create', params: { message: 'Your name?', requestedSchema: { type: 'object' } } };

interface Asked {
  request: JsonRpcRequest;
  related: unknown;
  timeoutMs: number;
  from: UpstreamConnection;
}

/** A client that answers each question with `answer(question)` (an error response refuses it), and records them. */
function clientOf(
  era: 'legacy' | 'modern',
  answer: (q: JsonRpcRequest) => JsonRpcResponse = (q) => resultResponse(q.id, { action: 'accept', content: { name: 'Ada' } }),
) {
  const asked: Asked[] = [];
  const peer = {
    id: 'c1',
    era,
    ask: (request: JsonRpcRequest, related: unknown, timeoutMs: number, from: UpstreamConnection) => {
      asked.push({ request, related, timeoutMs, from });
      return Promise.resolve(answer(request));
    },
  } as unknown as ClientPeer;
  return { peer, asked };
}

function callOf(client: ClientPeer, method = 'tools/call', inputRounds = 'same-backend'): Call {
  const params = { name: 'greet', arguments: { x: 1 } };
  return {
    request: { jsonrpc: '2.0', id: 7, method, params },
    client,
    cancellation: new Cancellation(),
    params: { ...params },
    meta: {},
    log: pino({ level: 'silent' }),
    group: { name: 's', config: { requestTimeoutMs: 1234, balancing: { inputRounds } } } as unknown as ServerGroup,
  };
}

/** A server that asks `rounds[i]` on round i (an input_required with those questions and state `st-i`), then answers. */
function server(rounds: { inputRequests: unknown; requestState?: string }[]) {
  const seen: { params: Record<string, unknown>; preferBackend?: string }[] = [];
  const next = (call: Call): Promise<JsonRpcResponse> => {
    seen.push({ params: { ...call.params }, preferBackend: call.preferBackend });
    // the pick stage's part: the backend the round went to
    call.backend = { id: `b${seen.length}`, connection: CONNECTION } as unknown as Backend;
    const round = rounds[seen.length - 1];
    if (!round) return Promise.resolve(resultResponse(call.request.id, { content: [{ type: 'text', text: 'hello Ada' }] }));
    return Promise.resolve(resultResponse(call.request.id, { resultType: 'input_required', ...round }));
  };
  return { next, seen };
}

describe('the input drive stage', () => {
  it('asks a 2025 client each question of a round, and retries the call with the answers and the server state until it answers', async () => {
    const { peer, asked } = clientOf('legacy');
    const upstream = server([{ inputRequests: { name: ELICIT, roots: { method: 'roots/list' } }, requestState: 'st-1' }, { inputRequests: { again: ELICIT } }]);
    const call = callOf(peer);
    const reply = await inputDriveStage(call, upstream.next);
    expect(reply).toEqual(resultResponse(7, { content: [{ type: 'text', text: 'hello Ada' }] }));
    // every question under its key, tied to the client's call, on the connection that asked, with the server's timeout
    expect(asked.map((a) => [a.request, a.related, a.timeoutMs, a.from])).toEqual([
      [{ jsonrpc: '2.0', id: 'name', ...ELICIT }, 7, 1234, CONNECTION],
      [{ jsonrpc: '2.0', id: 'roots', method: 'roots/list' }, 7, 1234, CONNECTION],
      [{ jsonrpc: '2.0', id: 'again', ...ELICIT }, 7, 1234, CONNECTION],
    ]);
    const answer = { action: 'accept', content: { name: 'Ada' } };
    expect(upstream.seen).toEqual([
      { params: { name: 'greet', arguments: { x: 1 } }, preferBackend: undefined },
      { params: { name: 'greet', arguments: { x: 1 }, inputResponses: { name: answer, roots: answer }, requestState: 'st-1' }, preferBackend: 'b1' },
      // the second round gave no state: none goes back, the earlier one is not resent
      { params: { name: 'greet', arguments: { x: 1 }, inputResponses: { again: answer } }, preferBackend: 'b2' },
    ]);
  });

  it('balances each round like any request when the server says inputRounds: any-backend', async () => {
    const { peer } = clientOf('legacy');
    const upstream = server([{ inputRequests: { name: ELICIT }, requestState: 'st-1' }]);
    await inputDriveStage(callOf(peer, 'prompts/get', 'any-backend'), upstream.next);
    expect(upstream.seen.map((s) => s.preferBackend)).toEqual([undefined, undefined]);
  });

  it('leaves a 2026 client, a method that takes no input and an error answer as they are', async () => {
    const modern = clientOf('modern');
    const rounds = [{ inputRequests: { name: ELICIT }, requestState: 'st-1' }];
    const toModern = server(rounds);
    const reply = await inputDriveStage(callOf(modern.peer), toModern.next);
    expect(reply).toMatchObject({ result: { resultType: 'input_required', requestState: 'st-1' } });
    const legacy = clientOf('legacy');
    const listing = server(rounds);
    await expect(inputDriveStage(callOf(legacy.peer, 'tools/list'), listing.next)).resolves.toMatchObject({ result: { resultType: 'input_required' } });
    const failing = (call: Call) => Promise.resolve(errorResponse(call.request.id, { code: -32602, message: 'bad arguments' }));
    await expect(inputDriveStage(callOf(legacy.peer), failing)).resolves.toEqual(errorResponse(7, { code: -32602, message: 'bad arguments' }));
    expect([modern.asked, legacy.asked, toModern.seen.length, listing.seen.length]).toEqual([[], [], 1, 1]);
  });

  it("reports a refused question as the tool's failed result, and as an error of any other method", async () => {
    const refusing = clientOf('legacy', (q) => errorResponse(q.id, { code: -32601, message: 'Method not found' }));
    const tool = server([{ inputRequests: { name: ELICIT } }]);
    await expect(inputDriveStage(callOf(refusing.peer), tool.next)).resolves.toEqual(
      resultResponse(7, {
        content: [{ type: 'text', text: "the client did not answer the server's elicitation/create (name): Method not found" }],
        isError: true,
      }),
    );
    const prompt = server([{ inputRequests: { name: ELICIT } }]);
    const refused = inputDriveStage(callOf(refusing.peer, 'prompts/get'), prompt.next);
    await expect(refused).rejects.toThrow(FleetError);
    await expect(refused).rejects.toMatchObject({ code: 'NO_CLIENT_FOR_REQUEST', message: expect.stringContaining('(name): Method not found') });
    // nothing went back to the server after the refusal
    expect([tool.seen.length, prompt.seen.length]).toEqual([1, 1]);
  });

  it('refuses a question that names no method without asking the client, and reads a malformed inputRequests as no questions', async () => {
    const { peer, asked } = clientOf('legacy');
    const nameless = server([{ inputRequests: { name: { params: {} } } }]);
    await expect(inputDriveStage(callOf(peer), nameless.next)).resolves.toMatchObject({
      result: { isError: true, content: [{ text: expect.stringContaining("the server's input request name names no method") }] },
    });
    const malformed = server([{ inputRequests: ['not', 'an', 'object'], requestState: 'st-1' }]);
    await expect(inputDriveStage(callOf(peer), malformed.next)).resolves.toMatchObject({ result: { content: [{ text: 'hello Ada' }] } });
    expect(malformed.seen[1].params).toMatchObject({ inputResponses: {}, requestState: 'st-1' });
    expect(asked).toEqual([]);
  });

  it(`gives up on a server still asking after ${MAX_INPUT_ROUNDS} rounds`, async () => {
    const { peer, asked } = clientOf('legacy');
    const endless = server(Array.from({ length: MAX_INPUT_ROUNDS + 5 }, (_, i) => ({ inputRequests: { name: ELICIT }, requestState: `st-${i + 1}` })));
    await expect(inputDriveStage(callOf(peer), endless.next)).resolves.toEqual(
      resultResponse(7, {
        content: [{ type: 'text', text: `server "s" still asked for input after ${MAX_INPUT_ROUNDS} rounds; the gateway gave up on tools/call` }],
        isError: true,
      }),
    );
    expect([endless.seen.length, asked.length]).toEqual([MAX_INPUT_ROUNDS + 1, MAX_INPUT_ROUNDS]);
    await expect(inputDriveStage(callOf(peer, 'resources/read'), server(Array(MAX_INPUT_ROUNDS + 1).fill({ inputRequests: {} })).next)).rejects.toMatchObject({
      code: 'INTERNAL',
    });
  });
});
