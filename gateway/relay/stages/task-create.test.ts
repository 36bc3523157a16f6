/**
 * The task creation stage, in front of the real sending stage, with the gateway's real task table
 * and progress router. What stands in is the upstream session: a recorder that answers as a 2025
 * server or a 2026-07-28 server of the tasks extension would, so that each era, each client
 * declaration and the moment the table is full can be set up exactly (test/gateway and
 * task-route.test.ts run tasks against real SDK servers).
 */
import pino from 'pino';
import { ANONYMOUS } from '../../auth/principal';
import { META } from '../../protocol/eras';
import type { JsonRpcResponse } from '../../protocol/jsonrpc';
import type { Backend } from '../../servers/backend';
import type { ServerGroup } from '../../servers/group';
import { EMPTY_CATALOG } from '../../servers/lists';
import type { UpstreamConnection } from '../../upstream/connection';
import type { ClientPeer } from '../clients';
import { Cancellation, chain, type Call } from '../context';
import { ProgressRouter } from '../progress';
import { TASKS_EXTENSION, declaresTasksExtension } from '../task-messages';
import { ownerOf, TaskTable } from '../tasks';
import { sendStage } from './send';
import { taskCreateStage } from './task-create';

type Obj = Record<string, unknown>;

const EXTENSION = { extensions: { [TASKS_EXTENSION]: {} } };
/** What a 2025 server declares when it takes task-augmented tool calls. */
const TAKES_TASKS = { tools: {}, tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } };
const TOOLS = [{ name: 'long', execution: { taskSupport: 'required' } }, { name: 'quick' }];
const GROUP = { name: 's', config: { requestTimeoutMs: 5_000 } } as unknown as ServerGroup;

/** What the server was sent, and what it was sent on its own by the gateway (fireAndForget). */
interface Sent {
  method: string;
  params: Obj;
}

/**
 * An upstream session of `era` that declared `capabilities` and answers each request with what
 * `answer` makes of it (a result).
 */
function upstream(era: 'legacy' | 'modern', capabilities: Obj, answer: (sent: Sent) => Obj = () => ({ content: [] })) {
  const requests: Sent[] = [];
  const ownAccord: Sent[] = [];
  const conn = {
    era,
    capabilities,
    isOpen: true,
    request(method: string, params: Obj) {
      const sent = { method, params };
      requests.push(sent);
      const id = requests.length;
      return { id, response: Promise.resolve<JsonRpcResponse>({ jsonrpc: '2.0', id, result: answer(sent) }) };
    },
    fireAndForget(method: string, params: Obj) {
      ownAccord.push({ method, params });
      return Promise.resolve();
    },
    touch() {},
  } as unknown as UpstreamConnection;
  return { conn, requests, ownAccord };
}

/** The client capabilities the envelope of a request to a 2026-07-28 server carries. */
const envelopeCapabilities = (params: Obj): Obj => (params._meta as Obj)[META.clientCapabilities] as Obj;

/** A 2025 server's CreateTaskResult for its task `taskId`. */
const legacyTask = (taskId: string): Obj => ({ task: { taskId, status: 'working', ttl: 60_000, pollInterval: 1_000, createdAt: 'then' } });
/** A server of the tasks extension answering with its task `taskId`. */
const modernTask = (taskId: string): Obj => ({ resultType: 'task', taskId, status: 'working', ttlMs: 30_000, pollIntervalMs: 500 });

function peer(era: 'legacy' | 'modern', capabilities: Obj = {}) {
  const heard: unknown[][] = [];
  const client = {
    id: `${era}-client`,
    era,
    principal: ANONYMOUS,
    capabilities,
    notify: (...args: unknown[]) => heard.push(args),
  } as unknown as ClientPeer;
  return { client, heard };
}

function callOf(client: ClientPeer, conn: UpstreamConnection, params: Obj, method = 'tools/call'): Call {
  const backend = { connection: conn, catalog: { ...EMPTY_CATALOG, tools: TOOLS } } as unknown as Backend;
  return {
    request: { jsonrpc: '2.0', id: 7, method, params },
    client,
    cancellation: new Cancellation(),
    params,
    meta: {},
    log: pino({ level: 'silent' }),
    group: GROUP,
    backend,
    connection: conn,
  };
}

function gateway(maxTasks = 10) {
  let n = 0;
  const tasks = new TaskTable({ maxTasks, maxTtlMs: 3_600_000 }, Date.now, () => `gw-${++n}`);
  const progress = new ProgressRouter();
  const relay = chain([taskCreateStage(tasks, progress)], sendStage(progress));
  const result = async (call: Call) => ((await relay(call)) as { result: Obj }).result;
  return { tasks, progress, relay, result };
}

/** Fills the table with `count` running tasks of another client. */
function fill(tasks: TaskTable, count: number) {
  const { conn } = upstream('legacy', TAKES_TASKS);
  for (let i = 0; i < count; i++)
    tasks.add({ clientId: 'someone-else', server: 's', backend: 'primary', conn, task: { taskId: `other-${i}`, status: 'working' } });
}

