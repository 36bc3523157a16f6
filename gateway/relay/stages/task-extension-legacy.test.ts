/**
 * The legacy side of the tasks extension: a 2025 client's task on a 2026-07-28 server reads as a
 * 2025 task (tasks/get a Task, tasks/cancel the Task after, tasks/result the outcome once the task
 * is terminal, its questions asked of the client meanwhile). `next` stands in for the server of the
 * extension, answering tasks/get from a script, and the client is a stand-in that records what it
 * is asked: the statuses a real server passes through, and when, are not the test's to choose.
 * The ids are as the routing stage leaves them: the server's in the params, the gateway's in the
 * client's request.
 */
import pino from 'pino';
import { META } from '../../protocol/eras';
import { errorResponse, resultResponse, type JsonRpcRequest, type JsonRpcResponse } from '../../protocol/jsonrpc';
import type { Backend } from '../../servers/backend';
import type { ServerGroup } from '../../servers/group';
import type { UpstreamConnection } from '../../upstream/connection';
import { waitFor } from '../../../test/helpers/wait';
import type { ClientPeer } from '../clients';
import { Cancellation, type Call, type Next } from '../context';
import { RELATED_TASK, TASKS_EXTENSION } from '../task-messages';
import { taskExtensionLegacyStage } from './task-extension-legacy';

const log = pino({ level: 'silent' });
const AT = '2026-01-01T00:00:00Z';
const REQUEST_TIMEOUT_MS = 7_000;

/** A client that answers every question with `answer` (by default: accepted, naming the question), recording what it was asked. */
function client(era: 'legacy' | 'modern', answer: (r: JsonRpcRequest) => JsonRpcResponse = (r) => resultResponse(r.id, { answered: r.method })) {
  const asked: Array<{ request: JsonRpcRequest; relatedRequestId: unknown; timeoutMs: number; from: UpstreamConnection }> = [];
  const peer = {
    id: 'session-1',
    era,
    capabilities: { elicitation: {}, extensions: { 'example.com/other': {} } },
    log,
    ask: async (request: JsonRpcRequest, relatedRequestId: unknown, timeoutMs: number, from: UpstreamConnection) => {
      asked.push({ request, relatedRequestId, timeoutMs, from });
      return answer(request);
    },
  } as unknown as ClientPeer;
  return { peer, asked };
}

function connection(era: 'legacy' | 'modern'): UpstreamConnection {
  return { era, isOpen: true } as unknown as UpstreamConnection;
}

/** A routed call about the task the client knows as gw-1 and the server as up-1. */
function callOf(peer: ClientPeer, method: string, conn = connection('modern')): Call {
  return {
    request: { jsonrpc: '2.0', id: 5, method, params: { taskId: 'gw-1' } },
    client: peer,
    cancellation: new Cancellation(),
    params: { taskId: 'up-1' },
    meta: {},
    log,
    group: { name: 's', config: { requestTimeoutMs: REQUEST_TIMEOUT_MS } } as unknown as ServerGroup,
    backend: { id: 's-0', connection: conn } as unknown as Backend,
    connection: conn,
  };
}

/** A task of the extension as its server describes it. */
function detailed(status: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { taskId: 'up-1', status, ttlMs: 60_000, pollIntervalMs: 1, createdAt: AT, lastUpdatedAt: AT, resultType: 'complete', ...extra };
}

/** The server of the extension: tasks/get answers the scripted tasks in turn (the last one again once they run out); every request is recorded. */
function server(...script: Array<Record<string, unknown>>) {
  const seen: Array<{ method: string; params: Record<string, unknown>; meta: Record<string, unknown> }> = [];
  let gets = 0;
  const next: Next = async (call) => {
    seen.push({ method: call.request.method, params: call.params, meta: { ...call.meta } });
    if (call.request.method === 'tasks/get') return resultResponse(call.request.id, script[Math.min(gets++, script.length - 1)]);
    return resultResponse(call.request.id, { resultType: 'complete' });
  };
  return { seen, next };
}

