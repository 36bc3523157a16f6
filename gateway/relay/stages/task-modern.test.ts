/**
 * The modern task stage: a 2026-07-28 client of the tasks extension sees a 2025 server's task in
 * the extension's shape (tasks/get with the questions or the outcome inline, tasks/update and
 * tasks/cancel acknowledged); other clients, and tasks of servers of the extension, pass through.
 * The task table and the question keeper are the real ones. `next` stands in for the task chain and
 * the 2025 server behind it, and the upstream session is a stand-in that records the tasks/result
 * the gateway opens on it and answers it when the test says: the moments a server asks its
 * questions or finishes are what the tests need to choose, and a real server picks them itself.
 */
import pino from 'pino';
import { ANONYMOUS, principal } from '../../auth/principal';
import { errorResponse, resultResponse, type JsonRpcRequest, type JsonRpcResponse } from '../../protocol/jsonrpc';
import type { UpstreamConnection } from '../../upstream/connection';
import type { ClientPeer } from '../clients';
import { waitFor } from '../../../test/helpers/wait';
import { Cancellation, type Call, type Next } from '../context';
import { RELATED_TASK, TASKS_EXTENSION } from '../task-messages';
import { TaskInputs } from '../task-questions';
import { ownerOf, TaskTable, type TaskEntry } from '../tasks';
import { taskModernStage } from './task-modern';

const log = pino({ level: 'silent' });
const AT = '2026-01-01T00:00:00Z';

function modernClient(capabilities: Record<string, unknown> = { extensions: { [TASKS_EXTENSION]: {} } }, who = ANONYMOUS): ClientPeer {
  return { id: 'request-1', era: 'modern', principal: who, capabilities, log } as unknown as ClientPeer;
}

const LEGACY_CLIENT = { id: 'session-1', era: 'legacy', principal: ANONYMOUS, capabilities: {}, log } as unknown as ClientPeer;

function callOf(client: ClientPeer, method: string, params: Record<string, unknown>): Call {
  return { request: { jsonrpc: '2.0', id: 1, method, params }, client, cancellation: new Cancellation(), params: { ...params }, meta: {}, log };
}

/** An upstream session of `era`: it records the requests the gateway makes on it itself, and answers the last one when told. */
function session(era: 'legacy' | 'modern') {
  const opened: Array<{ method: string; params: unknown }> = [];
  let answer: ((r: JsonRpcResponse) => void) | undefined;
  const conn = {
    isOpen: true,
    era,
    request: (method: string, params: unknown) => {
      opened.push({ method, params });
      return { id: opened.length, response: new Promise<JsonRpcResponse>((resolve) => (answer = resolve)) };
    },
    cancel: () => {},
  } as unknown as UpstreamConnection;
  return { conn, opened, answer: (r: JsonRpcResponse) => answer?.(r) };
}

/** A 2025 Task as tasks/get answers it once routed (under the gateway's id, its related-task `_meta` too). */
function legacyTask(taskId: string, status: string): Record<string, unknown> {
  return { taskId, status, ttl: 60_000, pollInterval: 200, createdAt: AT, lastUpdatedAt: AT, _meta: { [RELATED_TASK]: { taskId } } };
}

/** The same task in the extension's shape. */
function modernTask(taskId: string, status: string): Record<string, unknown> {
  return { taskId, status, ttlMs: 60_000, pollIntervalMs: 200, createdAt: AT, lastUpdatedAt: AT };
}

/**
 * The task chain and the 2025 server behind it: tasks/get answers `status` (and the table learns
 * it, as the routing stage does), tasks/result `outcome`; every request it sees is recorded.
 */
function server2025(entry: TaskEntry, tasks: TaskTable) {
  const seen: Array<{ method: string; params: Record<string, unknown> }> = [];
  const state: { status: string; outcome: JsonRpcResponse } = { status: 'working', outcome: resultResponse(1, {}) };
  const next: Next = async (call) => {
    seen.push({ method: call.request.method, params: call.params });
    switch (call.request.method) {
      case 'tasks/get':
        tasks.setStatus(entry, state.status);
        return resultResponse(call.request.id, legacyTask(entry.id, state.status));
      case 'tasks/result':
        return { ...state.outcome, id: call.request.id };
      case 'tasks/cancel':
        return resultResponse(call.request.id, legacyTask(entry.id, 'cancelled'));
      default:
        throw new Error(`unexpected ${call.request.method}`);
    }
  };
  return { seen, state, next };
}

