/**
 * A 2025 client's task on a 2026-07-28 server of the tasks extension. The client speaks 2025 tasks
 * (tasks/get answers a Task, tasks/result waits for the outcome, tasks/cancel answers the Task),
 * the server the extension (tasks/get inlines the outcome or the questions, tasks/update answers
 * the questions, tasks/cancel acknowledges). This stage runs once the task is routed, so the ids
 * here are the server's; the routing stage renames and learns from what it answers.
 *
 * tasks/result polls tasks/get at the server's pollIntervalMs (within bounds) until the task is
 * terminal: a completed task's result, a failed task's error. While the task is input_required,
 * its questions go to the client as ordinary requests tied to the task (the related-task `_meta`,
 * as a 2025 server's would be), and the answers back to the server with tasks/update.
 */
import { FleetError, SdkCode } from '../../protocol/errors';
import { META } from '../../protocol/eras';
import { errorResponse, resultResponse, type JsonRpcResponse } from '../../protocol/jsonrpc';
import { asObject } from '../../protocol/objects';
import type { Call, Next, Stage } from '../context';
import { RELATED_TASK, toLegacyTask, withTasksExtension } from '../task-messages';
import { askAll } from './input-drive';

const MIN_POLL_MS = 50;
const MAX_POLL_MS = 5_000;
const DEFAULT_POLL_MS = 500;

export const taskExtensionLegacyStage: Stage = async (call, next) => {
  if (call.client.era !== 'legacy' || call.connection?.era !== 'modern') return next(call);
  // the server answers task requests only to a client of the extension: the gateway is that client here
  call.meta[META.clientCapabilities] = withTasksExtension(call.client.capabilities);
  switch (call.request.method) {
    case 'tasks/get':
      return asLegacyTask(await next(call));
    case 'tasks/cancel': {
      const ack = await next(call);
      return 'error' in ack ? ack : asLegacyTask(await sibling(call, next, 'tasks/get', { taskId: call.params.taskId }));
    }
    case 'tasks/result':
      return outcome(call, next);
    default:
      return next(call);
  }
};

function asLegacyTask(reply: JsonRpcResponse): JsonRpcResponse {
  return 'error' in reply ? reply : { ...reply, result: toLegacyTask(reply.result) };
}

/** Another request about the same task, through the rest of the chain, for the same call. */
function sibling(call: Call, next: Next, method: string, params: Record<string, unknown>): Promise<JsonRpcResponse> {
  return next({ ...call, request: { ...call.request, method, params }, params });
}

async function outcome(call: Call, next: Next): Promise<JsonRpcResponse> {
  const taskId = call.params.taskId;
  const gatewayTaskId = call.request.params?.taskId;
  for (;;) {
    const reply = await sibling(call, next, 'tasks/get', { taskId });
    if ('error' in reply) return reply;
    const task = reply.result;
    switch (task.status) {
      case 'completed':
        return resultResponse(call.request.id, asObject(task.result) ?? {});
      case 'failed': {
        const error = asObject(task.error);
        return errorResponse(call.request.id, {
          code: typeof error?.code === 'number' ? error.code : SdkCode.InternalError,
          message: typeof error?.message === 'string' ? error.message : 'the task failed',
          ...(error && 'data' in error ? { data: error.data } : {}),
        });
      }
      case 'cancelled':
        throw new FleetError('CANCELLED', `task ${String(gatewayTaskId)} was cancelled`);
      case 'input_required': {
        // a client that cancels its tasks/result meanwhile is not waited for (its answers would go nowhere)
        const answers = await unlessCancelled(
          call,
          askAll(call, task.inputRequests, (params) => ({
            ...params,
            _meta: { ...asObject(params._meta), [RELATED_TASK]: { taskId: gatewayTaskId } },
          })),
        );
        if (answers instanceof FleetError) throw answers;
        const update = await sibling(call, next, 'tasks/update', { taskId, inputResponses: answers });
        if ('error' in update) return update;
        break;
      }
      default:
        await pause(call, task.pollIntervalMs);
    }
  }
}

/** Waits the server's poll interval (bounded), or less if the client cancels its tasks/result meanwhile. */
async function pause(call: Call, pollIntervalMs: unknown): Promise<void> {
  const wanted = typeof pollIntervalMs === 'number' && Number.isFinite(pollIntervalMs) ? pollIntervalMs : DEFAULT_POLL_MS;
  const ms = Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, wanted));
  let timer: NodeJS.Timeout | undefined;
  try {
    await unlessCancelled(call, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))));
  } finally {
    clearTimeout(timer);
  }
}

/** Settles as `work` does, or rejects with CANCELLED as soon as the client cancels the call. */
async function unlessCancelled<T>(call: Call, work: Promise<T>): Promise<T> {
  const cancelled = new Promise<never>((_, reject) =>
    call.cancellation.whenCancelled((reason) => reject(new FleetError('CANCELLED', `request cancelled${reason ? `: ${reason}` : ''}`))),
  );
  try {
    return await Promise.race([work, cancelled]);
  } finally {
    call.cancellation.whenCancelled(undefined);
  }
}
