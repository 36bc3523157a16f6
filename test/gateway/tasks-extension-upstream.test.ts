/**
 * Tasks of 2026-07-28 servers of the tasks extension (io.modelcontextprotocol/tasks), through the
 * gateway, for clients of both eras. The server is the project's conformance fixture (SDK v2, 44/44
 * of the suite's tasks scenarios directly), over stdio and over Streamable HTTP.
 *
 * - A 2026-07-28 client declares the extension per request and talks to the server's task under
 *   the gateway's id (the official suite runs the same through the gateway: run-conformance.ts).
 * - An SDK v1 client (2025-11-25) asks for a task with the `task` param and uses 2025 tasks: the
 *   gateway declares the extension for it, answers tasks/get as a 2025 Task, waits for the outcome
 *   in tasks/result and puts the task's questions to the client as requests tied to the task.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, CreateTaskResultSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { RELATED_TASK, TASKS_EXTENSION } from '../../gateway/relay/task-messages';
import { requireCurrentBuild } from '../helpers/dist';
import { fixtureStdio, startFixtureHttp } from '../helpers/fixture-servers';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import { envelope, modernRequest, postModern } from '../helpers/raw-modern';
import type { RemoteServer } from '../helpers/remote-servers';
import { startTcpProxy } from '../helpers/tcp-proxy';
import { waitFor } from '../helpers/wait';

jest.setTimeout(60_000);

const WITH_TASKS = envelope({ elicitation: {}, extensions: { [TASKS_EXTENSION]: {} } });
const marker = newMarker();
let gw: TestGateway;
let http: RemoteServer;
const clients: Client[] = [];
let id = 0;

/** One 2026-07-28 request to the gateway; its status and its one JSON-RPC answer. */
async function modern(method: string, params: Record<string, unknown>, meta = WITH_TASKS, to: TestGateway = gw) {
  const reply = await postModern(`${to.url}/mcp`, modernRequest(++id, method, params, meta));
  return { status: reply.status, ...reply.messages.at(-1) };
}

/** The server's own id of a task, from the gateway's "task created" line (both ids are logged for operators). */
async function upstreamTaskOf(taskId: string): Promise<string> {
  const line = await waitFor(() => gw.logs.find((l) => l.msg === 'task created' && l.task === taskId), `the log line of task ${taskId}`);
  return line.upstreamTask as string;
}

/** Polls tasks/get until the task is in `status`. */
function reached(taskId: string, status: string) {
  return waitFor(async () => {
    const got = await modern('tasks/get', { taskId });
    return got.result?.status === status ? got.result : undefined;
  }, `task ${taskId} to be ${status}`);
}

function textOf(result: unknown): string {
  return (result as { content: { text: string }[] }).content.map((c) => c.text).join('\n');
}

beforeAll(async () => {
  requireCurrentBuild(['test/conformance', 'gateway']);
  http = await startFixtureHttp(marker);
  gw = await startTestGateway({ servers: { fx: fixtureStdio(marker), fh: { url: http.url } } }, marker);
});

