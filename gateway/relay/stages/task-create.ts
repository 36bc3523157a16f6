/**
 * Task creation: a 2025 client's task-augmented tools/call goes upstream as it is; when the server
 * answers with a CreateTaskResult, the task enters the gateway's table, bound to this client and to
 * the upstream session that answered, and the client gets the gateway's id for it. The call's
 * progress token stays valid for the task's life, as the spec says, and ends with it. A call the
 * table has no room for is refused before it reaches the server, so no task is left unreachable.
 */
import { FleetError } from '../../protocol/errors';
import { required, type Stage } from '../context';
import type { ProgressRouter } from '../progress';
import { TASK_REQUESTS, createdTask, withCreatedTaskId } from '../task-messages';
import type { TaskTable } from '../tasks';

export function taskCreateStage(tasks: TaskTable, progress: ProgressRouter): Stage {
  return async (call, next) => {
    const task = call.params.task;
    if (call.client.era !== 'legacy' || !TASK_REQUESTS.has(call.request.method) || typeof task !== 'object' || task === null) return next(call);
    if (!tasks.reserve())
      throw new FleetError('TOO_MANY_TASKS', `the gateway already holds ${tasks.limits.maxTasks} tasks (tasks.maxTasks); fetch or cancel some, or retry later`);
    call.holdsProgress = true;
    call.progressToken = undefined;
    let kept = false;
    try {
      const reply = await next(call);
      const created = 'result' in reply ? createdTask(reply.result) : undefined;
      if (!created || !('result' in reply)) return reply;
      const conn = required(required(call.backend, 'the backend').connection, 'a connected backend');
      const entry = tasks.add({ clientId: call.client.id, server: required(call.group, 'the server').name, conn, task: created });
      const token = call.progressToken;
      if (token !== undefined) entry.onRemove = () => progress.release(token);
      kept = true;
      return { ...reply, result: withCreatedTaskId(reply.result, entry.id) };
    } finally {
      tasks.settled();
      if (!kept && call.progressToken !== undefined) progress.release(call.progressToken);
    }
  };
}
