/**
 * The input rounds stage, for 2026-07-28 clients (the real StatelessClient, sealer and held-call
 * table): a 2025 server's question during a call becomes an input_required result and the call is
 * held until the retry answers; a 2026 server's own input_required goes out with its state sealed
 * inside the gateway's, and the retry comes back with the server's state restored. Every state a
 * retry brings is checked: tampered, another server's, another principal's, another instance's, or
 * used up. The upstream is a stand-in `next` that asks through the call's client the way the
 * relay's server-request path does (test/gateway/modern-clients.test.ts runs real servers).
 */
import pino from 'pino';
import { ANONYMOUS, principal, type Principal } from '../../auth/principal';
import type { JsonRpcNotification, JsonRpcResponse } from '../../protocol/jsonrpc';
import { resultResponse } from '../../protocol/jsonrpc';
import type { Backend } from '../../servers/backend';
import type { ServerGroup } from '../../servers/group';
import { StatelessClient, type RequestSink } from '../../session/stateless-requests';
import type { UpstreamConnection } from '../../upstream/connection';
import { ClientDirectory, type ClientPeer } from '../clients';
import { Cancellation, type Call, type Next } from '../context';
import { HeldCalls, type StatelessPeer } from '../held-calls';
import { RequestStateSealer } from '../request-state';
import { inputRoundStage, type InputRoundDeps } from './input-rounds';

const CONNECTION = { era: 'legacy' } as UpstreamConnection;
const ELICIT = { method: 'elicitation/create', params: { message: 'Your name?', requestedSchema: { type: 'object' } } };
const KEYS = [{ id: 'k1', secret: 'a shared secret of the gateway replicas' }];
const silent = pino({ level: 'silent' });

function depsOf(instance = 'gw-1', held = new HeldCalls(10, 60_000)): InputRoundDeps {
  return { sealer: new RequestStateSealer(KEYS, 60_000), held, clients: new ClientDirectory(), instance, log: silent };
}

const sink: RequestSink = { notify: (_m: JsonRpcNotification) => undefined, answer: () => undefined, onGone: () => undefined };

function clientOf(who: Principal = ANONYMOUS, capabilities: Record<string, unknown> = { elicitation: {} }): StatelessClient {
  return new StatelessClient({ protocolVersion: '2026-07-28', capabilities, clientInfo: { name: 't' }, logLevel: 'info' }, who, silent, sink);
}

function callOf(client: ClientPeer, params: Record<string, unknown> = {}, server = 's', inputRounds = 'same-backend'): Call {
  const all = { name: 'greet', arguments: { x: 1 }, ...params };
  return {
    request: { jsonrpc: '2.0', id: `r${Math.random()}`, method: 'tools/call', params: all },
    client,
    cancellation: new Cancellation(),
    params: { ...all },
    meta: {},
    log: silent,
    group: { name: server, config: { balancing: { inputRounds } } } as unknown as ServerGroup,
  };
}

/** A 2025 server: during the call it asks the client to elicit, and answers with what the client said. */
function asking2025() {
  const calls: Call[] = [];
  const next: Next = async (call) => {
    calls.push(call);
    call.backend = { id: 'b1' } as Backend;
    const answer = await call.client.ask({ jsonrpc: '2.0', id: 'u1', ...ELICIT }, call.request.id, 60_000, CONNECTION);
    return resultResponse(call.request.id, { content: [{ type: 'text', text: JSON.stringify(answer) }] });
  };
  return { next, calls };
}

/** A 2026 server: it answers input_required with its own state until the retry brings answers, then answers. */
function asking2026(backend = 'b2') {
  const seen: { params: Record<string, unknown>; preferBackend?: string }[] = [];
  const next: Next = (call) => {
    seen.push({ params: { ...call.params }, preferBackend: call.preferBackend });
    call.backend = { id: backend } as Backend;
    if (call.params.inputResponses === undefined)
      return Promise.resolve(resultResponse(call.request.id, { resultType: 'input_required', inputRequests: { name: ELICIT }, requestState: 'server-state' }));
    return Promise.resolve(resultResponse(call.request.id, { content: [{ type: 'text', text: 'hello' }] }));
  };
  return { next, seen };
}

function resultOf(reply: JsonRpcResponse): Record<string, unknown> {
  if ('error' in reply) throw new Error(`expected a result, got ${JSON.stringify(reply.error)}`);
  return reply.result;
}

