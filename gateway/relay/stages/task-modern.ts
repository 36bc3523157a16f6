/**
 * The 2026-07-28 tasks extension, answered for a modern client from a 2025 server's task.
 * tasks/get carries the outcome inline once the task is terminal (fetched with 2025 tasks/result:
 * `completed` with the result, a tool's isError result included, or `failed` with the JSON-RPC
 * error), and the server's questions while it is input_required (`inputRequests`, gathered by the
 * gateway on a tasks/result it opens: task-questions.ts; until they came, the task reads working).
 * tasks/update answers those questions, tasks/cancel is forwarded; both are acknowledged with an
 * empty result, as the extension says. A task of a server of the extension is the server's to
 * answer: those requests go on as they are. Other clients pass through. A modern client that did
 * not declare the extension is refused with -32021, as the extension says.
 */
import { resultResponse, type JsonRpcResponse } from '../../protocol/jsonrpc';
import type { Call, Next, Stage } from '../context';
import { FleetError } from '../../protocol/errors';
import { TASKS_EXTENSION, declaresTasksExtension, inlineOutcome, toModernTask } from '../task-messages';
import type { TaskInputs } from '../task-questions';
import { ownerOf, type TaskTable } from '../tasks';
import { unknownTask } from './task-route';

export function taskModernStage(tasks: TaskTable, inputs: TaskInputs): Stage {
  return async (call, next) => {
    if (call.client.era !== 'modern') return next(call);
    const { request } = call;
    if (!declaresTasksExtension(call.client.capabilities)) {
      throw new FleetError('MISSING_CLIENT_CAPABILITY', `Missing required client capability: ${request.method} needs the tasks extension`, {
        data: { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
      });
    }
    const taskId = call.params.taskId;
    if (tasks.owned(taskId, ownerOf(call.client))?.conn.era === 'modern') return next(call);
    if (request.method === 'tasks/update') {
      const entry = tasks.owned(taskId, ownerOf(call.client));
      if (!entry) throw unknownTask(tasks, call);
      inputs.answer(entry, call.params.inputResponses);
      return resultResponse(request.id, {});
    }
    if (request.method === 'tasks/cancel') {
      await next(call);
      return resultResponse(request.id, {});
    }
    if (request.method !== 'tasks/get') return next(call);
    const reply = await next(call);
    const entry = tasks.owned(taskId, ownerOf(call.client));
    if ('error' in reply || !entry) return reply;
    const task = toModernTask(reply.result, entry.id);
    if (task.status === 'input_required') {
      const asked = inputs.asked(entry);
      return resultResponse(request.id, asked ? { ...task, inputRequests: asked } : { ...task, status: 'working' });
    }
    if (task.status !== 'completed' && task.status !== 'failed') return resultResponse(request.id, task);
    const gathered = inputs.outcome(entry);
    return resultResponse(request.id, { ...task, ...inlineOutcome(gathered ?? (await fetchOutcome(call, entry.id, next))) });
  };
}

/** The task's outcome, by a 2025 tasks/result through the task chain (which ends the entry). */
function fetchOutcome(call: Call, taskId: string, next: Next): Promise<JsonRpcResponse> {
  const params = { taskId };
  return next({
    request: { ...call.request, method: 'tasks/result', params },
    client: call.client,
    cancellation: call.cancellation,
    params,
    meta: {},
    log: call.log,
    requestId: call.requestId,
  });
}