afterAll(async () => {
  for (const c of clients) await disconnect(c).catch(() => {});
  await gw?.stop();
  await http?.stop();
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

describe.each(['fx', 'fh'])('a 2026-07-28 client, server %s', (server) => {
  it('gets the task the server makes under an id of the gateway, and reads its outcome inline', async () => {
    expect((await modern('server/discover', {})).result.capabilities.extensions).toEqual({ [TASKS_EXTENSION]: {} });
    const created = await modern('tools/call', { name: `${server}__slow_compute`, arguments: { seconds: 0.2, label: 'inline' } });
    expect(created.result).toMatchObject({ resultType: 'task', status: 'working', ttlMs: expect.any(Number) });
    const taskId = created.result.taskId as string;
    const done = await reached(taskId, 'completed');
    expect(done).toMatchObject({ taskId, result: { content: [{ type: 'text', text: 'Computed inline after 0.2 s' }] } });
    // the server's own id is not the client's to use
    expect(await upstreamTaskOf(taskId)).not.toBe(taskId);
  });

  it('answers the questions of an input_required task with tasks/update under the server’s keys', async () => {
    const { result } = await modern('tools/call', { name: `${server}__confirm_delete`, arguments: { filename: 'a.txt' } });
    const taskId = result.taskId as string;
    const asking = await reached(taskId, 'input_required');
    expect(Object.keys(asking.inputRequests)).toEqual(['confirm']);
    const ack = await modern('tasks/update', { taskId, inputResponses: { confirm: { action: 'accept', content: { confirm: true } } } });
    expect(ack.result).toMatchObject({ resultType: 'complete' });
    expect(ack.result).not.toHaveProperty('status');
    const done = await reached(taskId, 'completed');
    expect(textOf(done.result)).toBe('Deleted a.txt');
  });

  it('refuses tasks/* to a client without the extension (-32021), and a task id of the server or of nobody (-32602)', async () => {
    const { result } = await modern('tools/call', { name: `${server}__slow_compute`, arguments: { seconds: 30 } });
    const taskId = result.taskId as string;
    const refused = await modern('tasks/get', { taskId }, envelope());
    expect(refused.error).toMatchObject({ code: -32021, data: { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } } });
    expect((await modern('tasks/get', { taskId: await upstreamTaskOf(taskId) })).error).toMatchObject({ code: -32602 });
    expect((await modern('tasks/get', { taskId: 'no-such-task' })).error).toMatchObject({ code: -32602 });
    expect((await modern('tasks/cancel', { taskId })).result).toMatchObject({ resultType: 'complete' });
    expect((await modern('tasks/get', { taskId })).result.status).toBe('cancelled');
  });
});

it("keeps a 2026-07-28 server's task through a lost connection, and reads it on the next one", async () => {
  const proxy = await startTcpProxy(Number(new URL(http.url).port));
  const behind = await startTestGateway(
    { servers: { fp: { url: `http://127.0.0.1:${proxy.port}/mcp`, restart: { initialDelayMs: 50, maxDelayMs: 200 } } } },
    marker,
  );
  try {
    const created = await modern('tools/call', { name: 'fp__slow_compute', arguments: { seconds: 1, label: 'across' } }, WITH_TASKS, behind);
    const taskId = created.result.taskId as string;
    const backend = behind.registry.groupFor(undefined, 'fp')!.backend('primary')!;
    // the link drops (the server runs on): the gateway's listen stream breaks with it, and it connects again
    proxy.cut();
    await waitFor(() => backend.connections.lost === 1 && backend.ready, 'the gateway to lose its connection and make a new one');
    const done = await waitFor(async () => {
      const got = await modern('tasks/get', { taskId }, WITH_TASKS, behind);
      return got.result?.status === 'completed' ? got.result : undefined;
    }, `task ${taskId} to be read completed on the new connection`);
    expect(textOf(done.result)).toBe('Computed across after 1 s');
  } finally {
    await behind.stop();
    await proxy.close();
  }
});

it("cancels the server's task and refuses the call when the gateway's task table is full, naming tasks.maxTasks", async () => {
  const small = await startTestGateway({ servers: { fh: { url: http.url } }, tasks: { maxTasks: 2 } }, marker);
  try {
    const call = () => modern('tools/call', { name: 'fh__slow_compute', arguments: { seconds: 30 } }, WITH_TASKS, small);
    const running = [(await call()).result.taskId as string, (await call()).result.taskId as string];
    const refused = await call();
    expect(refused.error?.message).toMatch(/already holds 2 tasks \(tasks\.maxTasks\); the server's task was cancelled/);
    // the task the server made for the refused call was cancelled at the server
    const line = await waitFor(() => small.logs.find((l) => l.msg === 'task table full: the task the server made was cancelled'), 'the refusal to be logged');
    const direct = (method: string) => postModern(http.url, modernRequest(++id, method, { taskId: line.upstreamTask }, WITH_TASKS));
    await waitFor(async () => (await direct('tasks/get')).messages[0]?.result?.status === 'cancelled', "the server's task to be cancelled");
    for (const taskId of running) {
      expect((await modern('tasks/cancel', { taskId }, WITH_TASKS, small)).result).toMatchObject({ resultType: 'complete' });
      await waitFor(async () => (await modern('tasks/get', { taskId }, WITH_TASKS, small)).result?.status === 'cancelled', `task ${taskId} to be cancelled`);
    }
    // finished tasks make way: a new one fits again
    expect((await call()).result.resultType).toBe('task');
  } finally {
    await small.stop();
  }
});

describe.each(['fx', 'fh'])('an SDK v1 client, server %s', (server) => {
  async function v1Client(asked: string[] = []): Promise<Client> {
    const client = await connectClient(gw, 'streamable-http', {
      capabilities: { elicitation: {} },
      setup: (c) =>
        c.setRequestHandler(ElicitRequestSchema, async (r) => {
          asked.push(`${r.params.message} (task ${String((r.params._meta?.[RELATED_TASK] as { taskId?: string } | undefined)?.taskId)})`);
          return { action: 'accept', content: { confirm: true } };
        }),
    });
    clients.push(client);
    return client;
  }

  it('gets a 2025 task for a call with the task param, polls it and fetches its result', async () => {
    const client = await v1Client();
    expect(client.getServerCapabilities()?.tasks).toEqual({ list: {}, cancel: {}, requests: { tools: { call: {} } } });
    const created = await client.request(
      { method: 'tools/call', params: { name: `${server}__slow_compute`, arguments: { seconds: 0.2, label: 'v1' }, task: { ttl: 60_000 } } },
      CreateTaskResultSchema,
    );
    const { taskId } = created.task;
    expect(created.task).toMatchObject({ status: 'working', ttl: expect.any(Number), pollInterval: expect.any(Number) });
    expect(created.task).not.toHaveProperty('ttlMs');
    const result = await client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
    expect(textOf(result)).toBe('Computed v1 after 0.2 s');
    expect(await client.experimental.tasks.getTask(taskId)).toMatchObject({ taskId, status: 'completed' });
    expect((await client.experimental.tasks.listTasks()).tasks.map((t) => t.taskId)).toContain(taskId);
  });

  it("puts the task's question to the client, tied to the task, and returns the result it led to", async () => {
    const asked: string[] = [];
    const client = await v1Client(asked);
    const created = await client.request(
      { method: 'tools/call', params: { name: `${server}__confirm_delete`, arguments: { filename: 'b.txt' }, task: {} } },
      CreateTaskResultSchema,
    );
    const { taskId } = created.task;
    const result = await client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
    expect([asked, textOf(result)]).toEqual([[`Delete b.txt? (task ${taskId})`], 'Deleted b.txt']);
  });

  it('cancels a task, and gets a failed task’s error from tasks/result', async () => {
    const client = await v1Client();
    const long = await client.request(
      { method: 'tools/call', params: { name: `${server}__slow_compute`, arguments: { seconds: 30 }, task: {} } },
      CreateTaskResultSchema,
    );
    expect(await client.experimental.tasks.cancelTask(long.task.taskId)).toMatchObject({ taskId: long.task.taskId, status: 'cancelled' });
    const crashed = await client.request(
      { method: 'tools/call', params: { name: `${server}__protocol_error_job`, arguments: {}, task: {} } },
      CreateTaskResultSchema,
    );
    await expect(client.experimental.tasks.getTaskResult(crashed.task.taskId, CallToolResultSchema)).rejects.toMatchObject({
      code: -32603,
      message: expect.stringContaining('the job crashed'),
    });
  });

  it('runs a call without the task param synchronously: no task is made for it', async () => {
    const client = await v1Client();
    const before = gw.logs.filter((l) => l.msg === 'task created').length;
    const result = await client.callTool({ name: `${server}__slow_compute`, arguments: { seconds: 0, label: 'sync' } });
    expect(textOf(result)).toBe('Computed sync after 0 s');
    expect(gw.logs.filter((l) => l.msg === 'task created')).toHaveLength(before);
  });
});
