/**
 * A 2025 server's questions during a task, for 2026-07-28 clients. Such a server asks a task's
 * questions (elicitation, sampling: its requests with the task's related-task `_meta`) only while
 * a tasks/result is open, and a modern client never opens one: so once its tasks/get finds the
 * task input_required, the gateway opens that tasks/result itself, and keeps what comes on it: the
 * questions, until the client's tasks/update answers them, and the outcome when the task ends.
 * Everything here ends with the task's entry, or when the gateway stops.
 */
import { FleetError } from '../protocol/errors';
import type { JsonRpcRequest, JsonRpcResponse } from '../protocol/jsonrpc';
import type { PendingRequest, UpstreamConnection } from '../upstream/connection';
import { Questions, type InputRequest } from './held-calls';
import type { TaskEntry, TaskTable } from './tasks';

class TaskInput {
  readonly questions = new Questions();
  outcome: JsonRpcResponse | undefined;
  private stream: PendingRequest | undefined;

  constructor(private readonly entry: TaskEntry) {}

  /** Opens the server's tasks/result for the task, once at a time, until it answers. */
  open(timeoutMs: number): void {
    if (this.stream || this.outcome) return;
    const stream = this.entry.conn.request('tasks/result', { taskId: this.entry.upstreamId }, { timeoutMs });
    this.stream = stream;
    stream.response.then(
      (response) => (this.outcome = response),
      () => (this.stream = undefined),
    );
  }

  close(reason: string): void {
    if (this.stream && !this.outcome) this.entry.conn.cancel(this.stream.id, reason);
    this.questions.fail(new FleetError('CANCELLED', reason));
  }
}

export class TaskInputs {
  private readonly inputs = new Map<string, TaskInput>();

  constructor(private readonly tasks: TaskTable) {}

  get size(): number {
    return this.inputs.size;
  }

  /** A server's request for the task's client: it waits for a tasks/update, at most as long as the task lives. */
  ask(entry: TaskEntry, request: JsonRpcRequest, from: UpstreamConnection): Promise<JsonRpcResponse> {
    return this.of(entry).questions.ask(request, this.tasks.remainingMs(entry), from);
  }

  /** The task is input_required: its questions as the client sees them, once the server asked them. */
  asked(entry: TaskEntry): Record<string, InputRequest> | undefined {
    const input = this.of(entry);
    input.open(this.tasks.remainingMs(entry));
    return input.questions.asked();
  }

  /** The client's answers, by key; answers to questions not open are ignored, as the extension says. */
  answer(entry: TaskEntry, responses: unknown): void {
    this.inputs.get(entry.id)?.questions.answer(responses);
  }

  /** The task's outcome, if the tasks/result the gateway opened for it has come back. */
  outcome(entry: TaskEntry): JsonRpcResponse | undefined {
    return this.inputs.get(entry.id)?.outcome;
  }

  /** At shutdown: the questions still open are failed, so no timer outlives the gateway. */
  closeAll(): void {
    for (const input of this.inputs.values()) input.close('the gateway is shutting down');
    this.inputs.clear();
  }

  private of(entry: TaskEntry): TaskInput {
    const input = this.inputs.get(entry.id);
    if (input) return input;
    const created = new TaskInput(entry);
    this.inputs.set(entry.id, created);
    const before = entry.onRemove;
    entry.onRemove = () => {
      before?.();
      this.inputs.delete(entry.id);
      created.close('the task ended');
    };
    return created;
  }
}
