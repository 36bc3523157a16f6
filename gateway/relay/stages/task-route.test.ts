/**
 * Routing by task id, with two in-memory SDK servers that both call their first task "task-1":
 * the client sees two different ids, each reaching the server that holds it under that server's
 * own id, in results, status notifications and tasks/list alike; another client finds neither.
 */
import pino from 'pino';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CallToolRequestSchema,
  CallToolResultSchema,
  CancelTaskRequestSchema,
  CreateTaskResultSchema,
  GetTaskPayloadRequestSchema,
  GetTaskRequestSchema,
  ListToolsRequestSchema,
  McpError,
  TaskStatusNotificationSchema,
  type Task,
} from '@modelcontextprotocol/sdk/types.js';
import { memoryGateway, type MemoryGateway } from '../../../test/helpers/memory-gateway';
import { parseBackendBody } from '../../admin/bodies';
import { parseMetrics, sampleValue } from '../../../test/helpers/metrics';
import { waitFor } from '../../../test/helpers/wait';
import { envelope } from '../../../test/helpers/raw-modern';
import { resultResponse, type JsonRpcResponse } from '../../protocol/jsonrpc';
import { readEnvelope } from '../../session/stateless-requests';
import type { ServerGroup } from '../../servers/group';
import type { UpstreamConnection } from '../../upstream/connection';
import type { ClientPeer } from '../clients';
import { Cancellation, type Call } from '../context';
import { RELATED_TASK, TASKS_EXTENSION } from '../task-messages';
import { TaskTable } from '../tasks';
import { ANONYMOUS } from '../../auth/principal';
import { taskRouteStage } from './task-route';

/** A server that numbers its tasks from 1, finishes them when asked for the result, and says whose it is. */
function taskServer(name: string) {
  return (backend: string) => {
    const server = new McpServer({ name, version: '1' }, { capabilities: { tools: {}, tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } } });
    const tasks = new Map<string, Task>();
    const labels = new Map<string, unknown>();
    const progressTokens = new Map<string, string | number>();
    const raw = server.server;
    const now = new Date().toISOString();
    raw.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: [{ name: 'work', inputSchema: { type: 'object' as const }, execution: { taskSupport: 'optional' as const } }],
    }));
    raw.setRequestHandler(CallToolRequestSchema, async (r) => {
      if (!r.params.task) return { content: [{ type: 'text', text: `${name} without a task` }] };
      const task: Task = { taskId: `task-${tasks.size + 1}`, status: 'working', ttl: 60_000, createdAt: now, lastUpdatedAt: now };
      tasks.set(task.taskId, task);
      labels.set(task.taskId, r.params.arguments?.label);
      const token = r.params._meta?.progressToken;
      if (token !== undefined) progressTokens.set(task.taskId, token);
      return { task };
    });
    const known = (taskId: string) => {
      const task = tasks.get(taskId);
      if (!task) throw new McpError(-32602, 'Failed to retrieve task: Task not found');
      return task;
    };
    raw.setRequestHandler(GetTaskRequestSchema, async (r) => {
      const task = known(r.params.taskId);
      // progress long after the call that created the task was answered
      const progressToken = progressTokens.get(task.taskId);
      if (progressToken !== undefined) await raw.notification({ method: 'notifications/progress', params: { progressToken, progress: 1, total: 2 } });
      return task;
    });
    raw.setRequestHandler(CancelTaskRequestSchema, async (r) => {
      const task = Object.assign(known(r.params.taskId), { status: 'cancelled' as const });
      await raw.notification({ method: 'notifications/tasks/status', params: task });
      return task;
    });
    raw.setRequestHandler(GetTaskPayloadRequestSchema, async (r) => {
      const task = Object.assign(known(r.params.taskId), { status: 'completed' as const });
      const label = labels.get(task.taskId);
      return {
        content: [{ type: 'text', text: `${name}/${backend} ${task.taskId}${label ? ` ${String(label)}` : ''}` }],
        _meta: { [RELATED_TASK]: { taskId: task.taskId } },
      };
    });
    return server;
  };
}

