/**
 * What tasks (MCP 2025-11-25) look like on the wire, for the gateway that renames them: where a
 * task id sits in each message (a Task's `taskId`, a CreateTaskResult's `task.taskId`, the
 * related-task `_meta` of results, notifications and the servers' requests), the tasks
 * capability the gateway can offer its clients, given what its upstreams offer, and a 2025 Task as
 * the 2026-07-28 tasks extension (`io.modelcontextprotocol/tasks`) writes it. Pure.
 */
import { asObject } from '../protocol/objects';

/** The `_meta` key that ties a message to its task. */
export const RELATED_TASK = 'io.modelcontextprotocol/related-task';

/** The 2026-07-28 tasks extension: a client declares it in its per-request capabilities, a server in server/discover. */
export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';

/** The requests a client may augment with a task that the gateway relays (the spec's only one today). */
export const TASK_REQUESTS: ReadonlySet<string> = new Set(['tools/call']);

const TERMINAL: ReadonlySet<unknown> = new Set(['completed', 'failed', 'cancelled']);

export function isTerminal(status: unknown): boolean {
  return TERMINAL.has(status);
}

type Obj = Record<string, unknown>;

/**
 * The task a CreateTaskResult announces, if `result` is one: a 2025 server nests it under `task`,
 * a server of the tasks extension answers with the task itself (`resultType: "task"`).
 */
export function createdTask(result: Obj): (Obj & { taskId: string }) | undefined {
  if (result.resultType === 'task') return typeof result.taskId === 'string' ? (result as Obj & { taskId: string }) : undefined;
  const task = asObject(result.task);
  return task && typeof task.taskId === 'string' ? (task as Obj & { taskId: string }) : undefined;
}

/** The task id in a message's related-task `_meta`, if any. */
export function relatedTaskId(params: Obj | undefined): string | undefined {
  const related = asObject(asObject(params?._meta)?.[RELATED_TASK]);
  return typeof related?.taskId === 'string' ? related.taskId : undefined;
}

/** `params` with its related-task `_meta` naming `taskId` instead; unchanged when it names none. */
export function withRelatedTask<T extends Obj | undefined>(params: T, taskId: string): T {
  const meta = asObject(params?._meta);
  const related = asObject(meta?.[RELATED_TASK]);
  if (!params || !meta || !related) return params;
  return { ...params, _meta: { ...meta, [RELATED_TASK]: { ...related, taskId } } };
}

/** A Task (or a result carrying one: tasks/get, tasks/cancel, the status notification) under `taskId`. */
export function withTaskId(task: Obj, taskId: string): Obj {
  return withRelatedTask(typeof task.taskId === 'string' ? { ...task, taskId } : task, taskId);
}

/** A CreateTaskResult (either shape, as createdTask reads it) under the gateway's task id. */
export function withCreatedTaskId(result: Obj, taskId: string): Obj {
  if (result.resultType === 'task') return { ...result, taskId };
  return { ...result, task: { ...asObject(result.task), taskId } };
}

/**
 * The tasks capability the gateway declares: each part (list, cancel, task-augmented tools/call)
 * as far as at least one upstream declares it; none when no upstream takes tasks for tools/call,
 * since that is the only way a client can create one through the gateway.
 */
export function tasksCapability(upstreams: readonly Obj[]): Obj | undefined {
  const offers = upstreams.map((caps) => asObject(caps.tasks)).filter((t): t is Obj => t !== undefined);
  const callable = offers.filter((t) => asObject(asObject(asObject(t.requests)?.tools)?.call));
  if (callable.length === 0) return undefined;
  return {
    ...(callable.some((t) => asObject(t.list)) ? { list: {} } : {}),
    ...(callable.some((t) => asObject(t.cancel)) ? { cancel: {} } : {}),
    requests: { tools: { call: {} } },
  };
}

/** Whether capabilities declare the tasks extension: a 2026-07-28 request's client capabilities, or a server's in server/discover. */
export function declaresTasksExtension(capabilities: Obj): boolean {
  return asObject(asObject(capabilities.extensions)?.[TASKS_EXTENSION]) !== undefined;
}

/** Whether a tool of a server's catalog says it runs as a task only (`execution.taskSupport: "required"`). */
export function requiresTask(tool: Obj | undefined): boolean {
  return asObject(tool?.execution)?.taskSupport === 'required';
}

/**
 * A 2025 Task in the extension's terms, under the gateway's id: `ttl` and `pollInterval` become
 * `ttlMs` and `pollIntervalMs`; the related-task `_meta` goes (the id is in the task itself).
 */
export function toModernTask(task: Obj, taskId: string): Obj {
  const { ttl, pollInterval, _meta, taskId: _upstream, ...rest } = task;
  const meta = asObject(_meta);
  const { [RELATED_TASK]: _related, ...otherMeta } = meta ?? {};
  return {
    ...rest,
    taskId,
    ttlMs: typeof ttl === 'number' ? ttl : null,
    ...(typeof pollInterval === 'number' ? { pollIntervalMs: pollInterval } : {}),
    ...(Object.keys(otherMeta).length > 0 ? { _meta: otherMeta } : {}),
  };
}

/** `capabilities` with the tasks extension declared: what the gateway tells a server of the extension when it acts for a 2025 client's task. */
export function withTasksExtension(capabilities: Obj): Obj {
  return { ...capabilities, extensions: { ...asObject(capabilities.extensions), [TASKS_EXTENSION]: {} } };
}

/** `capabilities` without the tasks extension: a 2025 client's call that asked for no task must not become one. */
export function withoutTasksExtension(capabilities: Obj): Obj {
  const extensions = asObject(capabilities.extensions);
  if (!extensions || !(TASKS_EXTENSION in extensions)) return capabilities;
  const { [TASKS_EXTENSION]: _tasks, ...others } = extensions;
  return { ...capabilities, extensions: others };
}

/**
 * A task of the extension (a CreateTaskResult or a DetailedTask) as a 2025 Task, under its own id:
 * `ttlMs` and `pollIntervalMs` become `ttl` and `pollInterval`; the inlined outcome, the questions
 * and `resultType` stay behind (a 2025 client fetches the outcome with tasks/result).
 */
export function toLegacyTask(task: Obj): Obj {
  const { ttlMs, pollIntervalMs, resultType: _type, result: _result, error: _error, inputRequests: _questions, ...rest } = task;
  return {
    ...rest,
    ttl: typeof ttlMs === 'number' ? ttlMs : null,
    ...(typeof pollIntervalMs === 'number' ? { pollInterval: pollIntervalMs } : {}),
  };
}

/** A 2025 task's outcome (its tasks/result answer) as the extension inlines it in a terminal Task: a result is `completed`, an error `failed`. */
export function inlineOutcome(outcome: { result: Obj } | { error: unknown }): Obj {
  if ('error' in outcome) return { status: 'failed', error: outcome.error };
  const { _meta, ...result } = outcome.result;
  const { [RELATED_TASK]: _related, ...meta } = asObject(_meta) ?? {};
  return { status: 'completed', result: Object.keys(meta).length > 0 ? { ...result, _meta: meta } : result };
}
