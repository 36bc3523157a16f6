/**
 * Tasks (MCP 2025-11-25) through the gateway, with real server-everything and official SDK v1
 * clients: a task-augmented tools/call creates a task upstream, and the client then polls, fetches
 * and cancels it through the gateway, under an id of the gateway's that only it can use. Status
 * notifications and the task's own questions (elicitation) reach the client that owns the task.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, CreateTaskResultSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { RELATED_TASK } from '../../gateway/relay/task-messages';
import { FRONTS, connectClient, newMarker, startTestGateway } from '../helpers/gateway';
import { waitForNoProcesses } from '../helpers/processes';
import { memory } from '../helpers/servers';
import { waitFor } from '../helpers/wait';
import { RelayFixture, tool } from './support/fixture';
import { Inbox } from './support/inbox';
import { WireTap } from './support/wire-tap';

const RESEARCH = tool('simulate-research-query');

function startResearch(client: Client, topic: string, ambiguous = false) {
  return client.request({ method: 'tools/call', params: { name: RESEARCH, arguments: { topic, ambiguous }, task: { ttl: 60_000 } } }, CreateTaskResultSchema);
}

/** Polls tasks/get until the task is in `status`. */
function statusReached(client: Client, taskId: string, status: string) {
  return waitFor(async () => {
    const task = await client.experimental.tasks.getTask(taskId);
    return task.status === status ? task : undefined;
  }, `task ${taskId} to be ${status}`);
}

/** The id the server itself gave the task it created last, as the wire tap saw it. */
function lastUpstreamTaskId(tap: WireTap, gatewayPid: number): string {
  const created = tap.records(gatewayPid).filter((r) => r.way === 'out' && r.message.result?.task);
  return created.at(-1)!.message.result.task.taskId as string;
}

function textOf(result: { content: unknown[] }): string {
  return (result.content as { text: string }[]).map((c) => c.text).join('\n');
}

describe('tasks through the gateway, one client', () => {
  const fixture = new RelayFixture();
  const tap = new WireTap();
  const inbox = new Inbox();
  let client: Client;

  beforeAll(async () => {
    await fixture.start({ tap });
    client = await fixture.connect('streamable-http', { inbox });
  });

  afterAll(async () => {
    expect(await fixture.stop()).toEqual([]);
  });

  it('declares the tasks capability of server-everything', () => {
    expect(client.getServerCapabilities()?.tasks).toEqual({ list: {}, cancel: {}, requests: { tools: { call: {} } } });
  });

  it('creates a task, reports its status, hands over its result, and answers for it until its ttl', async () => {
    const created = await startResearch(client, 'tides');
    expect(created.task.status).toBe('working');
    const { taskId } = created.task;

    // the server's id for it never reaches the client
    const upstreamId = lastUpstreamTaskId(tap, fixture.gatewayPid(client));
    expect(upstreamId).not.toBe(taskId);

    expect((await statusReached(client, taskId, 'completed')).taskId).toBe(taskId);
    const result = await client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
    expect(textOf(result)).toContain('# Research Report: tides');
    expect(result._meta?.[RELATED_TASK]).toEqual({ taskId });

    // status notifications came under the gateway's id, never the server's
    const statuses = inbox.notifications('notifications/tasks/status');
    expect(statuses.map((s) => s.status)).toContain('completed');
    expect(statuses.every((s) => s.taskId === taskId)).toBe(true);
    expect(JSON.stringify(inbox.messages)).not.toContain(upstreamId);

    // terminal, and kept until its ttl as the server keeps it: asked again, both answer the same
    expect(await client.experimental.tasks.getTask(taskId)).toMatchObject({ taskId, status: 'completed' });
    expect(textOf(await client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema))).toContain('# Research Report: tides');
  });

  it('cancels a task on the server that runs it', async () => {
    const { taskId } = (await startResearch(client, 'reefs')).task;
    expect(await client.experimental.tasks.cancelTask(taskId)).toMatchObject({ taskId, status: 'cancelled' });
    expect(await client.experimental.tasks.getTask(taskId)).toMatchObject({ taskId, status: 'cancelled' });
    const cancels = tap.records(fixture.gatewayPid(client)).filter((r) => r.way === 'in' && r.message.method === 'tasks/cancel');
    expect(cancels).toHaveLength(1);
    expect(cancels[0].message.params.taskId).not.toBe(taskId);
    // the spec: a terminal task cannot be cancelled again (the server's own -32602)
    await expect(client.experimental.tasks.cancelTask(taskId)).rejects.toMatchObject({ code: -32602 });
  });

  it('answers an unknown task id, or the server’s own id for a task, with the spec’s error', async () => {
    for (const call of [
      () => client.experimental.tasks.getTask('no-such-task'),
      () => client.experimental.tasks.getTaskResult('no-such-task', CallToolResultSchema),
      () => client.experimental.tasks.cancelTask('no-such-task'),
    ])
      await expect(call()).rejects.toMatchObject({ code: -32602, message: expect.stringContaining('Task not found') });
    const { taskId } = (await startResearch(client, 'dunes')).task;
    const upstreamId = lastUpstreamTaskId(tap, fixture.gatewayPid(client));
    await expect(client.experimental.tasks.getTask(upstreamId)).rejects.toMatchObject({ code: -32602 });
    await client.experimental.tasks.cancelTask(taskId);
  });
});