describe('a 2025 client', () => {
  it("gets the gateway's id for the task its call created, owned by it and bound to the session that answered", async () => {
    const { tasks, result } = gateway();
    const { client } = peer('legacy');
    const server = upstream('legacy', TAKES_TASKS, () => legacyTask('up-1'));
    const params = { name: 'long', arguments: { n: 1 }, task: { ttl: 60_000 } };
    expect(await result(callOf(client, server.conn, params))).toEqual({
      task: { taskId: 'gw-1', status: 'working', ttl: 60_000, pollInterval: 1_000, createdAt: 'then' },
    });
    // the call went as the client sent it, its `task` param included
    expect(server.requests).toMatchObject([{ method: 'tools/call', params: { name: 'long', arguments: { n: 1 }, task: { ttl: 60_000 } } }]);
    expect(tasks.owned('gw-1', client.id)).toMatchObject({ server: 's', upstreamId: 'up-1', conn: server.conn, status: 'working' });
    expect(tasks.upstream(server.conn, 'up-1')?.id).toBe('gw-1');
    expect(tasks.owned('gw-1', 'another-client')).toBeUndefined();
  });

  it('passes a call without `task`, and any other method, through untouched', async () => {
    const { tasks, result } = gateway();
    const { client } = peer('legacy');
    const server = upstream('legacy', TAKES_TASKS, ({ method }) => ({ answered: method }));
    expect(await result(callOf(client, server.conn, { name: 'quick', arguments: { n: 1 } }))).toEqual({ answered: 'tools/call' });
    expect(await result(callOf(client, server.conn, { uri: 'file:///a', task: {} }, 'resources/read'))).toEqual({ answered: 'resources/read' });
    expect(server.requests.map((r) => r.params)).toEqual([
      { name: 'quick', arguments: { n: 1 }, _meta: {} },
      { uri: 'file:///a', task: {}, _meta: {} },
    ]);
    expect(tasks.size).toBe(0);
  });

  it("keeps the call's progress token for the task's life, and lets it go with the call when no task was made", async () => {
    const { tasks, progress, result } = gateway();
    const { client, heard } = peer('legacy');
    const server = upstream('legacy', TAKES_TASKS, ({ params }) => (params.task ? legacyTask('up-1') : { content: [] }));
    await result(callOf(client, server.conn, { name: 'long', task: {}, _meta: { progressToken: 'mine' } }));
    // the call is answered; progress the server sends about its task still reaches the client, under the client's token
    const token = server.requests[0].params._meta as { progressToken: string };
    expect(progress.deliver({ progressToken: token.progressToken, progress: 1 }, server.conn)).toBe(true);
    expect(heard).toEqual([['notifications/progress', { progressToken: 'mine', progress: 1 }, 7]]);
    tasks.setStatus(tasks.owned('gw-1', client.id)!, 'completed');
    expect(progress.size).toBe(0);
    expect(progress.deliver({ progressToken: token.progressToken, progress: 2 }, server.conn)).toBe(false);

    // the server ran the call without a task (it may): the token ends with the call
    await result(callOf(client, upstream('legacy', TAKES_TASKS).conn, { name: 'long', task: {}, _meta: { progressToken: 'again' } }));
    expect(progress.size).toBe(0);
    expect(tasks.size).toBe(1);
  });

  it('lets the progress token go with the call when the task was over as soon as it was made', async () => {
    const { tasks, progress, result } = gateway();
    const { client } = peer('legacy');
    const server = upstream('legacy', TAKES_TASKS, () => ({ task: { taskId: 'up-1', status: 'completed', ttl: 60_000 } }));
    expect(await result(callOf(client, server.conn, { name: 'long', task: {}, _meta: { progressToken: 'mine' } }))).toMatchObject({
      task: { taskId: 'gw-1', status: 'completed' },
    });
    // its result is still to be fetched, but no progress is to come
    expect(tasks.owned('gw-1', client.id)).toMatchObject({ status: 'completed' });
    expect(progress.size).toBe(0);
  });

  it('is refused with TOO_MANY_TASKS before the call reaches the server when the table is full', async () => {
    const { tasks, relay } = gateway(2);
    fill(tasks, 1);
    const { client } = peer('legacy');
    const server = upstream('legacy', TAKES_TASKS, ({ params }) => (params.arguments ? { content: [] } : legacyTask('up-1')));
    // a call answered without a task gives back the room it held
    await relay(callOf(client, server.conn, { name: 'long', arguments: {}, task: {} }));
    await relay(callOf(client, server.conn, { name: 'long', task: {} }));
    expect(server.requests).toHaveLength(2);
    await expect(relay(callOf(client, server.conn, { name: 'long', task: {} }))).rejects.toMatchObject({ code: 'TOO_MANY_TASKS' });
    expect(server.requests).toHaveLength(2);
    expect(tasks.size).toBe(2);
  });
});

