/**
 * Task creation. A 2025 client's task-augmented tools/call goes upstream as it is. For a
 * 2026-07-28 client tasks are server-directed (the tasks extension): the gateway asks a 2025
 * server for a task where the tool runs as a task only, if the client declared the extension, and
 * refuses with -32021 naming it otherwise. When the server answers with a CreateTaskResult, the
 * task enters the gateway's table, bound to its owner and to the upstream session that answered,
 * and the client gets the gateway's id for it (in the 2026 shape for a modern client). The call's
 * progress token stays valid for the task's life, as the 2025 spec says, and ends with it. A call
 * the table has no room for is refused before it reaches the server, so no task is left unreachable.
 *
 * A 2026-07-28 server of the tasks extension decides itself whether a call becomes a task, for a
 * client that declared the extension: the call goes as it is (the client's capabilities travel in
 * its envelope), and a task it answers with enters the table the same way, renamed. For a 2025
 * client the gateway declares the extension when the call has the `task` param, and the client
 * gets the task in the 2025 shape (task-extension-legacy.ts serves the rest of it). Since most
 * such calls do not become tasks, room is found once a task exists; when there is none, the
 * server's task is cancelled and the call refused.
 */
import { META } from '../../protocol/eras';
import { FleetError } from '../../protocol/errors';
import type { JsonRpcResponse } from '../../protocol/jsonrpc';
import { required, type Call, type Next, type Stage } from '../context';
import type { ProgressRouter } from '../progress';
import {
  TASKS_EXTENSION,
  TASK_REQUESTS,
  createdTask,
  declaresTasksExtension,
  isTerminal,
  requiresTask,
  tasksCapability,
  toLegacyTask,
  toModernTask,
  withCreatedTaskId,
  withTasksExtension,
  withoutTasksExtension,
} from '../task-messages';
import { ownerOf, type TaskEntry, type TaskTable } from '../tasks';

export function taskCreateStage(tasks: TaskTable, progress: ProgressRouter): Stage {
  return async (call, next) => {
    if (!TASK_REQUESTS.has(call.request.method)) return next(call);
    const conn = required(call.backend, 'the backend').connection;
    if (conn?.era === 'modern' && declaresTasksExtension(conn.capabilities)) return serverDirected(call, next, tasks);
    if (call.client.era === 'modern') return offerTask(call, next, tasks, progress);
    const task = call.params.task;
    if (typeof task !== 'object' || task === null) return next(call);
    const { reply, taskId } = await create(call, next, tasks, progress);
    return taskId === undefined || !('result' in reply) ? reply : { ...reply, result: withCreatedTaskId(reply.result, taskId) };
  };
}

/** A modern client's call of a tool that runs as a task only, on a server that takes tasks: the gateway asks for one. */
async function offerTask(call: Call, next: Next, tasks: TaskTable, progress: ProgressRouter): Promise<JsonRpcResponse> {
  // The extension is server-directed: a 2025-style `task` param from a modern client is not its to set.
  const { task: _notTheClients, ...params } = call.params;
  call.params = params;
  const backend = required(call.backend, 'the backend');
  const tool = backend.catalog.tools.find((t) => t.name === call.params.name);
  if (!requiresTask(tool) || !tasksCapability([backend.connection?.capabilities ?? {}])) return next(call);
  if (!declaresTasksExtension(call.client.capabilities)) {
    throw new FleetError('MISSING_CLIENT_CAPABILITY', `Missing required client capability: tool ${String(call.params.name)} runs as a task only`, {
      data: { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
    });
  }
  call.params = { ...call.params, task: {} };
  const { reply, taskId } = await create(call, next, tasks, progress);
  if (taskId === undefined || !('result' in reply)) return reply;
  return { ...reply, result: { resultType: 'task', ...toModernTask(createdTask(reply.result)!, taskId) } };
}

/** A call to a server of the tasks extension: a task it makes (for a client that declared the extension) enters the table. */
async function serverDirected(call: Call, next: Next, tasks: TaskTable): Promise<JsonRpcResponse> {
  const legacy = call.client.era === 'legacy';
  if (legacy) {
    // A 2025 client asks for a task with the `task` param: for the server, the gateway declares the extension on its
    // behalf then (and only then: a call that asked for none must not become one). The param goes along: the
    // extension tolerates it as a hint, and a retried call must still carry it.
    const capabilities = call.client.capabilities;
    call.meta[META.clientCapabilities] = call.params.task === undefined ? withoutTasksExtension(capabilities) : withTasksExtension(capabilities);
  } else if (!declaresTasksExtension(call.client.capabilities)) return next(call);
  const reply = await next(call);
  const created = 'result' in reply ? createdTask(reply.result) : undefined;
  if (!created || !('result' in reply)) return reply;
  if (!tasks.reserve()) {
    const conn = required(call.connection, 'the upstream session');
    const group = required(call.group, 'the server');
    const meta = { [META.clientCapabilities]: withTasksExtension(call.client.capabilities) };
    void conn.fireAndForget('tasks/cancel', { taskId: created.taskId, _meta: meta }, group.config.requestTimeoutMs);
    call.log.warn(
      { server: group.name, upstreamTask: created.taskId, maxTasks: tasks.limits.maxTasks },
      'task table full: the task the server made was cancelled',
    );
    throw new FleetError(
      'TOO_MANY_TASKS',
      `the gateway already holds ${tasks.limits.maxTasks} tasks (tasks.maxTasks); the server's task was cancelled: fetch or cancel some, or retry later`,
    );
  }
  try {
    const { id } = enter(call, tasks, created);
    return { ...reply, result: legacy ? { task: { ...toLegacyTask(created), taskId: id } } : withCreatedTaskId(reply.result, id) };
  } finally {
    tasks.settled();
  }
}

/** A task the server created enters the table under a new id, owned by the call's client. */
function enter(call: Call, tasks: TaskTable, task: Record<string, unknown> & { taskId: string }): TaskEntry {
  const conn = required(call.connection, 'the upstream session');
  const server = required(call.group, 'the server').name;
  const entry = tasks.add({ clientId: ownerOf(call.client), server, backend: required(call.backend, 'the backend').id, conn, task });
  // both ids, so an operator can follow the task into the server's own log
  call.log.info({ server, task: entry.id, upstreamTask: entry.upstreamId }, 'task created');
  return entry;
}

async function create(call: Call, next: Next, tasks: TaskTable, progress: ProgressRouter): Promise<{ reply: JsonRpcResponse; taskId?: string }> {
  if (!tasks.reserve())
    throw new FleetError('TOO_MANY_TASKS', `the gateway already holds ${tasks.limits.maxTasks} tasks (tasks.maxTasks); fetch or cancel some, or retry later`);
  // A 2026 client's progress ends with its request (the extension has no progress on tasks).
  call.holdsProgress = call.client.era === 'legacy';
  call.progressToken = undefined;
  let kept = false;
  try {
    const reply = await next(call);
    const created = 'result' in reply ? createdTask(reply.result) : undefined;
    if (!created) return { reply };
    const entry = enter(call, tasks, created);
    const token = call.progressToken;
    // a task already over (a server may finish one at once) has no progress to come: the token ends with the call
    kept = !isTerminal(entry.status);
    if (kept && token !== undefined && call.holdsProgress) entry.onEnd = () => progress.release(token);
    return { reply, taskId: entry.id };
  } finally {
    tasks.settled();
    if (!kept && call.holdsProgress && call.progressToken !== undefined) progress.release(call.progressToken);
  }
}