describe('the legacy task stage of the tasks extension', () => {
  it("leaves the call alone unless a 2025 client's task is on a 2026-07-28 server", async () => {
    const cases: Array<[ClientPeer, UpstreamConnection]> = [
      [client('modern').peer, connection('modern')],
      [client('legacy').peer, connection('legacy')],
      [client('modern').peer, connection('legacy')],
    ];
    for (const [peer, conn] of cases) {
      const { seen, next } = server(detailed('working'));
      // what the server answered, untouched: no polling, no conversion
      await expect(taskExtensionLegacyStage(callOf(peer, 'tasks/result', conn), next)).resolves.toEqual(resultResponse(5, { resultType: 'complete' }));
      expect(seen).toEqual([{ method: 'tasks/result', params: { taskId: 'up-1' }, meta: {} }]);
    }
  });

  it("declares the tasks extension in the client's capabilities, and answers tasks/get with a 2025 Task", async () => {
    const { peer } = client('legacy');
    const { seen, next } = server(detailed('completed', { statusMessage: 'done', result: { content: [] }, inputRequests: {} }));
    await expect(taskExtensionLegacyStage(callOf(peer, 'tasks/get'), next)).resolves.toEqual(
      resultResponse(5, { taskId: 'up-1', status: 'completed', statusMessage: 'done', ttl: 60_000, pollInterval: 1, createdAt: AT, lastUpdatedAt: AT }),
    );
    expect(seen[0].meta).toEqual({
      [META.clientCapabilities]: { elicitation: {}, extensions: { 'example.com/other': {}, [TASKS_EXTENSION]: {} } },
    });
    // an unlimited task and the server's errors, as they are
    const unlimited = server(detailed('working', { ttlMs: null }));
    await expect(taskExtensionLegacyStage(callOf(peer, 'tasks/get'), unlimited.next)).resolves.toMatchObject({ result: { ttl: null } });
    const notFound: Next = async (call) => errorResponse(call.request.id, { code: -32602, message: 'Task not found' });
    await expect(taskExtensionLegacyStage(callOf(peer, 'tasks/get'), notFound)).resolves.toEqual(errorResponse(5, { code: -32602, message: 'Task not found' }));
  });

  it('answers tasks/cancel with the Task a tasks/get reads after the acknowledgement, or with the refusal', async () => {
    const { peer } = client('legacy');
    const { seen, next } = server(detailed('cancelled'));
    await expect(taskExtensionLegacyStage(callOf(peer, 'tasks/cancel'), next)).resolves.toMatchObject({
      result: { taskId: 'up-1', status: 'cancelled', ttl: 60_000 },
    });
    expect(seen.map((s) => [s.method, s.params])).toEqual([
      ['tasks/cancel', { taskId: 'up-1' }],
      ['tasks/get', { taskId: 'up-1' }],
    ]);
    const refused: string[] = [];
    const refusing: Next = async (call) => {
      refused.push(call.request.method);
      return errorResponse(call.request.id, { code: -32602, message: 'Task not found' });
    };
    await expect(taskExtensionLegacyStage(callOf(peer, 'tasks/cancel'), refusing)).resolves.toMatchObject({ error: { code: -32602 } });
    expect(refused).toEqual(['tasks/cancel']);
  });

  it('answers tasks/result once tasks/get finds the task completed, with its result, polling meanwhile', async () => {
    const { peer } = client('legacy');
    const result = { content: [{ type: 'text', text: 'done' }], isError: false };
    const { seen, next } = server(detailed('working'), detailed('working'), detailed('completed', { result }));
    await expect(taskExtensionLegacyStage(callOf(peer, 'tasks/result'), next)).resolves.toEqual(resultResponse(5, result));
    expect(seen.map((s) => [s.method, s.params])).toEqual([
      ['tasks/get', { taskId: 'up-1' }],
      ['tasks/get', { taskId: 'up-1' }],
      ['tasks/get', { taskId: 'up-1' }],
    ]);
  });

  it("answers tasks/result of a failed task with the task's JSON-RPC error, and of a cancelled one with CANCELLED", async () => {
    const { peer } = client('legacy');
    const error = { code: -32603, message: 'the tool crashed', data: { exit: 3 } };
    const failed = server(detailed('failed', { error }));
    await expect(taskExtensionLegacyStage(callOf(peer, 'tasks/result'), failed.next)).resolves.toEqual(errorResponse(5, error));
    // a server that says no more than that it failed
    const bare = server(detailed('failed'));
    await expect(taskExtensionLegacyStage(callOf(peer, 'tasks/result'), bare.next)).resolves.toEqual(
      errorResponse(5, { code: -32603, message: 'the task failed' }),
    );
    const cancelled = server(detailed('cancelled'));
    await expect(taskExtensionLegacyStage(callOf(peer, 'tasks/result'), cancelled.next)).rejects.toMatchObject({
      code: 'CANCELLED',
      message: expect.stringContaining('gw-1'),
    });
  });

  it("asks the client the server's questions, tied to the gateway's task id, and sends the answers with tasks/update", async () => {
    const { peer, asked } = client('legacy');
    const conn = connection('modern');
    const inputRequests = {
      q1: { method: 'elicitation/create', params: { message: 'Which region?', requestedSchema: { type: 'object' }, _meta: { 'example.com/hint': 1 } } },
      q2: { method: 'sampling/createMessage', params: { messages: [], maxTokens: 10 } },
    };
    const { seen, next } = server(detailed('input_required', { inputRequests }), detailed('completed', { result: { content: [] } }));
    await expect(taskExtensionLegacyStage(callOf(peer, 'tasks/result', conn), next)).resolves.toEqual(resultResponse(5, { content: [] }));
    expect(asked).toEqual([
      {
        request: {
          jsonrpc: '2.0',
          id: 'q1',
          method: 'elicitation/create',
          params: { ...inputRequests.q1.params, _meta: { 'example.com/hint': 1, [RELATED_TASK]: { taskId: 'gw-1' } } },
        },
        relatedRequestId: 5,
        timeoutMs: REQUEST_TIMEOUT_MS,
        from: conn,
      },
      {
        request: {
          jsonrpc: '2.0',
          id: 'q2',
          method: 'sampling/createMessage',
          params: { ...inputRequests.q2.params, _meta: { [RELATED_TASK]: { taskId: 'gw-1' } } },
        },
        relatedRequestId: 5,
        timeoutMs: REQUEST_TIMEOUT_MS,
        from: conn,
      },
    ]);
    expect(seen.map((s) => [s.method, s.params])).toEqual([
      ['tasks/get', { taskId: 'up-1' }],
      ['tasks/update', { taskId: 'up-1', inputResponses: { q1: { answered: 'elicitation/create' }, q2: { answered: 'sampling/createMessage' } } }],
      ['tasks/get', { taskId: 'up-1' }],
    ]);
  });

  it('fails tasks/result when the client refuses a question, sending the server no answers', async () => {
    const { peer } = client('legacy', (r) => errorResponse(r.id, { code: -32601, message: 'Method not found' }));
    const { seen, next } = server(detailed('input_required', { inputRequests: { q1: { method: 'roots/list' } } }));
    await expect(taskExtensionLegacyStage(callOf(peer, 'tasks/result'), next)).rejects.toMatchObject({
      code: 'NO_CLIENT_FOR_REQUEST',
      message: expect.stringContaining('roots/list'),
    });
    expect(seen.map((s) => s.method)).toEqual(['tasks/get']);
  });

  it('rejects tasks/result with CANCELLED when the client cancels it while a question of the task waits for its answer', async () => {
    let asked!: () => void;
    const questionAsked = new Promise<void>((resolve) => (asked = resolve));
    // a client that never answers (the user walked away from the dialog)
    const peer = { id: 'session-1', era: 'legacy', capabilities: {}, log, ask: () => (asked(), new Promise(() => {})) } as unknown as ClientPeer;
    const { seen, next } = server(detailed('input_required', { inputRequests: { q1: { method: 'elicitation/create', params: {} } } }));
    const call = callOf(peer, 'tasks/result');
    const result = taskExtensionLegacyStage(call, next);
    await questionAsked;
    call.cancellation.cancel('the user gave up');
    await expect(result).rejects.toMatchObject({ code: 'CANCELLED', message: expect.stringContaining('the user gave up') });
    expect(seen.map((s) => s.method)).toEqual(['tasks/get']);
  });

  it('rejects tasks/result with CANCELLED when the client cancels it while it waits to poll again', async () => {
    const { peer } = client('legacy');
    // the longest pause the stage allows: the cancellation, not the timer, ends it
    const { seen, next } = server(detailed('working', { pollIntervalMs: 60_000 }));
    const call = callOf(peer, 'tasks/result');
    const result = taskExtensionLegacyStage(call, next);
    await waitFor(() => seen.length === 1, 'the first tasks/get', 5_000, 5);
    call.cancellation.cancel('the user gave up');
    await expect(result).rejects.toMatchObject({ code: 'CANCELLED', message: expect.stringContaining('the user gave up') });
    expect(seen.map((s) => s.method)).toEqual(['tasks/get']);
  });
});