describe('a 2026-07-28 client calling a tool that runs as a task only, on a 2025 server', () => {
  it('gets the task the gateway asked for, in the 2026 shape, and its progress ends with the request', async () => {
    const { tasks, progress, result } = gateway();
    const { client } = peer('modern', EXTENSION);
    const server = upstream('legacy', TAKES_TASKS, () => legacyTask('up-1'));
    // the client's own `task` param is not its to set: the gateway's (empty) one replaces it
    const params = { name: 'long', arguments: { n: 1 }, task: { ttl: 5 }, _meta: { progressToken: 'mine' } };
    expect(await result(callOf(client, server.conn, params))).toEqual({
      resultType: 'task',
      taskId: 'gw-1',
      status: 'working',
      ttlMs: 60_000,
      pollIntervalMs: 1_000,
      createdAt: 'then',
    });
    expect(server.requests[0].params).toEqual({ name: 'long', arguments: { n: 1 }, task: {}, _meta: { progressToken: expect.any(String) } });
    expect(tasks.owned('gw-1', ownerOf(client))).toMatchObject({ upstreamId: 'up-1', conn: server.conn });
    expect(progress.size).toBe(0);
  });

  it('is refused with MISSING_CLIENT_CAPABILITY naming the extension when it did not declare it', async () => {
    const { tasks, relay } = gateway();
    const server = upstream('legacy', TAKES_TASKS, () => legacyTask('up-1'));
    await expect(relay(callOf(peer('modern').client, server.conn, { name: 'long' }))).rejects.toMatchObject({
      code: 'MISSING_CLIENT_CAPABILITY',
      data: { requiredCapabilities: EXTENSION },
    });
    expect(server.requests).toEqual([]);
    expect(tasks.size).toBe(0);
  });

  it('has its `task` param stripped where the gateway asks for no task: another tool, or a server that takes none', async () => {
    const { tasks, result } = gateway();
    const { client } = peer('modern', EXTENSION);
    const takes = upstream('legacy', TAKES_TASKS);
    const takesNone = upstream('legacy', { tools: {} });
    await result(callOf(client, takes.conn, { name: 'quick', task: {} }));
    await result(callOf(client, takesNone.conn, { name: 'long', task: {} }));
    expect([...takes.requests, ...takesNone.requests].map((r) => r.params)).toEqual([
      { name: 'quick', _meta: {} },
      { name: 'long', _meta: {} },
    ]);
    expect(tasks.size).toBe(0);
  });
});

describe('a 2026-07-28 server of the tasks extension', () => {
  it("is told a 2025 client declares the extension only when its call has the `task` param, and the client gets the server's task renamed, in the 2025 shape", async () => {
    const { tasks, result } = gateway();
    const { client } = peer('legacy', { elicitation: {} });
    const server = upstream('modern', EXTENSION, ({ params }) => (params.task ? modernTask('up-7') : { content: [] }));
    expect(await result(callOf(client, server.conn, { name: 'quick', task: {} }))).toEqual({
      task: { taskId: 'gw-1', status: 'working', ttl: 30_000, pollInterval: 500 },
    });
    expect(await result(callOf(client, server.conn, { name: 'quick' }))).toEqual({ content: [] });
    expect(server.requests.map((r) => envelopeCapabilities(r.params))).toEqual([{ elicitation: {}, ...EXTENSION }, { elicitation: {} }]);
    // the `task` param goes along as a hint
    expect(server.requests[0].params.task).toEqual({});
    expect(tasks.owned('gw-1', client.id)).toMatchObject({ upstreamId: 'up-7', conn: server.conn });
    expect(tasks.size).toBe(1);
  });

  it('gives a 2026 client that declared the extension its task under the gateway id, and passes the calls of one that did not', async () => {
    const { tasks, result } = gateway();
    const server = upstream('modern', EXTENSION, ({ params }) => (declaresTasksExtension(envelopeCapabilities(params)) ? modernTask('up-7') : { content: [] }));
    /** A call as the upstream era stage, before this one, hands it on: the client's capabilities in the envelope. */
    const enveloped = (client: ClientPeer, params: Obj) => {
      const call = callOf(client, server.conn, params);
      call.meta[META.clientCapabilities] = client.capabilities;
      return call;
    };
    const declaring = peer('modern', EXTENSION).client;
    expect(await result(enveloped(declaring, { name: 'quick' }))).toEqual({ ...modernTask('up-7'), taskId: 'gw-1' });
    expect(tasks.owned('gw-1', ownerOf(declaring))).toMatchObject({ upstreamId: 'up-7' });
    expect(await result(enveloped(peer('modern').client, { name: 'quick', task: {} }))).toEqual({ content: [] });
    expect(tasks.size).toBe(1);
  });

  it("cancels the server's task and refuses the call with TOO_MANY_TASKS when the table has no room for it", async () => {
    const { tasks, relay } = gateway(1);
    fill(tasks, 1);
    const { client } = peer('legacy');
    const server = upstream('modern', EXTENSION, () => modernTask('up-7'));
    await expect(relay(callOf(client, server.conn, { name: 'quick', task: {} }))).rejects.toMatchObject({ code: 'TOO_MANY_TASKS' });
    expect(server.ownAccord).toEqual([{ method: 'tasks/cancel', params: { taskId: 'up-7', _meta: { [META.clientCapabilities]: EXTENSION } } }]);
    expect(tasks.upstream(server.conn, 'up-7')).toBeUndefined();
    expect(tasks.size).toBe(1);
  });
});
