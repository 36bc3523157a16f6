/**
 * Everything servers send that is not an answer, carried to the clients it is for: list changes
 * (after the views are dropped), progress (by remapped token), log messages (filtered by each
 * client's level, travelling with the call they came during), resource updates (to subscribers),
 * withdrawn server requests, and the servers' own requests. A per-session server's traffic goes to
 * its one client; a per-principal server's to its principal's clients; a shared server's to every client. It also gives a reconnected shared backend
 * back the state clients asked for. What concerns a task (its status, its requests) goes to the
 * client that owns the task, under the gateway's task id (task-traffic.ts).
 */
import type { Logger } from 'pino';
import type { CatalogViews } from '../catalog/views';
import type { JsonRpcNotification, JsonRpcRequest, RequestId } from '../protocol/jsonrpc';
import type { GroupListener, ServerGroup } from '../servers/group';
import { LIST_CHANGED_NOTIFICATION, type ListKind } from '../servers/lists';
import type { RequestOrigin, RequestWire, ServerRequestOutcome, UpstreamConnection } from '../upstream/connection';
import type { AttachedClient, ClientDirectory } from './clients';
import type { Listens } from './listen';
import { passes } from './log-levels';
import type { ProgressRouter } from './progress';
import { relayServerRequest } from './server-requests';
import { setLevel, type SharedUpstreamState } from './shared-upstream-state';
import { taskStatus, taskTraffic } from './task-traffic';
import type { TaskInputs } from './task-questions';
import type { TaskTable } from './tasks';
import type { TrafficEvents } from '../metrics/traffic-events';

export interface ServerTrafficDeps {
  clients: ClientDirectory;
  progress: ProgressRouter;
  shared: SharedUpstreamState;
  views: Pick<CatalogViews, 'invalidate'>;
  /** 2026-07-28 clients' listen streams, which hear the shared servers' changes. */
  listens: Listens;
  tasks: TaskTable;
  taskInputs: TaskInputs;
  /** Live traffic for the admin debug stream: upstreams going up and down. */
  events: TrafficEvents;
  log: Logger;
}

export class ServerTraffic implements GroupListener {
  constructor(private readonly deps: ServerTrafficDeps) {}

  listsChanged(group: ServerGroup, kinds: readonly ListKind[]): void {
    this.deps.views.invalidate(group.owner);
    const methods = new Set(kinds.map((k) => LIST_CHANGED_NOTIFICATION[k]));
    for (const client of this.audience(group)) for (const method of methods) client.peer.notify(method);
    if (group.owner === undefined) this.deps.listens.listsChanged(kinds, group.tenant);
  }

  /** What every client may list changed without any server's lists changing (the policy was replaced): all of them hear it. */
  everyListChanged(kinds: readonly ListKind[]): void {
    const methods = new Set(kinds.map((k) => LIST_CHANGED_NOTIFICATION[k]));
    for (const client of this.deps.clients.all()) for (const method of methods) client.peer.notify(method);
    this.deps.listens.listsChanged(kinds);
  }