describe('two clients on one shared server', () => {
  const fixture = new RelayFixture();
  const ownerInbox = new Inbox();
  const otherInbox = new Inbox();
  let owner: Client;
  let other: Client;

  beforeAll(async () => {
    await fixture.start();
    owner = await fixture.connect('streamable-http', {
      inbox: ownerInbox,
      capabilities: { elicitation: {} },
      setup: (c) => c.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { interpretation: 'historical' } })),
    });
    other = await fixture.connect('websocket', { inbox: otherInbox, capabilities: { elicitation: {} } });
  });

  afterAll(async () => {
    expect(await fixture.stop()).toEqual([]);
  });

  it('never shows a client the other’s tasks, in tasks/list, tasks/get, tasks/result, tasks/cancel or status notifications', async () => {
    const { taskId } = (await startResearch(owner, 'glaciers')).task;
    const mine = (await startResearch(other, 'volcanoes')).task.taskId;
    expect((await owner.experimental.tasks.listTasks()).tasks.map((t) => t.taskId)).toEqual([taskId]);
    expect((await other.experimental.tasks.listTasks()).tasks.map((t) => t.taskId)).toEqual([mine]);
    await expect(other.experimental.tasks.getTask(taskId)).rejects.toMatchObject({ code: -32602 });
    await expect(other.experimental.tasks.getTaskResult(taskId, CallToolResultSchema)).rejects.toMatchObject({ code: -32602 });
    await expect(other.experimental.tasks.cancelTask(taskId)).rejects.toMatchObject({ code: -32602 });
    await other.experimental.tasks.cancelTask(mine);

    // the other client's attempts changed nothing: the owner's task runs to completion
    await statusReached(owner, taskId, 'completed');
    await waitFor(() => ownerInbox.notifications('notifications/tasks/status').some((s) => s.status === 'completed'), 'the completed status');
    await other.ping();
    expect(otherInbox.notifications('notifications/tasks/status').map((s) => s.taskId)).not.toContain(taskId);
    expect(ownerInbox.notifications('notifications/tasks/status').map((s) => s.taskId)).not.toContain(mine);
  });

  it('brings a task’s elicitation to its owner while another client has a call in flight on the same server', async () => {
    const { taskId } = (await startResearch(owner, 'python', true)).task;
    await statusReached(owner, taskId, 'input_required');
    const busy = new AbortController();
    const inFlight = other
      .callTool({ name: tool('trigger-long-running-operation'), arguments: { duration: 60, steps: 60 } }, undefined, {
        signal: busy.signal,
        timeout: 90_000,
        onprogress: () => {},
      })
      .catch(() => undefined);
    await waitFor(() => otherInbox.notifications('notifications/progress').length > 0, 'the other client’s call to be running');

    const result = await owner.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
    busy.abort();
    await inFlight;
    expect(textOf(result)).toContain('**Clarification**: historical');
    const [asked] = ownerInbox.requests('elicitation/create');
    expect(asked.params._meta[RELATED_TASK]).toEqual({ taskId });
    expect(otherInbox.requests('elicitation/create')).toEqual([]);
  });
});

describe.each(FRONTS)('the SDK’s own task flow over %s', (front) => {
  const fixture = new RelayFixture();

  afterAll(async () => {
    expect(await fixture.stop()).toEqual([]);
  });

  it('runs a task-only tool to its result, with the SDK polling the gateway', async () => {
    await fixture.start();
    const client = await fixture.connect(front);
    await client.listTools(); // the SDK learns which tools run as tasks
    const kinds: string[] = [];
    let text = '';
    for await (const message of client.experimental.tasks.callToolStream({ name: RESEARCH, arguments: { topic: front } }, CallToolResultSchema, {
      task: { ttl: 60_000 },
    })) {
      kinds.push(message.type);
      if (message.type === 'result') text = textOf(message.result);
      if (message.type === 'error') throw message.error;
    }
    expect(kinds[0]).toBe('taskCreated');
    expect(kinds.at(-2)).toBe('taskStatus');
    expect(kinds.at(-1)).toBe('result');
    expect(text).toContain(`# Research Report: ${front}`);
  });
});

describe('tasks of a per-session server', () => {
  const fixture = new RelayFixture();

  afterAll(async () => {
    expect(await fixture.stop()).toEqual([]);
  });

  it('live in the client’s own upstream, and the capability is that upstream’s', async () => {
    await fixture.start({ mode: 'per-session' });
    const client = await fixture.connect('websocket');
    expect(client.getServerCapabilities()?.tasks).toEqual({ list: {}, cancel: {}, requests: { tools: { call: {} } } });
    const other = await fixture.connect('sse');
    const { taskId } = (await startResearch(client, 'canyons')).task;
    await expect(other.experimental.tasks.getTask(taskId)).rejects.toMatchObject({ code: -32602 });
    await statusReached(client, taskId, 'completed');
    expect(textOf(await client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema))).toContain('# Research Report: canyons');
  });
});

describe('a fleet without task support', () => {
  it('declares no tasks capability', async () => {
    const marker = newMarker();
    const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-tasks-'));
    const gw = await startTestGateway({ servers: { memory: memory(marker, join(dir, 'memory.jsonl')) } }, marker);
    try {
      const client = await connectClient(gw, 'websocket');
      expect(client.getServerCapabilities()).not.toHaveProperty('tasks');
      await client.close();
    } finally {
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });
});