describe('the input rounds stage', () => {
  it('holds a 2025 call whose server asks, gives the client the question, and goes on with the retry’s answer', async () => {
    const deps = depsOf();
    const stage = inputRoundStage(deps);
    const upstream = asking2025();
    const first = resultOf(await stage(callOf(clientOf()), upstream.next));
    expect(first).toEqual({ resultType: 'input_required', inputRequests: { q1: ELICIT }, requestState: expect.stringMatching(/^fs1\./) });
    expect(deps.held.size).toBe(1);
    const retry = callOf(clientOf(), { inputResponses: { q1: { action: 'accept', content: { name: 'Ada' } } }, requestState: first.requestState });
    const answered = await stage(retry, upstream.next);
    // the held call's answer, under the retry's id; the server ran once
    expect(answered).toEqual(resultResponse(retry.request.id, { content: [{ type: 'text', text: expect.stringContaining('"name":"Ada"') }] }));
    expect([upstream.calls.length, deps.held.size]).toEqual([1, 0]);
    // a state continues one call once
    const again = callOf(clientOf(), { inputResponses: { q1: {} }, requestState: first.requestState });
    await expect(stage(again, upstream.next)).rejects.toMatchObject({
      code: 'INVALID_REQUEST_STATE',
      message: expect.stringContaining('ended or was already continued'),
    });
  });

  it('attaches the client with its log level while its upstream call runs, and only then', async () => {
    const deps = depsOf();
    const client = clientOf();
    let during: unknown;
    const next: Next = (call) => {
      during = deps.clients.get(call.client.id)?.logLevel;
      return Promise.resolve(resultResponse(call.request.id, {}));
    };
    await inputRoundStage(deps)(callOf(client, {}), next);
    expect([during, deps.clients.get(client.id)]).toEqual(['info', undefined]);
  });

  it('seals a 2026 server’s state inside the gateway’s, and restores it on the retry to the backend that asked', async () => {
    for (const [inputRounds, preferred] of [
      ['same-backend', 'b2'],
      ['any-backend', undefined],
    ] as const) {
      const stage = inputRoundStage(depsOf());
      const upstream = asking2026();
      const first = resultOf(await stage(callOf(clientOf(), {}, 's', inputRounds), upstream.next));
      expect(first).toMatchObject({ resultType: 'input_required', inputRequests: { name: ELICIT } });
      // the client never sees the server's own state
      expect(first.requestState).not.toContain('server-state');
      const retry = callOf(clientOf(), { inputResponses: { name: { action: 'decline' } }, requestState: first.requestState }, 's', inputRounds);
      expect(resultOf(await stage(retry, upstream.next))).toEqual({ content: [{ type: 'text', text: 'hello' }] });
      expect(upstream.seen[1]).toEqual({
        params: { name: 'greet', arguments: { x: 1 }, inputResponses: { name: { action: 'decline' } }, requestState: 'server-state' },
        preferBackend: preferred,
      });
    }
  });

  it('refuses a state that was altered, or that belongs to another server, principal, request or gateway instance', async () => {
    const upstream = asking2026();
    const issued = resultOf(await inputRoundStage(depsOf())(callOf(clientOf()), upstream.next)).requestState as string;
    const holder = depsOf('gw-1');
    const held = resultOf(await inputRoundStage(holder)(callOf(clientOf()), asking2025().next)).requestState as string;
    const altered = `${issued.slice(0, -4)}${issued.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    const mallory = principal('api-key', 'mallory');
    const cases: [Call, string, RegExp][] = [
      [callOf(clientOf(), { requestState: altered }), 'gw-1', /altered/],
      [callOf(clientOf(), { requestState: issued }, 't'), 'gw-1', /another server/],
      [callOf(clientOf(mallory), { requestState: issued }), 'gw-1', /another request/],
      [callOf(clientOf(), { requestState: issued, arguments: { x: 2 } }), 'gw-1', /the method, name or arguments differ/],
      [callOf(clientOf(), { requestState: held }), 'gw-2', /another gateway instance.*session affinity/],
    ];
    for (const [call, instance, why] of cases) {
      const refused = inputRoundStage(depsOf(instance))(call, upstream.next);
      await expect(refused).rejects.toMatchObject({
        code: 'INVALID_REQUEST_STATE',
        message: expect.stringMatching(why),
        data: { reason: 'invalid_request_state' },
      });
    }
    // none of the refused retries reached the server
    expect(upstream.seen.length).toBe(1);
    holder.held.abandonAll();
  });

  it('gives up a call whose server needs a capability the client did not declare, and says which', async () => {
    const call = callOf(clientOf(ANONYMOUS, {}));
    let aborted: string | undefined;
    const next: Next = (c) => {
      c.cancellation.whenCancelled((reason) => (aborted = reason));
      (c.client as StatelessPeer).questions.lack('elicitation.url');
      return new Promise(() => undefined);
    };
    await expect(inputRoundStage(depsOf())(call, next)).rejects.toMatchObject({
      code: 'MISSING_CLIENT_CAPABILITY',
      data: { requiredCapabilities: { elicitation: { url: {} } } },
    });
    expect(aborted).toBe('the client lacks a capability the server needs');
  });

  it('refuses to hold more calls than stateless.maxHeldCalls, cancelling the one it cannot hold', async () => {
    const deps = depsOf('gw-1', new HeldCalls(1, 60_000));
    const stage = inputRoundStage(deps);
    await stage(callOf(clientOf()), asking2025().next);
    const second = callOf(clientOf());
    await expect(stage(second, asking2025().next)).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringContaining('stateless.maxHeldCalls') });
    expect([second.cancellation.cancelled, deps.held.size]).toEqual([true, 1]);
    deps.held.abandonAll();
  });

  it('passes a 2025 client and a method that takes no input through untouched', async () => {
    const deps = depsOf();
    const legacy = { id: 'l1', era: 'legacy' } as ClientPeer;
    const echo: Next = (call) => Promise.resolve(resultResponse(call.request.id, { params: call.params }));
    const state = { requestState: 'not the gateway’s' };
    expect(resultOf(await inputRoundStage(deps)(callOf(legacy, state), echo))).toEqual({ params: { name: 'greet', arguments: { x: 1 }, ...state } });
    const listing = { ...callOf(clientOf()), request: { jsonrpc: '2.0' as const, id: 1, method: 'tools/list' } };
    const asked = asking2026();
    expect(resultOf(await inputRoundStage(deps)(listing, asked.next))).toMatchObject({ requestState: 'server-state' });
  });
});
