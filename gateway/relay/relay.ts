/**
 * The relay: how a client's request is served once its session let it through. The route table
 * says whether the gateway answers it (lists from the merged catalog, ping, log levels) or forwards
 * it; a forwarded request runs the chain of stages
 *
 *   resolve (route by name or URI) → trace → [subscription bookkeeping] → pick (backend by weight)
 *   → count (statistics, metrics, the call log line) → send (ids, progress, cancellation)
 *
 * Authentication, authorization, rate limits, the protocol-era adapter and breaker/retry are
 * further stages of the same contract (relay/context.ts): the first three before resolve, the
 * adapter around the whole chain, breaker/retry around pick and send.
 *
 * It also keeps what it knows per client (attach/detach): the per-session servers it opened for it,
 * its log level and its subscriptions.
 */
import type { CatalogView } from '../catalog/view';
import type { CatalogViews } from '../catalog/views';
import type { CallRecord } from '../metrics/call-stats';
import { resultResponse, type JsonRpcResponse } from '../protocol/jsonrpc';
import type { ServerGroup } from '../servers/group';
import type { ServerRegistry } from '../servers/registry';
import type { InitializeParams } from '../upstream/connection';
import type { ClientDirectory, ClientPeer } from './clients';
import { chain, type Call, type Next } from './context';
import type { LogLevel } from './log-levels';
import type { ProgressRouter } from './progress';
import type { LocalServices, MethodRoute } from './routes';
import { setLevel, type SharedUpstreamState } from './shared-upstream-state';
import { countStage } from './stages/count';
import { pickStage } from './stages/pick';
import { resolveStage, type RoutingDeps } from './stages/resolve';
import { sendStage } from './stages/send';
import { subscriptionStage } from './stages/subscription';
import { traceStage } from './stages/trace';

export interface RelayDeps {
  registry: ServerRegistry;
  views: CatalogViews;
  clients: ClientDirectory;
  progress: ProgressRouter;
  shared: SharedUpstreamState;
  /** A forwarded call ended: into the statistics and the metrics. */
  recordCall: (call: CallRecord) => void;
  pageSize: number;
  /** One `call` log line per forwarded request. */
  logCalls: boolean;
}

export class Relay implements LocalServices, RoutingDeps {
  /** One chain per forwarding route, built on first use. */
  private readonly chains = new Map<MethodRoute, Next>();

  constructor(private readonly deps: RelayDeps) {}

  get pageSize(): number {
    return this.deps.pageSize;
  }

  /** Serves one request the session let through; throws FleetError for what the gateway refuses. */
  handle(call: Call, route: Exclude<MethodRoute, { kind: 'initialize' }>): Promise<JsonRpcResponse> {
    if (route.kind === 'local') return route.answer(call.params, call.client, this).then((result) => resultResponse(call.request.id, result));
    return this.chainFor(route)(call);
  }

  /** A session finished its handshake: the relay serves it from now on, with its own per-session servers. */
  async attach(peer: ClientPeer, init: () => InitializeParams): Promise<void> {
    this.deps.clients.add(peer);
    // Also without per-session servers now: one registered later opens for the sessions already here.
    await this.deps.registry.openOwner(peer.id, init);
  }

  /** A session ended: its per-session servers stop, and shared upstreams forget what it asked for. */
  async detach(peer: ClientPeer): Promise<void> {
    if (!this.deps.clients.remove(peer.id)) return;
    for (const { server, uri } of this.deps.shared.dropClient(peer.id)) {
      const group = this.deps.registry.groupFor(undefined, server);
      for (const conn of group?.connections ?? []) conn.fireAndForget('resources/unsubscribe', { uri }, group!.config.requestTimeoutMs);
    }
    this.deps.views.forget(peer.id);
    await Promise.all([this.deps.registry.closeOwner(peer.id), this.shareLevel()]);
  }

  /** The servers' instructions for this client, one section each. */
  instructions(peer: ClientPeer): string {
    return this.deps.registry
      .groupsFor(peer.id)
      .flatMap((g) => {
        const text = g.lead?.connection?.init.instructions;
        return typeof text === 'string' && text.trim() ? [`## ${g.name}\n${text.trim()}`] : [];
      })
      .join('\n\n');
  }

  /** The client changed its roots: its own upstreams hear it (shared ones never asked for roots). */
  rootsChanged(peer: ClientPeer, params: Record<string, unknown> | undefined): void {
    for (const g of this.deps.registry.groupsFor(peer.id))
      if (g.owner === peer.id) for (const conn of g.connections) void conn.notify('notifications/roots/list_changed', params);
  }

  // ---- LocalServices, RoutingDeps ----------------------------------------------------------

  view(client: ClientPeer): CatalogView {
    return this.deps.views.for(client.id);
  }

  group(client: ClientPeer, server: string): ServerGroup | undefined {
    return this.deps.registry.groupFor(client.id, server);
  }

  async setLevel(client: ClientPeer, level: LogLevel): Promise<void> {
    const attached = this.deps.clients.get(client.id);
    if (attached) attached.logLevel = level;
    const own = this.deps.registry.groupsFor(client.id).filter((g) => g.owner === client.id);
    await Promise.all([...own.flatMap((g) => g.connections.map((c) => setLevel(c, level))), this.shareLevel()]);
  }

  // ---- helpers -----------------------------------------------------------------------------

  /** Shared upstreams log at the most verbose level any client asked for. */
  private async shareLevel(): Promise<void> {
    if (!this.deps.shared.updateLevel(this.deps.clients.all(false).map((c) => c.logLevel))) return;
    const level = this.deps.shared.logLevel;
    if (!level) return;
    await Promise.all(this.deps.registry.sharedGroups().flatMap((g) => g.connections.map((c) => setLevel(c, level))));
  }

  private chainFor(route: Extract<MethodRoute, { kind: 'forward' | 'subscription' }>): Next {
    let next = this.chains.get(route);
    if (!next) {
      const { clients, shared, progress, recordCall, logCalls } = this.deps;
      const subscription = route.kind === 'subscription' ? [subscriptionStage(route.subscribe, clients, shared)] : [];
      next = chain([resolveStage(route.target, this), traceStage, ...subscription, pickStage, countStage(recordCall, logCalls)], sendStage(progress));
      this.chains.set(route, next);
    }
    return next;
  }
}
