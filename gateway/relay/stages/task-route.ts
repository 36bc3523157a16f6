/**
 * Routing by task id (tasks/get, tasks/result, tasks/cancel): the call goes to the upstream session
 * that holds the task, under the server's own id, and only for the client that created it; any
 * other id is the spec's "task not found" (-32602), whether it never existed, expired, or belongs
 * to someone else (ownership: tasks.ts). There is no backend to pick: the task lives in one
 * session. The answer comes back under the gateway's id, and the table learns from it (status; a
 * result means the task is terminal, and it stays until its ttl as it does at the server). tasks/result may wait for its task as long as the task lives, not just one
 * request's deadline.
 */
import { FleetError, SdkCode } from '../../protocol/errors';
import type { JsonRpcResponse } from '../../protocol/jsonrpc';
import type { Call, Stage } from '../context';
import type { RoutingDeps } from './resolve';
import { isTerminal, withRelatedTask, withTaskId } from '../task-messages';
import { ownerOf, type TaskEntry, type TaskTable } from '../tasks';

export function taskRouteStage(tasks: TaskTable, deps: Pick<RoutingDeps, 'group'>): Stage {
  return async (call, next) => {
    const entry = tasks.owned(call.params.taskId, ownerOf(call.client));
    const group = entry && deps.group(call.client, entry.server);
    const backend = group?.backends.find((b) => b.ready && b.holds(entry!.conn));
    if (!entry || !group) throw unknownTask(tasks, call);
    if (!backend) {
      // a 2026-07-28 server's task waits for its backend to connect again (TaskTable.reconnected); any other ended with its session
      if (entry.conn.era !== 'modern') throw unknownTask(tasks, call);
      throw new FleetError('UPSTREAM_UNAVAILABLE', `server "${group.name}", which holds task ${String(call.params.taskId)}, is reconnecting; retry shortly`, {
        data: { server: group.name, taskId: call.params.taskId },
      });
    }
    call.group = group;
    call.backend = backend;
    call.connection = entry.conn;
    call.params = { ...call.params, taskId: entry.upstreamId };
    // tasks/result answers when the task is done, which may be long after any one request's deadline: it may wait out the task's ttl
    if (call.request.method === 'tasks/result') call.timeoutMs = Math.max(group.config.requestTimeoutMs, tasks.remainingMs(entry));
    // a task whose upstream goes meanwhile (its server removed, its connection replaced by a reload) answers now, not when (if ever) that upstream does
    return learn(tasks, entry, call.request.method, await tasks.untilEnded(entry, next(call)));
  };
}

/** The spec's error for a task id the gateway does not route for this client; it names the server and why when the task ended with its upstream. */
export function unknownTask(tasks: TaskTable, call: Pick<Call, 'params' | 'client' | 'log'>): FleetError {
  const taskId = call.params.taskId;
  const ended = tasks.whyEnded(taskId, ownerOf(call.client));
  if (ended) {
    call.log.info({ taskId, server: ended.data?.server, cause: ended.data?.cause }, 'task ended with its upstream connection');
    return ended;
  }
  call.log.info({ taskId }, 'task id unknown for this client');
  return new FleetError('UNKNOWN_TASK', 'Failed to retrieve task: Task not found', { data: { taskId } });
}

function learn(tasks: TaskTable, entry: TaskEntry, method: string, reply: JsonRpcResponse): JsonRpcResponse {
  if (method === 'tasks/result') {
    // the server's "not found": it no longer has the task
    if ('error' in reply && reply.error.code === SdkCode.InvalidParams) {
      tasks.remove(entry);
      return reply;
    }
    // An answer means the task is terminal. The server keeps it until its ttl, so the gateway does too: the client may ask
    // tasks/get or tasks/result again (a full table lets finished tasks go first).
    if (!isTerminal(entry.status)) tasks.setStatus(entry, 'error' in reply ? 'failed' : 'completed');
    return 'result' in reply ? { ...reply, result: withRelatedTask(reply.result, entry.id) } : reply;
  }
  if ('error' in reply) {
    // tasks/get's invalid params is the server's "not found" (tasks/cancel's may be "already terminal": the task stays).
    if (method === 'tasks/get' && reply.error.code === SdkCode.InvalidParams) tasks.remove(entry);
    return reply;
  }
  if (typeof reply.result.status === 'string') tasks.setStatus(entry, reply.result.status);
  return { ...reply, result: withTaskId(reply.result, entry.id) };
}