  notification(group: ServerGroup, n: JsonRpcNotification, conn: UpstreamConnection, context: RequestWire): void {
    const params = n.params ?? {};
    switch (n.method) {
      case 'notifications/progress':
        if (!this.deps.progress.deliver(params, conn))
          this.deps.log.debug({ server: group.name, token: params.progressToken }, 'progress for an unknown token dropped');
        return;
      case 'notifications/message': {
        // A log line on a call's response stream (Streamable HTTP) is that call's, and its client's alone.
        const origin = context.inResponseTo === undefined ? undefined : conn.originOf(context.inResponseTo);
        if (origin) return this.logToCaller(n, params, origin);
        // Log lines during a call travel with that call (a client without a GET stream still sees them).
        const origins = conn.inFlightOrigins();
        for (const client of this.audience(group)) {
          if (!passes(params.level, client.logLevel)) continue;
          let related: RequestId | undefined;
          for (const o of origins) if (o.clientId === client.peer.id) related = o.clientRequestId;
          client.peer.notify(n.method, params, related);
        }
        // A 2026-07-28 client hears log lines only of its own call, and only if that call asked for a level.
        for (const o of origins) {
          const client = this.deps.clients.get(o.clientId);
          if (client?.peer.era === 'modern' && client.logLevel !== undefined && passes(params.level, client.logLevel))
            client.peer.notify(n.method, params, o.clientRequestId);
        }
        return;
      }
      case 'notifications/resources/updated':
        for (const client of this.audience(group)) if (client.subscriptions.has(String(params.uri))) client.peer.notify(n.method, params);
        if (group.owner === undefined) this.deps.listens.resourceUpdated(params, group.tenant);
        return;
      case 'notifications/tasks/status':
        if (!taskStatus(this.deps.tasks, this.deps.taskInputs, this.deps.clients, params, conn))
          this.deps.log.debug({ server: group.name }, 'status of an unknown task dropped');
        return;
      case 'notifications/cancelled':
        for (const client of this.audience(group)) if (client.peer.withdraw(conn, params.requestId as RequestId, params.reason)) return;
        return;
      default:
        for (const client of this.audience(group)) client.peer.notify(n.method, n.params);
    }
  }

  /** A log line of one call: to its client if that client's level lets it through (a modern one's only if its call asked for a level). */
  private logToCaller(n: JsonRpcNotification, params: Record<string, unknown>, origin: RequestOrigin): void {
    const client = this.deps.clients.get(origin.clientId);
    if (!client || (client.peer.era === 'modern' && client.logLevel === undefined) || !passes(params.level, client.logLevel)) return;
    client.peer.notify(n.method, params, origin.clientRequestId);
  }

  async request(group: ServerGroup, r: JsonRpcRequest, conn: UpstreamConnection, context: RequestWire): Promise<ServerRequestOutcome> {
    const task = taskTraffic(this.deps.tasks, this.deps.taskInputs, r, conn);
    if (task?.held) return task.held();
    const ctx = {
      server: group.name,
      owner: group.owner,
      timeoutMs: group.config.requestTimeoutMs,
      taskOwner: task?.clientId,
      inResponseTo: context.inResponseTo,
    };
    const outcome = await relayServerRequest(this.deps.clients, task?.request ?? r, conn, ctx);
    return task ? task.answer(outcome) : outcome;
  }

  /** A reconnected upstream starts afresh: it gets back the level and subscriptions its clients asked for. */
  backendUp(group: ServerGroup, conn: UpstreamConnection): void {
    this.deps.events.publish({ type: 'upstream.up', server: group.name });
    const backend = group.backends.find((b) => b.connection === conn);
    if (backend && conn.era === 'modern') this.deps.tasks.reconnected(group.name, backend.id, conn);
    const offers = (uri: string) => backend?.offers({ kind: 'resource', uri }) ?? false;
    const timeoutMs = group.config.requestTimeoutMs;
    if (group.owner === undefined) return this.deps.shared.restore(group, conn, offers, timeoutMs);
    const client = this.deps.clients.get(group.owner);
    if (!client) return;
    if (client.logLevel) void setLevel(conn, client.logLevel);
    for (const uri of client.subscriptions) if (offers(uri)) void conn.fireAndForget('resources/subscribe', { uri }, timeoutMs);
  }

  backendDown(group: ServerGroup): void {
    this.deps.events.publish({ type: 'upstream.down', server: group.name });
  }

  /** The clients a server's notifications are for: its owner, its tenant's sessions, or every client for a shared server. */
  private audience(group: ServerGroup): AttachedClient[] {
    if (group.tenant !== undefined) return this.deps.clients.all().filter((c) => c.peer.principal.id === group.tenant);
    if (group.owner === undefined) return this.deps.clients.all();
    const owner = this.deps.clients.get(group.owner);
    return owner?.peer.operating ? [owner] : [];
  }
}
