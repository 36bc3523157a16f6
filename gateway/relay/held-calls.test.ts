import { FleetError } from '../protocol/errors';
import type { JsonRpcResponse } from '../protocol/jsonrpc';
import type { UpstreamConnection } from '../upstream/connection';
import { HeldCalls, Questions } from './held-calls';

const conn = {} as UpstreamConnection;
const ask = (q: Questions, id: number, method = 'elicitation/create', timeoutMs = 60_000) =>
  q.ask({ jsonrpc: '2.0', id, method, params: { message: `m${id}` } }, timeoutMs, conn);
const never = new Promise<JsonRpcResponse>(() => {});

describe('the questions of a held call', () => {
  it('gathers the questions of one round, answers them by key, and leaves a non-object answer open', async () => {
    const q = new Questions();
    const first = ask(q, 1);
    const second = ask(q, 2, 'sampling/createMessage');
    expect(await q.outcome(never)).toEqual({
      kind: 'questions',
      inputRequests: { q1: { method: 'elicitation/create', params: { message: 'm1' } }, q2: { method: 'sampling/createMessage', params: { message: 'm2' } } },
    });
    q.answer({ q1: { action: 'accept', content: {} }, q2: 12345, unknown: { x: 1 } });
    expect(await first).toEqual({ jsonrpc: '2.0', id: 'q1', result: { action: 'accept', content: {} } });
    expect(await q.outcome(never)).toEqual({ kind: 'questions', inputRequests: { q2: { method: 'sampling/createMessage', params: { message: 'm2' } } } });
    q.answer({ q2: { role: 'assistant', content: { type: 'text', text: 'ok' } } });
    expect((await second) as { result: unknown }).toMatchObject({ result: { role: 'assistant' } });
  });

  it('answers with the call when it ends before any question', async () => {
    const q = new Questions();
    const done: JsonRpcResponse = { jsonrpc: '2.0', id: 1, result: { content: [] } };
    expect(await q.outcome(Promise.resolve(done))).toEqual({ kind: 'answered', response: done });
  });

  it('names what the client lacks, as a capabilities object', async () => {
    const q = new Questions();
    q.lack('elicitation.url');
    expect(await q.outcome(never)).toEqual({ kind: 'unanswerable', requiredCapabilities: { elicitation: { url: {} } } });
  });

  it('drops a question the server withdrew, and fails open ones when the call is given up', async () => {
    const q = new Questions();
    const withdrawn = ask(q, 1);
    const open = ask(q, 2);
    expect(q.withdraw(conn, 1)).toBe(true);
    expect(q.withdraw(conn, 99)).toBe(false);
    expect(await withdrawn).toMatchObject({ error: { code: -32800 } });
    q.fail(new FleetError('CANCELLED', 'gone'));
    expect(await open).toMatchObject({ error: { message: 'gone' } });
  });
});

describe('the held calls of an instance', () => {
  it('gives a held call to one retry only, bounds their number, and gives them all up at shutdown', () => {
    const held = new HeldCalls(2, 60_000);
    const abandoned: string[] = [];
    const call = (name: string) => ({ response: never, peer: {} as never, abandon: (reason: string) => void abandoned.push(`${name}: ${reason}`) });
    const a = held.hold(call('a'));
    held.hold(call('b'));
    expect(() => held.hold(call('c'))).toThrow(/maxHeldCalls/);
    expect(abandoned).toEqual(['c: the gateway holds as many calls for their clients as it may (stateless.maxHeldCalls)']);
    expect(held.take(a)).toBeDefined();
    expect(held.take(a)).toBeUndefined();
    held.abandonAll();
    expect(abandoned).toEqual(['c: the gateway holds as many calls for their clients as it may (stateless.maxHeldCalls)', 'b: the gateway is shutting down']);
    expect(held.size).toBe(0);
  });
});
