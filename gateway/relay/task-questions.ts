/**
 * What a 2026-07-28 client's task needs beyond polling a 2025 server's tasks/get. Such a server asks
 * a task's questions (elicitation, sampling: its requests with the task's related-task `_meta`) only
 * while a tasks/result is open, and a modern client never opens one: so once the task is
 * input_required, the gateway opens that tasks/result itself and keeps what comes on it, the
 * questions until the client's tasks/update answers them, and the outcome when the task ends. For a
 * task a listen stream names, every change goes out as notifications/tasks carrying what tasks/get
 * would answer then (its questions, or its outcome inline). Everything here ends with the task's
 * entry (an outcome stays until the entry leaves the table, the rest ends when the task does), or
 * when the gateway stops.
 */
import { FleetError } from '../protocol/errors';
import type { JsonRpcRequest, JsonRpcResponse } from '../protocol/jsonrpc';
import type { PendingRequest, UpstreamConnection } from '../upstream/connection';
import { Questions, type InputRequest } from './held-calls';
import { inlineOutcome, isTerminal, toModernTask } from './task-messages';
import type { TaskEntry, TaskTable } from './tasks';

/** Who hears a task's changes: the listen streams. */
export interface TaskWatchers {
  watches(taskId: string): boolean;
  taskChanged(taskId: string, task: Record<string, unknown>): void;
}

class TaskInput {
  readonly questions = new Questions();
  outcome: JsonRpcResponse | undefined;
  /** The task as the server last described it, in the extension's shape. */
  last: Record<string, unknown> | undefined;
  private stream: PendingRequest | undefined;

  constructor(
    private readonly entry: TaskEntry,
    private readonly changed: () => void,
  ) {}

  /** Opens the server's tasks/result for the task, once at a time, until it answers. */
  open(timeoutMs: number): void {
    if (this.stream || this.outcome) return;
    const stream = this.entry.conn.request('tasks/result', { taskId: this.entry.upstreamId }, { timeoutMs });
    this.stream = stream;
    stream.response.then(
      (response) => {
        this.outcome = response;
        this.changed();
      },
      () => (this.stream = undefined),
    );
  }

  /** The task now, as tasks/get would answer it: its questions while it waits for them, its outcome once it has it. */
  detailed(): Record<string, unknown> | undefined {
    if (this.outcome) return { ...this.last, ...inlineOutcome(this.outcome) };
    const asked = this.questions.asked();
    if (asked) return { ...this.last, status: 'input_required', inputRequests: asked };
    // input_required without the questions yet, or terminal without the outcome yet: nothing to tell until they come
    if (this.last?.status === 'input_required' || isTerminal(this.last?.status)) return undefined;
    return this.last;
  }

  close(reason: string): void {
    if (this.stream && !this.outcome) this.entry.conn.cancel(this.stream.id, reason);
    this.questions.fail(new FleetError('CANCELLED', reason));
  }
}

export class TaskInputs {
  private readonly inputs = new Map<string, TaskInput>();

  constructor(
    private readonly tasks: TaskTable,
    private readonly watchers: TaskWatchers,
  ) {}

  get size(): number {
    return this.inputs.size;
  }

  /** A server's request for the task's client: it waits for a tasks/update, at most as long as the task lives. */
  ask(entry: TaskEntry, request: JsonRpcRequest, from: UpstreamConnection): Promise<JsonRpcResponse> {
    const input = this.of(entry);
    const answer = input.questions.ask(request, this.tasks.remainingMs(entry), from);
    this.tell(entry, input);
    return answer;
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

  /** The server said the task changed (notifications/tasks/status): streams watching it hear it, with what it needs gathered first. */
  statusChanged(entry: TaskEntry, task: Record<string, unknown>): void {
    if (!this.watchers.watches(entry.id)) return;
    const input = this.of(entry);
    input.last = toModernTask(task, entry.id);
    if (task.status === 'input_required' || (isTerminal(task.status) && task.status !== 'cancelled')) input.open(this.tasks.remainingMs(entry));
    this.tell(entry, input);
  }

  /** At shutdown: the questions still open are failed, so no timer outlives the gateway. */
  closeAll(): void {
    for (const input of this.inputs.values()) input.close('the gateway is shutting down');
    this.inputs.clear();
  }

  private tell(entry: TaskEntry, input: TaskInput): void {
    const task = input.last && input.detailed();
    if (task) this.watchers.taskChanged(entry.id, task);
  }

  private of(entry: TaskEntry): TaskInput {
    const input = this.inputs.get(entry.id);
    if (input) return input;
    const created = new TaskInput(entry, () => this.tell(entry, created));
    this.inputs.set(entry.id, created);
    const before = entry.onEnd;
    entry.onEnd = () => {
      before?.();
      created.close('the task ended');
      // a gathered outcome stays while the entry does: a tasks/get of the ended task inlines it
      if (!created.outcome) this.inputs.delete(entry.id);
    };
    const removed = entry.onRemoved;
    entry.onRemoved = () => {
      removed?.();
      this.inputs.delete(entry.id);
    };
    return created;
  }
}
