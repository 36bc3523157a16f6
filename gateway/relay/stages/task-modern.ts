/**
 * The 2026-07-28 tasks extension, answered for a modern client from a 2025 server's task. tasks/get
 * carries the outcome inline once the task is terminal: the gateway fetches it (2025 tasks/result)
 * and answers `completed` with the result (a tool's isError result included) or `failed` with the
 * JSON-RPC error, in the extension's Task shape. tasks/cancel is acknowledged with an empty result,
 * as cancellation is cooperative there. A 2025 server's input_required cannot be carried to a
 * modern client yet (its questions only come on a 2025 tasks/result stream): it reads as working,
 * with the server's message, and tasks/update is acknowledged (its answers are to questions the
 * gateway never put, which the extension says to ignore). Other clients pass through.
 */
import { resultResponse, type JsonRpcResponse } from '../../protocol/jsonrpc';
import type { Stage } from '../context';
import { RELATED_TASK, toModernTask } from '../task-messages';

export const taskModernStage: Stage = async (call, next) => {
  if (call.client.era !== 'modern') return next(call);
  const { request, client, cancellation } = call;
  if (request.method === 'tasks/cancel') {
    await next(call);
    return resultResponse(request.id, {});
  }
  if (request.method !== 'tasks/get') return next(call);
  const taskId = String(call.params.taskId);
  const reply = await next(call);
  if ('error' in reply) return reply;
  const task = toModernTask(reply.result, taskId);
  if (task.status === 'input_required') return resultResponse(request.id, { ...task, status: 'working' });
  if (task.status !== 'completed' && task.status !== 'failed') return resultResponse(request.id, task);
  const params = { taskId };
  const outcome = await next({ request: { ...request, method: 'tasks/result', params }, client, cancellation, params, meta: {} });
  return resultResponse(request.id, { ...task, ...inline(outcome) });
};

function inline(outcome: JsonRpcResponse): Record<string, unknown> {
  if ('error' in outcome) return { status: 'failed', error: outcome.error };
  const { _meta, ...result } = outcome.result;
  const { [RELATED_TASK]: _related, ...meta } = (_meta as Record<string, unknown> | undefined) ?? {};
  return { status: 'completed', result: Object.keys(meta).length > 0 ? { ...result, _meta: meta } : result };
}
