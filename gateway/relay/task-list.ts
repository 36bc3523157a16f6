/**
 * tasks/list through the gateway: the client's own tasks, from the gateway's table, a page at a
 * time under the gateway's cursors, each as its server reports it now (a tasks/get through the
 * task chain). Asking each task's server, rather than listing every server's tasks, keeps other
 * clients' tasks on a shared server out of it, and costs one upstream request per task shown.
 * A task its server no longer reaches or knows is left out (and, when unknown, forgotten).
 */
import { paginate } from '../catalog/paginate';
import { resultResponse, type JsonRpcResponse } from '../protocol/jsonrpc';
import { Cancellation, type Call, type Next } from './context';
import type { TaskTable } from './tasks';

export async function listTasks(call: Call, tasks: TaskTable, pageSize: number, getTask: Next): Promise<JsonRpcResponse> {
  const page = paginate('tasks', tasks.ofClient(call.client.id), call.params.cursor, pageSize);
  const cancellations = page.items.map(() => new Cancellation());
  call.cancellation.whenCancelled((reason) => {
    for (const c of cancellations) c.cancel(reason);
  });
  let replies: (JsonRpcResponse | undefined)[];
  try {
    replies = await Promise.all(
      page.items.map((entry, i) => {
        const params = { taskId: entry.id };
        const request = { jsonrpc: '2.0' as const, id: call.request.id, method: 'tasks/get', params };
        return getTask({ request, client: call.client, cancellation: cancellations[i], params, meta: {}, log: call.log, requestId: call.requestId }).catch(
          () => undefined,
        );
      }),
    );
  } finally {
    call.cancellation.whenCancelled(undefined);
  }
  const listed = replies.flatMap((r) => (r && 'result' in r ? [r.result] : []));
  return resultResponse(call.request.id, page.nextCursor === undefined ? { tasks: listed } : { tasks: listed, nextCursor: page.nextCursor });
}