function create(client: Client, tool: string, args: Record<string, unknown> = {}) {
  return client.request({ method: 'tools/call', params: { name: tool, arguments: args, task: { ttl: 60_000 } } }, CreateTaskResultSchema);
}

function textOf(result: { content: unknown[] }): string {
  return (result.content as { text: string }[])[0].text;
}

describe('routing by task id', () => {
  let gw: MemoryGateway;
  let owner: Client;
  let other: Client;
  const statuses: unknown[] = [];
  const othersStatuses: unknown[] = [];

  beforeAll(async () => {
    gw = await memoryGateway({ a: {}, b: {} }, { a: taskServer('a'), b: taskServer('b') }, { pageSize: 1 });
    owner = await gw.connect({
      capabilities: {},
      setup: (c) => c.setNotificationHandler(TaskStatusNotificationSchema, (n) => void statuses.push(n.params)),
    });
    other = await gw.connect({
      capabilities: {},
      setup: (c) => c.setNotificationHandler(TaskStatusNotificationSchema, (n) => void othersStatuses.push(n.params)),
    });
  });

  afterAll(async () => {
    await gw.stop();
  });

  it('hands out distinct ids for the same upstream id, each routed to its own server', async () => {
    const onA = (await create(owner, 'a__work')).task.taskId;
    const onB = (await create(owner, 'b__work')).task.taskId;
    expect(new Set([onA, onB, 'task-1']).size).toBe(3);
    expect(await owner.experimental.tasks.getTask(onB)).toMatchObject({ taskId: onB, status: 'working' });

    const listed: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await owner.experimental.tasks.listTasks(cursor);
      listed.push(...page.tasks.map((t) => t.taskId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(listed).toEqual([onA, onB]);

    expect(await other.experimental.tasks.listTasks()).toEqual({ tasks: [] });
    await expect(other.experimental.tasks.getTask(onA)).rejects.toMatchObject({ code: -32602 });
    await expect(other.experimental.tasks.cancelTask(onA)).rejects.toMatchObject({ code: -32602 });

    expect(await owner.experimental.tasks.cancelTask(onB)).toMatchObject({ taskId: onB, status: 'cancelled' });
    await waitFor(() => statuses.length > 0, 'the status notification');
    expect(statuses).toEqual([expect.objectContaining({ taskId: onB, status: 'cancelled' })]);
    // it went to the owner alone (a ping after it, answered, proves nothing else was on its way)
    await other.ping();
    expect(othersStatuses).toEqual([]);

    const result = await owner.experimental.tasks.getTaskResult(onA, CallToolResultSchema);
    expect(textOf(result)).toBe('a/primary task-1');
    expect(result._meta).toEqual({ [RELATED_TASK]: { taskId: onA } });
    // fetched or cancelled, both stay until their ttl, as the servers keep them
    expect(await owner.experimental.tasks.getTask(onA)).toMatchObject({ taskId: onA });
    expect(gw.core.tasks.size).toBe(2);
  });

  it('declares the tasks capability the servers offer', () => {
    expect(owner.getServerCapabilities()?.tasks).toEqual({ list: {}, cancel: {}, requests: { tools: { call: {} } } });
  });

  it('never lets a client reach a task by the upstream id', async () => {
    await expect(owner.experimental.tasks.getTask('task-1')).rejects.toMatchObject({ code: -32602, message: expect.stringContaining('Task not found') });
  });
});

describe('a task on a server with two backends', () => {
  let gw: MemoryGateway;

  beforeAll(async () => {
    gw = await memoryGateway({ a: {} }, { a: taskServer('a') });
    await gw.core.registry.addBackend('a', parseBackendBody({ id: 'canary', weight: 100, command: 'in-memory' }, gw.core.registry.get('a').config));
  });

  afterAll(async () => {
    await gw.stop();
  });

  it('is served by the backend that created it, whatever the weights would pick', async () => {
    const client = await gw.connect();
    const labels = ['one', 'two', 'three', 'four'];
    const ids: string[] = [];
    for (const label of labels) ids.push((await create(client, 'a__work', { label })).task.taskId);
    // both backends hold tasks called task-1 and task-2; fetched in reverse, a pick by weight would mix them up
    const texts: string[] = [];
    for (const id of [...ids].reverse()) texts.unshift(textOf(await client.experimental.tasks.getTaskResult(id, CallToolResultSchema)));
    expect(texts.map((t) => t.split(' ')[2])).toEqual(labels);
    expect(new Set(texts.map((t) => t.split(' ')[0]))).toEqual(new Set(['a/primary', 'a/canary']));
  });

  it('keeps the progress token of the call that created it for the task’s life', async () => {
    const client = await gw.connect();
    const progress: unknown[] = [];
    const created = await client.request({ method: 'tools/call', params: { name: 'a__work', arguments: {}, task: { ttl: 60_000 } } }, CreateTaskResultSchema, {
      onprogress: (p) => void progress.push(p),
    });
    expect(gw.core.progress.size).toBe(1);
    await client.experimental.tasks.getTask(created.task.taskId);
    await waitFor(() => progress.length > 0, 'progress of the task');
    expect(progress).toEqual([{ progress: 1, total: 2 }]);
    await client.experimental.tasks.getTaskResult(created.task.taskId, CallToolResultSchema);
    expect(gw.core.progress.size).toBe(0);
  });

  it('is logged with both ids, counted in the tasks gauge, and forgotten when the client that created it leaves', async () => {
    const client = await gw.connect();
    const tasksGauge = async () => sampleValue(parseMetrics((await gw.core.metrics.scrape()).body), 'mcp_gateway_tasks');
    const before = gw.core.tasks.size;
    expect(await tasksGauge()).toBe(before);
    const { taskId } = (await create(client, 'a__work')).task;
    expect(gw.logs.filter((l) => l.msg === 'task created' && l.task === taskId)).toEqual([
      expect.objectContaining({ server: 'a', upstreamTask: expect.stringMatching(/^task-\d+$/) }),
    ]);
    expect(await tasksGauge()).toBe(before + 1);
    await client.close();
    await waitFor(() => gw.core.tasks.size === before, 'the task table to forget the task');
    expect(await tasksGauge()).toBe(before);
  });
});

describe('a full task table', () => {
  it('refuses a task-augmented call before it reaches the server, and takes one again once a task was fetched', async () => {
    const gw = await memoryGateway({ a: {} }, { a: taskServer('a') }, { tasks: { maxTasks: 1 } });
    try {
      const client = await gw.connect();
      const first = (await create(client, 'a__work')).task.taskId;
      await expect(create(client, 'a__work')).rejects.toMatchObject({ code: -32600, message: expect.stringContaining('tasks.maxTasks') });
      await client.experimental.tasks.getTaskResult(first, CallToolResultSchema);
      const next = (await create(client, 'a__work')).task.taskId;
      // the refused call made no task upstream: the server's second task is this one
      expect(textOf(await client.experimental.tasks.getTaskResult(next, CallToolResultSchema))).toBe('a/primary task-2');
    } finally {
      await gw.stop();
    }
  });
});

describe('a 2026-07-28 client calling a tool that may run as a task', () => {
  it('gets a plain result: the gateway asks for tasks only where a tool requires them, and a 2025-style task param is not the client’s to set', async () => {
    const gw = await memoryGateway({ a: {} }, { a: taskServer('a') });
    try {
      const answers: JsonRpcResponse[] = [];
      const sink = { notify: () => {}, answer: (r: JsonRpcResponse) => void answers.push(r), onGone: () => {} };
      const withTasks = readEnvelope(envelope({ extensions: { [TASKS_EXTENSION]: {} } }));
      for (const [id, params] of [
        [1, { name: 'a__work', arguments: {} }],
        [2, { name: 'a__work', arguments: {}, task: { ttl: 1000 } }],
      ] as const)
        await gw.core.stateless.serve({ jsonrpc: '2.0', id, method: 'tools/call', params }, withTasks, sink, ANONYMOUS);
      expect(answers.map((a) => ('result' in a ? [a.result.resultType, a.result.content] : a.error))).toEqual([
        ['complete', [{ type: 'text', text: 'a without a task' }]],
        ['complete', [{ type: 'text', text: 'a without a task' }]],
      ]);
      expect(gw.core.tasks.size).toBe(0);
    } finally {
      await gw.stop();
    }
  });
});

describe('the deadline of a task request', () => {
  it('lets tasks/result wait as long as the task lives, other task requests as long as the server allows', async () => {
    const clock = { now: 0 };
    const tasks = new TaskTable({ maxTasks: 10, maxTtlMs: 3_600_000 }, () => clock.now);
    const conn = { isOpen: true } as UpstreamConnection;
    const group = {
      name: 'a',
      backends: [{ ready: true, connection: conn, holds: (c: UpstreamConnection) => c === conn }],
      config: { requestTimeoutMs: 100 },
    } as unknown as ServerGroup;
    const client = { id: 'c', era: 'legacy', log: { info: () => {} } } as unknown as ClientPeer;
    const entry = tasks.add({ clientId: 'c', server: 'a', backend: 'primary', conn, task: { taskId: 'up', status: 'working', ttl: 30_000 } });
    clock.now = 10_000;
    const seen: Call[] = [];
    const stage = taskRouteStage(tasks, { group: () => group });
    for (const method of ['tasks/get', 'tasks/result']) {
      const params = { taskId: entry.id };
      const request = { jsonrpc: '2.0' as const, id: 1, method, params };
      await stage({ request, client, cancellation: new Cancellation(), params, meta: {}, log: pino({ level: 'silent' }) }, async (call) => {
        seen.push(call);
        return resultResponse(1, {});
      });
    }
    expect(seen.map((c) => [c.request.method, c.params.taskId, c.timeoutMs])).toEqual([
      ['tasks/get', 'up', undefined],
      ['tasks/result', 'up', 20_000],
    ]);
  });
});

describe('a task whose backend is reconnecting', () => {
  it("answers UPSTREAM_UNAVAILABLE for a 2026-07-28 server's task (the server still holds it), and task not found for a 2025 session's", async () => {
    const tasks = new TaskTable({ maxTasks: 10, maxTtlMs: 3_600_000 });
    const lost = { isOpen: false, era: 'modern' } as UpstreamConnection;
    const session = { isOpen: true, era: 'legacy' } as UpstreamConnection;
    // its one backend is not ready yet
    const group = { name: 'a', backends: [{ ready: false, holds: () => false }], config: { requestTimeoutMs: 100 } } as unknown as ServerGroup;
    const client = { id: 'c', era: 'legacy', log: { info: () => {} } } as unknown as ClientPeer;
    const stage = taskRouteStage(tasks, { group: () => group });
    const get = (taskId: string) => {
      const params = { taskId };
      const request = { jsonrpc: '2.0' as const, id: 1, method: 'tasks/get', params };
      return stage({ request, client, cancellation: new Cancellation(), params, meta: {}, log: pino({ level: 'silent' }) }, async () => resultResponse(1, {}));
    };
    const modern = tasks.add({ clientId: 'c', server: 'a', backend: 'primary', conn: lost, task: { taskId: 'up-1', status: 'working' } });
    const legacy = tasks.add({ clientId: 'c', server: 'a', backend: 'primary', conn: session, task: { taskId: 'up-2', status: 'working' } });
    await expect(get(modern.id)).rejects.toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      message: `server "a", which holds task ${modern.id}, is reconnecting; retry shortly`,
      data: { server: 'a', taskId: modern.id },
    });
    await expect(get(legacy.id)).rejects.toMatchObject({ code: 'UNKNOWN_TASK' });
    expect(tasks.owned(modern.id, 'c')).toBe(modern);
  });
});
