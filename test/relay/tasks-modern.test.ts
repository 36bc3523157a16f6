/**
 * The 2026-07-28 tasks extension through the gateway, over a 2025 server (real server-everything):
 * negotiated through each request's `_meta` and server/discover, the gateway asks the server for a
 * task where the tool runs as a task only, and a modern client polls it with tasks/get until the
 * result comes inline. Raw requests, so the exact wire shape is asserted.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CreateTaskResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { META } from '../../gateway/protocol/eras';
import { TASKS_EXTENSION } from '../../gateway/relay/task-messages';
import { connectClient, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import { envelope, modernRequest, openModern, postModern } from '../helpers/raw-modern';
import { everything } from '../helpers/servers';
import { waitFor } from '../helpers/wait';

const RESEARCH = 'ev__simulate-research-query';
const WITH_TASKS = envelope({ extensions: { [TASKS_EXTENSION]: {} } });

describe('the tasks extension for 2026-07-28 clients, over a 2025 server', () => {
  const marker = newMarker();
  let gw: TestGateway;
  let mcp: string;
  let id = 0;

  /** One modern request; resolves with its one JSON-RPC answer and the HTTP status. */
  async function modern(method: string, params: Record<string, unknown>, meta = WITH_TASKS, headers: Record<string, string> = {}) {
    const reply = await postModern(mcp, modernRequest(++id, method, params, meta), headers);
    return { status: reply.status, ...reply.messages.at(-1) };
  }

  beforeAll(async () => {
    gw = await startTestGateway({ servers: { ev: everything(marker, { prefix: 'ev' }) } }, marker);
    mcp = `${gw.url}/mcp`;
  });

  afterAll(async () => {
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('offers the extension in server/discover', async () => {
    const { result } = await modern('server/discover', {});
    expect(result.capabilities.extensions).toEqual({ [TASKS_EXTENSION]: {} });
  });

  it('refuses a task-only tool to a client that did not declare the extension (-32021, naming it)', async () => {
    const reply = await modern('tools/call', { name: RESEARCH, arguments: { topic: 'tides' } }, envelope());
    expect(reply.status).toBe(400);
    expect(reply.error).toMatchObject({ code: -32021, data: { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } } });
  });

  it('answers a task, then its result inline in tasks/get once it completed', async () => {
    const created = await modern('tools/call', { name: RESEARCH, arguments: { topic: 'tides' } });
    expect(created.result).toMatchObject({ resultType: 'task', status: 'working', ttlMs: expect.any(Number), pollIntervalMs: expect.any(Number) });
    expect(created.result).not.toHaveProperty('task');
    const { taskId } = created.result;
    const done = await waitFor(async () => {
      const { result } = await modern('tasks/get', { taskId });
      return result.status === 'completed' ? result : undefined;
    }, 'the task to complete');
    expect(done).toMatchObject({ resultType: 'complete', taskId, status: 'completed' });
    expect(done).not.toHaveProperty('ttl');
    expect(done.result.content[0].text).toContain('# Research Report: tides');
    // kept until its ttl: asked again, the same outcome
    expect((await modern('tasks/get', { taskId })).result).toMatchObject({ status: 'completed', result: done.result });
  });

  it('carries the server’s question during a task as inputRequests, and tasks/update answers it', async () => {
    const { taskId } = (await modern('tools/call', { name: RESEARCH, arguments: { topic: 'python', ambiguous: true } })).result;
    const asking = await waitFor(async () => {
      const { result } = await modern('tasks/get', { taskId });
      return result.status === 'input_required' ? result : undefined;
    }, 'the task’s question');
    const [[key, question], ...others] = Object.entries(asking.inputRequests as Record<string, any>);
    expect(others).toEqual([]);
    expect(question).toMatchObject({ method: 'elicitation/create', params: { message: expect.stringContaining('"python"') } });
    expect(await modern('tasks/update', { taskId, inputResponses: { [key]: { action: 'accept', content: { interpretation: 'snake' } } } })).toMatchObject({
      result: { resultType: 'complete' },
    });
    const done = await waitFor(async () => {
      const { result } = await modern('tasks/get', { taskId });
      return result.status === 'completed' ? result : undefined;
    }, 'the task to complete');
    expect(done.result.content[0].text).toContain('**Clarification**: snake');
  });

  it('streams a task’s changes on subscriptions/listen: its question, then its result inline', async () => {
    const { taskId } = (await modern('tools/call', { name: RESEARCH, arguments: { topic: 'python', ambiguous: true } })).result;
    const stream = await openModern(mcp, modernRequest('listen-t', 'subscriptions/listen', { notifications: { taskIds: [taskId, 'not-a-task'] } }, WITH_TASKS));
    const tasksHeard = () => stream.events.map((e) => e.data).filter((m) => m.method === 'notifications/tasks');
    try {
      await waitFor(() => stream.events.length > 0, 'the acknowledgement');
      expect(stream.events[0].data.params.notifications).toEqual({ taskIds: [taskId] });
      const asking = await waitFor(() => tasksHeard().find((m) => m.params.status === 'input_required'), 'the question on the stream');
      expect(asking.params).toMatchObject({ taskId, _meta: { [META.subscriptionId]: 'listen-t' } });
      const [[key, question]] = Object.entries(asking.params.inputRequests as Record<string, any>);
      expect(question.method).toBe('elicitation/create');
      await modern('tasks/update', { taskId, inputResponses: { [key]: { action: 'accept', content: { interpretation: 'comedy' } } } });
      const done = await waitFor(() => tasksHeard().find((m) => m.params.status === 'completed'), 'the result on the stream');
      expect(done.params.result.content[0].text).toContain('**Clarification**: comedy');
      expect(tasksHeard().every((m) => m.params.taskId === taskId)).toBe(true);
    } finally {
      await stream.close();
    }
    // polling still works: the outcome the gateway gathered answers it
    expect((await modern('tasks/get', { taskId })).result).toMatchObject({ status: 'completed' });
  });

  it('refuses task notifications on a listen stream to a client that did not declare the extension (-32021)', async () => {
    const reply = await modern('subscriptions/listen', { notifications: { taskIds: ['any'] } }, envelope());
    expect([reply.status, reply.error?.code]).toEqual([400, -32021]);
  });

  it('acknowledges tasks/cancel and tasks/update with an empty result, and the task reads cancelled', async () => {
    const { taskId } = (await modern('tools/call', { name: RESEARCH, arguments: { topic: 'reefs' } })).result;
    expect(await modern('tasks/update', { taskId, inputResponses: { q1: { action: 'decline' } } })).toMatchObject({ result: { resultType: 'complete' } });
    const cancelled = await modern('tasks/cancel', { taskId });
    expect(Object.keys(cancelled.result).sort()).toEqual(['_meta', 'resultType']);
    expect((await modern('tasks/get', { taskId })).result).toMatchObject({ taskId, status: 'cancelled' });
  });

  it('answers an unknown task id with -32602, and an Mcp-Name that is not the task id with -32020', async () => {
    for (const method of ['tasks/get', 'tasks/update', 'tasks/cancel'])
      expect((await modern(method, { taskId: 'no-such-task', inputResponses: {} })).error).toMatchObject({ code: -32602 });
    const { taskId } = (await modern('tools/call', { name: RESEARCH, arguments: { topic: 'dunes' } })).result;
    const mismatch = await modern('tasks/get', { taskId }, WITH_TASKS, { 'mcp-name': 'another-task' });
    expect([mismatch.status, mismatch.error.code]).toEqual([400, -32020]);
    await modern('tasks/cancel', { taskId });
  });

  it('keeps modern clients’ tasks and a 2025 session’s apart', async () => {
    const session: Client = await connectClient(gw, 'streamable-http');
    try {
      const { taskId } = (await modern('tools/call', { name: RESEARCH, arguments: { topic: 'caves' } })).result;
      await expect(session.experimental.tasks.getTask(taskId)).rejects.toMatchObject({ code: -32602 });
      const theirs = await session.request(
        { method: 'tools/call', params: { name: RESEARCH, arguments: { topic: 'mesas' }, task: { ttl: 60_000 } } },
        CreateTaskResultSchema,
      );
      expect((await modern('tasks/get', { taskId: theirs.task.taskId })).error).toMatchObject({ code: -32602 });
      await session.experimental.tasks.cancelTask(theirs.task.taskId);
      await modern('tasks/cancel', { taskId });
    } finally {
      await session.close();
    }
  });
});
