/**
 * The retry stage's decisions, with stand-ins for the stages after it (pick and send). The cases
 * that matter most cannot be caused for real on purpose: a session lost in the instant between
 * pick and the write (nothing sent), or the exact moment a server dies with a request in flight
 * (test/gateway/breakers-retries.test.ts does the latter with real processes, where it can).
 */
import pino from 'pino';
import { EMPTY_CATALOG } from '../../servers/lists';
import { FleetError } from '../../protocol/errors';
import type { JsonRpcResponse } from '../../protocol/jsonrpc';
import type { ServerGroup } from '../../servers/group';
import { Cancellation, chain, type Call, type Next } from '../context';
import { retryStage } from './retry';

const ok = (id: string): JsonRpcResponse => ({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: id }] } });
const gone = () => new FleetError('UPSTREAM_UNAVAILABLE', 'server "s" disconnected');

const group = {
  name: 's',
  config: { retry: { attempts: 2, backoff: { initialMs: 0, maxMs: 1 }, idempotentTools: ['configured'] } },
  catalog: { ...EMPTY_CATALOG, tools: [{ name: 'annotated', annotations: { readOnlyHint: true } }, { name: 'plain' }] },
} as unknown as ServerGroup;

function callOf(method: string, tool?: string, extra: Partial<Call> = {}): Call {
  return {
    request: { jsonrpc: '2.0', id: 1, method },
    client: {} as Call['client'],
    cancellation: new Cancellation(),
    params: tool === undefined ? {} : { name: tool },
    meta: {},
    log: pino({ level: 'silent' }),
    group,
    ...extra,
  };
}

/** Backends `ids` in turn (never one the call must avoid); each attempt ends as `outcome` says for its backend. */
function fleet(outcome: (backend: string) => { sent: boolean; partial?: boolean; error?: FleetError }, ids = ['a', 'b', 'c']) {
  const tried: string[] = [];
  const end: Next = async (call) => {
    const backend = ids.find((id) => !call.avoidBackends?.has(id));
    if (!backend) throw new FleetError('UPSTREAM_UNAVAILABLE', 'no backend left');
    call.backend = { id: backend } as Call['backend'];
    tried.push(backend);
    const { sent, partial, error } = outcome(backend);
    call.sentUpstream = sent;
    call.answeredInPart = partial;
    if (error) throw error;
    return ok(backend);
  };
  return { tried, end };
}

describe('the retry stage', () => {
  const retried: string[] = [];
  const run = (call: Call, end: Next) => chain([retryStage((server, method) => retried.push(`${server} ${method}`))], end)(call);
  beforeEach(() => (retried.length = 0));

  it('retries an idempotent request that reached a backend that died, on another backend, and counts it', async () => {
    for (const [method, tool] of [['resources/read'], ['tools/call', 'annotated'], ['tools/call', 'configured']] as const) {
      const { tried, end } = fleet((b) => ({ sent: true, error: b === 'a' ? gone() : undefined }));
      await expect(run(callOf(method, tool), end)).resolves.toEqual(ok('b'));
      expect(tried).toEqual(['a', 'b']);
    }
    expect(retried).toEqual(['s resources/read', 's tools/call', 's tools/call']);
  });

  it('retries any request that never left the gateway, and no request that did unless it is idempotent', async () => {
    const unsent = fleet((b) => ({ sent: b !== 'a', error: b === 'a' ? gone() : undefined }));
    await expect(run(callOf('tools/call', 'plain'), unsent.end)).resolves.toEqual(ok('b'));
    const sent = fleet(() => ({ sent: true, error: gone() }));
    await expect(run(callOf('tools/call', 'plain'), sent.end)).rejects.toThrow(/disconnected/);
    expect(sent.tried).toEqual(['a']);
  });

  it('does not retry a timeout, a cancelled call, a call answered in part or a round bound to its backend', async () => {
    const slow = fleet(() => ({ sent: true, error: new FleetError('UPSTREAM_TIMEOUT', 'slow') }));
    await expect(run(callOf('resources/read'), slow.end)).rejects.toMatchObject({ code: 'UPSTREAM_TIMEOUT' });
    const cancelled = callOf('resources/read');
    const dies = fleet(() => {
      cancelled.cancellation.cancel();
      return { sent: true, error: gone() };
    });
    await expect(run(cancelled, dies.end)).rejects.toThrow(/disconnected/);
    const round = fleet(() => ({ sent: true, error: gone() }));
    await expect(run(callOf('resources/read', undefined, { preferBackend: 'a' }), round.end)).rejects.toThrow(/disconnected/);
    // the client heard progress of the first attempt: even an idempotent request is not started over
    const partial = fleet(() => ({ sent: true, partial: true, error: gone() }));
    await expect(run(callOf('tools/call', 'annotated'), partial.end)).rejects.toThrow(/disconnected/);
    expect([slow.tried, dies.tried, round.tried, partial.tried]).toEqual([['a'], ['a'], ['a'], ['a']]);
    expect(retried).toEqual([]);
  });

  it('stops after `attempts` retries, and answers with the first failure when no other backend is left', async () => {
    const all = fleet(() => ({ sent: true, error: gone() }));
    await expect(run(callOf('resources/read'), all.end)).rejects.toThrow(/server "s" disconnected/);
    expect(all.tried).toEqual(['a', 'b', 'c']);
    const alone = fleet(() => ({ sent: true, error: gone() }), ['a']);
    const call = callOf('resources/read');
    await expect(run(call, alone.end)).rejects.toThrow(/server "s" disconnected/);
    expect(alone.tried).toEqual(['a']);
    // the stages before this one see what the last attempt found (here: no backend at all)
    expect(call.backend).toBeUndefined();
  });
});
