/**
 * What servers send about tasks, on its way to the client that owns the task: status notifications
 * (to that client alone, under the gateway's task id) and the requests a running task makes
 * (elicitation, sampling: routed by their related-task `_meta` to the task's client, whoever else
 * has calls in flight on a shared server, and their answers mapped back to the server's id; a
 * 2026-07-28 client's task keeps them for its tasks/get and tasks/update: task-questions.ts).
 */
import type { JsonRpcRequest } from '../protocol/jsonrpc';
import type { JsonRpcResponse } from '../protocol/jsonrpc';
import type { ServerRequestOutcome, UpstreamConnection } from '../upstream/connection';
import type { ClientDirectory } from './clients';
import { relatedTaskId, withRelatedTask, withTaskId } from './task-messages';
import type { TaskInputs } from './task-questions';
import { ownedStatelessly, type TaskTable } from './tasks';

/**
 * Delivers a notifications/tasks/status to the task's client (a modern client's: to the listen
 * streams that name the task); false when no live task of this session matches.
 */
export function taskStatus(tasks: TaskTable, inputs: TaskInputs, clients: ClientDirectory, params: Record<string, unknown>, conn: UpstreamConnection): boolean {
  const entry = tasks.upstream(conn, params.taskId);
  if (!entry) return false;
  if (typeof params.status === 'string') tasks.setStatus(entry, params.status);
  if (ownedStatelessly(entry.clientId)) {
    inputs.statusChanged(entry, params);
    return true;
  }
  const client = clients.get(entry.clientId);
  client?.peer.notify('notifications/tasks/status', withTaskId(params, entry.id));
  return client !== undefined;
}

export interface TaskRequest {
  clientId: string;
  /** The request as the client gets it: its related-task under the gateway's id. */
  request: JsonRpcRequest;
  /** The client's answer as the server gets it: under the server's id again. */
  answer(outcome: ServerRequestOutcome): ServerRequestOutcome;
  /** For a modern client's task: the question waits for its tasks/update, and this is the answer. */
  held?: () => Promise<ServerRequestOutcome>;
}

/** For a server request that belongs to a live task of this session: whose it is, and the request and answer renamed. */
export function taskTraffic(tasks: TaskTable, inputs: TaskInputs, request: JsonRpcRequest, conn: UpstreamConnection): TaskRequest | undefined {
  const entry = tasks.upstream(conn, relatedTaskId(request.params));
  if (!entry) return undefined;
  const renamed: JsonRpcRequest = { ...request, params: withRelatedTask(request.params, entry.id) };
  const answer = (outcome: ServerRequestOutcome): ServerRequestOutcome =>
    'result' in outcome ? { result: withRelatedTask(outcome.result, entry.upstreamId) } : outcome;
  const held = async () => answer(outcomeOf(await inputs.ask(entry, renamed, conn)));
  return { clientId: entry.clientId, request: renamed, answer, ...(ownedStatelessly(entry.clientId) ? { held } : {}) };
}

function outcomeOf(reply: JsonRpcResponse): ServerRequestOutcome {
  return 'error' in reply ? { error: reply.error } : { result: reply.result };
}
