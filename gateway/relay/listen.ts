/**
 * subscriptions/listen, the 2026-07-28 client's one stream of change notifications: the list
 * changes of the whole fleet it opted in to, updates of the resources it named, and (the tasks
 * extension) the state of the tasks it named, as notifications/tasks. The first
 * message is the acknowledgement of what the gateway honours; every notification carries the
 * listen request's id as its subscription id. Progress and log messages never go here (they
 * travel with their own request). Streams are bounded in number; each ends when its client closes
 * it or the gateway stops, with a final result.
 */
import { META } from '../protocol/eras';
import { FleetError } from '../protocol/errors';
import type { RequestId } from '../protocol/jsonrpc';
import type { ListKind } from '../servers/lists';

/** The notification types a client opts in to, as the spec names them. */
export interface ListenFilter {
  toolsListChanged?: boolean;
  promptsListChanged?: boolean;
  resourcesListChanged?: boolean;
  resourceSubscriptions?: string[];
  /** The tasks extension: tasks whose every change the stream hears. */
  taskIds?: string[];
}

const FLAG_OF: Record<ListKind, keyof ListenFilter> = {
  tools: 'toolsListChanged',
  prompts: 'promptsListChanged',
  resources: 'resourcesListChanged',
  resourceTemplates: 'resourcesListChanged',
};

const NOTIFICATION_OF: Record<'toolsListChanged' | 'promptsListChanged' | 'resourcesListChanged', string> = {
  toolsListChanged: 'notifications/tools/list_changed',
  promptsListChanged: 'notifications/prompts/list_changed',
  resourcesListChanged: 'notifications/resources/list_changed',
};

/** Resources one stream may name (the SDK's own servers take as many): each is a subscription upstream. */
export const MAX_RESOURCE_SUBSCRIPTIONS = 1024;

/** Reads the `notifications` filter of a listen request; INVALID_PARAMS naming what is wrong. */
export function parseFilter(params: Record<string, unknown>): ListenFilter {
  const raw = params.notifications;
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new FleetError('INVALID_PARAMS', 'subscriptions/listen: params.notifications must be an object');
  const f = raw as Record<string, unknown>;
  const filter: ListenFilter = {};
  for (const flag of ['toolsListChanged', 'promptsListChanged', 'resourcesListChanged'] as const) {
    if (f[flag] === undefined) continue;
    if (typeof f[flag] !== 'boolean') throw new FleetError('INVALID_PARAMS', `subscriptions/listen: notifications.${flag} must be a boolean`);
    if (f[flag]) filter[flag] = true;
  }
  if (f.resourceSubscriptions !== undefined) {
    if (!Array.isArray(f.resourceSubscriptions) || !f.resourceSubscriptions.every((u) => typeof u === 'string')) {
      throw new FleetError('INVALID_PARAMS', 'subscriptions/listen: notifications.resourceSubscriptions must be an array of URIs');
    }
    if (f.resourceSubscriptions.length > MAX_RESOURCE_SUBSCRIPTIONS) {
      throw new FleetError(
        'INVALID_PARAMS',
        `subscriptions/listen: notifications.resourceSubscriptions names ${f.resourceSubscriptions.length} URIs; one stream takes at most ${MAX_RESOURCE_SUBSCRIPTIONS}`,
      );
    }
    filter.resourceSubscriptions = [...new Set(f.resourceSubscriptions)];
  }
  if (f.taskIds !== undefined) {
    if (!Array.isArray(f.taskIds) || !f.taskIds.every((t) => typeof t === 'string'))
      throw new FleetError('INVALID_PARAMS', 'subscriptions/listen: notifications.taskIds must be an array of task ids');
    filter.taskIds = [...new Set(f.taskIds)];
  }
  return filter;
}

interface Entry {
  id: RequestId;
  /** Whose stream it is: a per-principal server's changes reach only its principal's streams. */
  principal: string;
  filter: ListenFilter;
  uris: Set<string>;
  taskIds: Set<string>;
  send(method: string, params: Record<string, unknown>): void;
  end(): void;
}

export class Listens {
  private readonly entries = new Set<Entry>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * Opens a stream with the honoured `filter`: the acknowledgement goes out first. `send` writes a
   * notification to the client; `end` closes the stream with its final result. Returns the close.
   */
  open(id: RequestId, principal: string, filter: ListenFilter, send: Entry['send'], end: Entry['end']): () => void {
    if (this.entries.size >= this.max)
      throw new FleetError('INTERNAL', `Subscription limit reached: this gateway serves ${this.max} listen streams already (stateless.maxListenStreams)`);
    const entry: Entry = { id, principal, filter, uris: new Set(filter.resourceSubscriptions ?? []), taskIds: new Set(filter.taskIds ?? []), send, end };
    this.entries.add(entry);
    send('notifications/subscriptions/acknowledged', { _meta: { [META.subscriptionId]: id }, notifications: filter });
    return () => this.entries.delete(entry);
  }

  /** Lists of a shared server (a tenant's) changed: every stream (of the tenant) that opted in hears it once per kind of list. */
  listsChanged(kinds: readonly ListKind[], tenant?: string): void {
    const flags = new Set(kinds.map((k) => FLAG_OF[k]));
    for (const entry of this.entries) {
      if (tenant !== undefined && entry.principal !== tenant) continue;
      for (const flag of flags) {
        if (flag !== 'resourceSubscriptions' && flag !== 'taskIds' && entry.filter[flag])
          entry.send(NOTIFICATION_OF[flag], { _meta: { [META.subscriptionId]: entry.id } });
      }
    }
  }

  resourceUpdated(params: Record<string, unknown>, tenant?: string): void {
    const uri = String(params.uri);
    for (const entry of this.entries) {
      if (entry.uris.has(uri) && (tenant === undefined || entry.principal === tenant))
        entry.send('notifications/resources/updated', { ...params, _meta: { ...(params._meta as object | undefined), [META.subscriptionId]: entry.id } });
    }
  }

  /** Whether a stream hears this task (the gateway then gathers what its notifications must carry). */
  watches(taskId: string): boolean {
    for (const entry of this.entries) if (entry.taskIds.has(taskId)) return true;
    return false;
  }

  /** A task changed: the streams that named it hear its whole state, as tasks/get would answer now. */
  taskChanged(taskId: string, task: Record<string, unknown>): void {
    for (const entry of this.entries) {
      if (entry.taskIds.has(taskId))
        entry.send('notifications/tasks', { ...task, _meta: { ...(task._meta as object | undefined), [META.subscriptionId]: entry.id } });
    }
  }

  /** At shutdown: every stream ends with its final result. */
  endAll(): void {
    for (const entry of [...this.entries]) {
      this.entries.delete(entry);
      entry.end();
    }
  }
}