describe('the modern task stage', () => {
  let tasks: TaskTable;
  let inputs: TaskInputs;
  const client = modernClient();

  beforeEach(() => {
    tasks = new TaskTable({ maxTasks: 10, maxTtlMs: 600_000 });
    // no listen stream watches these tasks: what tasks/get answers is the subject here
    inputs = new TaskInputs(tasks, { watches: () => false, taskChanged: () => {} });
  });
  // the questions still open hold timers: they end with the test
  afterEach(() => inputs.closeAll());

  function taskOn(conn: UpstreamConnection, owner = ownerOf(client)): TaskEntry {
    return tasks.add({ clientId: owner, server: 's', backend: 'primary', conn, task: { taskId: 'up-1', status: 'working', ttl: 60_000 } });
  }

  const stage = () => taskModernStage(tasks, inputs);

  it("lets a 2025 client's task requests pass as they are, whatever it declared", async () => {
    const entry = taskOn(session('legacy').conn, ownerOf(LEGACY_CLIENT));
    const { next, seen } = server2025(entry, tasks);
    const call = callOf(LEGACY_CLIENT, 'tasks/get', { taskId: entry.id });
    await expect(stage()(call, next)).resolves.toEqual(resultResponse(1, legacyTask(entry.id, 'working')));
    expect(seen).toEqual([{ method: 'tasks/get', params: { taskId: entry.id } }]);
  });

  it('refuses a modern client that did not declare the tasks extension with -32021, naming the extension', async () => {
    const entry = taskOn(session('legacy').conn);
    const { next, seen } = server2025(entry, tasks);
    for (const method of ['tasks/get', 'tasks/update', 'tasks/cancel']) {
      const refused = stage()(callOf(modernClient({ elicitation: {} }), method, { taskId: entry.id }), next);
      await expect(refused).rejects.toMatchObject({
        code: 'MISSING_CLIENT_CAPABILITY',
        jsonRpcCode: -32021,
        data: { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
      });
    }
    expect(seen).toEqual([]);
  });

  it("answers tasks/get of a 2025 server's running task in the extension's shape", async () => {
    const entry = taskOn(session('legacy').conn);
    const { next } = server2025(entry, tasks);
    await expect(stage()(callOf(client, 'tasks/get', { taskId: entry.id }), next)).resolves.toEqual(resultResponse(1, modernTask(entry.id, 'working')));
  });

  it('reads an input_required task as working until the server asked, then with its questions; tasks/update answers them', async () => {
    const upstream = session('legacy');
    const entry = taskOn(upstream.conn);
    const server = server2025(entry, tasks);
    server.state.status = 'input_required';
    const get = () => stage()(callOf(client, 'tasks/get', { taskId: entry.id }), server.next);

    // a 2025 server asks only while a tasks/result is open: the gateway opens one, once
    await expect(get()).resolves.toEqual(resultResponse(1, modernTask(entry.id, 'working')));
    await expect(get()).resolves.toEqual(resultResponse(1, modernTask(entry.id, 'working')));
    expect(upstream.opened).toEqual([{ method: 'tasks/result', params: { taskId: 'up-1' } }]);

    // the server asks on that tasks/result (the traffic router hands the question over, under the gateway's id)
    const question: JsonRpcRequest = {
      jsonrpc: '2.0',
      id: 9,
      method: 'elicitation/create',
      params: { message: 'Which region?', requestedSchema: { type: 'object' }, _meta: { [RELATED_TASK]: { taskId: entry.id } } },
    };
    const answered = inputs.ask(entry, question, upstream.conn);
    await expect(get()).resolves.toEqual(
      resultResponse(1, { ...modernTask(entry.id, 'input_required'), inputRequests: { q1: { method: 'elicitation/create', params: question.params } } }),
    );

    const seenBefore = server.seen.length;
    const update = callOf(client, 'tasks/update', { taskId: entry.id, inputResponses: { q1: { action: 'accept', content: { region: 'eu' } } } });
    await expect(stage()(update, server.next)).resolves.toEqual(resultResponse(1, {}));
    await expect(answered).resolves.toMatchObject({ result: { action: 'accept', content: { region: 'eu' } } });
    // the answer goes to the server on its open tasks/result, not as a request of the client's
    expect(server.seen.length).toBe(seenBefore);
    // answered: the task reads working again until the server asks more
    await expect(get()).resolves.toEqual(resultResponse(1, modernTask(entry.id, 'working')));
  });

  it('inlines the outcome of a terminal task, fetched with a 2025 tasks/result: a result completed (a tool error too), an error failed', async () => {
    const done = { content: [{ type: 'text', text: 'done' }] };
    const toolError = { content: [{ type: 'text', text: 'no such file' }], isError: true };
    const crash = { code: -32603, message: 'the tool crashed', data: { exit: 3 } };
    // what the 2025 server says: its status, its tasks/result answer; and what the client reads
    const cases: Array<[string, JsonRpcResponse, Record<string, unknown>]> = [
      ['completed', resultResponse(1, { ...done, _meta: { [RELATED_TASK]: { taskId: 'up-1' } } }), { status: 'completed', result: done }],
      // a 2025 server fails a task whose tool reported an error; the extension keeps failed for protocol errors
      ['failed', resultResponse(1, toolError), { status: 'completed', result: toolError }],
      ['failed', errorResponse(1, crash), { status: 'failed', error: crash }],
    ];
    for (const [status, outcome, inlined] of cases) {
      const entry = taskOn(session('legacy').conn);
      const server = server2025(entry, tasks);
      server.state.status = status;
      server.state.outcome = outcome;
      const reply = await stage()(callOf(client, 'tasks/get', { taskId: entry.id }), server.next);
      expect(reply).toEqual(resultResponse(1, { ...modernTask(entry.id, status), ...inlined }));
      expect(server.seen).toEqual([
        { method: 'tasks/get', params: { taskId: entry.id } },
        { method: 'tasks/result', params: { taskId: entry.id } },
      ]);
    }
  });

  it('inlines the outcome the tasks/result the gateway opened brought back, without asking the server again', async () => {
    const upstream = session('legacy');
    const entry = taskOn(upstream.conn);
    const server = server2025(entry, tasks);
    server.state.status = 'input_required';
    await stage()(callOf(client, 'tasks/get', { taskId: entry.id }), server.next);
    upstream.answer(resultResponse(1, { content: [{ type: 'text', text: 'answered' }] }));
    await waitFor(() => inputs.outcome(entry), 'the tasks/result the gateway opened to come back', 5_000, 5);
    server.state.status = 'completed';
    const reply = await stage()(callOf(client, 'tasks/get', { taskId: entry.id }), server.next);
    const completed = resultResponse(1, { ...modernTask(entry.id, 'completed'), result: { content: [{ type: 'text', text: 'answered' }] } });
    expect(reply).toEqual(completed);
    // the ended task stays: asked again, it answers the same
    expect(await stage()(callOf(client, 'tasks/get', { taskId: entry.id }), server.next)).toEqual(completed);
    expect(server.seen.map((s) => s.method)).not.toContain('tasks/result');
    tasks.remove(entry);
    expect(inputs.size).toBe(0);
  });

  it('forwards tasks/cancel and acknowledges it with an empty result, also when the 2025 server refuses a task already terminal', async () => {
    const entry = taskOn(session('legacy').conn);
    const server = server2025(entry, tasks);
    await expect(stage()(callOf(client, 'tasks/cancel', { taskId: entry.id }), server.next)).resolves.toEqual(resultResponse(1, {}));
    expect(server.seen).toEqual([{ method: 'tasks/cancel', params: { taskId: entry.id } }]);
    // the extension's cancel is idempotent where the 2025 one answers -32602 for a finished task
    const refusing: Next = async (call) => errorResponse(call.request.id, { code: -32602, message: 'Cannot cancel task: already completed' });
    await expect(stage()(callOf(client, 'tasks/cancel', { taskId: entry.id }), refusing)).resolves.toEqual(resultResponse(1, {}));
  });

  it('lets the requests about a task of a 2026-07-28 server through to that server, which answers them', async () => {
    const entry = taskOn(session('modern').conn);
    const seen: string[] = [];
    const server: Next = async (call) => {
      seen.push(call.request.method);
      return resultResponse(call.request.id, { answeredBy: 'the server', resultType: 'complete' });
    };
    for (const method of ['tasks/get', 'tasks/update', 'tasks/cancel']) {
      await expect(stage()(callOf(client, method, { taskId: entry.id, inputResponses: {} }), server)).resolves.toEqual(
        resultResponse(1, { answeredBy: 'the server', resultType: 'complete' }),
      );
    }
    expect(seen).toEqual(['tasks/get', 'tasks/update', 'tasks/cancel']);
  });

  it("refuses tasks/update of an unknown task id, or of another principal's task, as task not found", async () => {
    const others = taskOn(session('legacy').conn, ownerOf(modernClient(undefined, principal('api-key', 'bob'))));
    const server = server2025(others, tasks);
    for (const taskId of ['no-such-task', others.id]) {
      const refused = stage()(callOf(client, 'tasks/update', { taskId, inputResponses: { q1: { action: 'accept' } } }), server.next);
      await expect(refused).rejects.toMatchObject({ code: 'UNKNOWN_TASK', jsonRpcCode: -32602, data: { taskId } });
    }
    expect(server.seen).toEqual([]);
  });
});
