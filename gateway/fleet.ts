/**
 * The fleet: the server registry (configured and runtime servers) and every connected client
 * session. It routes what the servers send (list changes, progress, log messages, resource
 * updates, their own requests) to the sessions it belongs to, keeps shared upstream state (log
 * level, subscriptions) right for all sessions and backends at once, and counts forwarded calls.
 */
import type { Logger } from 'pino';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import type { GatewayConfig } from './config/schema';
import { buildView, resourceOwner, type CatalogView } from './catalog/view';
import { LIST_CHANGED_NOTIFICATION, type ListKind } from './servers/lists';
import type { ServerLink, LinkListener } from './servers/group';
import { ServerRegistry } from './servers/registry';
import { TransportFactory } from './upstream/transports';
import type { InitializeParams, UpstreamConnection } from './upstream/connection';
import type { JsonRpcNotification, JsonRpcRequest, RequestId } from './protocol/jsonrpc';
import { FleetError } from './protocol/errors';
import { ClientSession, type FrontChannel } from './session/client-session';
import type { SessionHost } from './session/session-host';
import { ProgressRouter } from './relay/progress';
import { mostVerbose, passes, type LogLevel } from './relay/log-levels';
import { CallStats, type CallRecord } from './metrics/call-stats';
import { GatewayMetrics } from './metrics/registry';

/** Shared upstreams ask clients for sampling and elicitation per request; roots are per-client state, so they are not offered. */
const SHARED_CLIENT_CAPABILITIES = { sampling: {}, elicitation: {} };

const CAPABILITY_FOR_METHOD: Record<string, string> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
};

export class Fleet implements SessionHost, LinkListener {
  readonly progress = new ProgressRouter();
  readonly sessions = new Map<string, ClientSession>();
  readonly registry: ServerRegistry;
  readonly transports: TransportFactory;
  readonly stats = new CallStats();
  readonly metrics: GatewayMetrics;
  private readonly views = new Map<string, CatalogView>();
  private readonly closingUpstreams = new Set<Promise<void>>();
  draining = false;
  /** True once the first connection attempt of every shared server is done (or timed out). */
  started = false;
  private sharedLevel: LogLevel | undefined;
  /** uri → sessions subscribed to it on a shared server. */
  private readonly sharedSubscriptions = new Map<string, Set<string>>();

  constructor(
    readonly config: GatewayConfig,
    readonly serverInfo: { name: string; version: string },
    private readonly log: Logger,
  ) {
    const sharedInit = (): InitializeParams => ({
      protocolVersion: LATEST_PROTOCOL_VERSION,
      capabilities: SHARED_CLIENT_CAPABILITIES,
      clientInfo: serverInfo,
    });
    this.transports = new TransportFactory({ instance: config.instance, dockerSocket: config.dockerSocket }, log);
    this.registry = new ServerRegistry(
      config.servers,
      this.transports,
      {
        listener: this,
        sharedInit,
        sessionInit: (session) => ({ protocolVersion: session.protocolVersion, capabilities: session.capabilities, clientInfo: session.clientInfo }),
        sessions: () => [...this.sessions.values()].filter((s) => s.initialized),
        waitAtMost: (p) => waitAtMost(p, config.startup.waitForServersMs),
      },
      log,
    );
    this.metrics = new GatewayMetrics({
      sessionFronts: () => [...this.sessions.values()].map((s) => s.channel.kind),
      servers: () => this.registry.servers.map((l) => this.registry.describe(l)),
      pools: () => this.transports.allPools,
    });
  }

  /** The live links of the shared servers, in registration order. */
  get sharedLinks(): ServerLink[] {
    return this.registry.shared;
  }

  /** Connects the shared servers; waits at most `startup.waitForServersMs` so one slow server cannot hold up the rest. */
  async start(): Promise<void> {
    await this.transports.start(this.config.servers);
    const all = Promise.all(this.sharedLinks.map((l) => l.start()));
    await waitAtMost(all, this.config.startup.waitForServersMs);
    this.started = true;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.close()));
    // sessions that ended just before may still be stopping their containers or processes
    await Promise.all(this.closingUpstreams);
    await this.registry.stop();
    await this.transports.stop();
  }

  openSession(channel: FrontChannel): ClientSession {
    const session = new ClientSession(this, channel, this.log);
    this.sessions.set(session.id, session);
    this.log.info({ session: session.id, front: channel.kind }, 'client session opened');
    return session;
  }

  get inFlightCount(): number {
    let n = 0;
    for (const s of this.sessions.values()) n += s.inFlightCount;
    return n;
  }

  // ---- SessionHost -------------------------------------------------------------------------

  links(session: ClientSession): ServerLink[] {
    if (session.ownLinks.length === 0) return this.sharedLinks;
    return this.registry.servers.flatMap((s) => (s.server.mode === 'shared' ? [s] : session.ownLinks.filter((l) => l.name === s.name)));
  }

  view(session: ClientSession): CatalogView {
    if (session.ownLinks.length === 0) return this.sharedView();
    return this.cachedView(session.id, () => this.links(session));
  }

  private sharedView(): CatalogView {
    return this.cachedView('', () => this.sharedLinks);
  }

  private cachedView(key: string, links: () => ServerLink[]): CatalogView {
    let v = this.views.get(key);
    if (!v) {
      v = buildView(links(), this.config.nameSeparator, this.log);
      this.views.set(key, v);
    }
    return v;
  }

  async openOwnLinks(session: ClientSession): Promise<void> {
    if (session.ownLinks.length > 0) return;
    session.ownLinks = this.registry.ownLinks(session);
    await waitAtMost(Promise.all(session.ownLinks.map((l) => l.start())), this.config.startup.waitForServersMs);
  }

  async setLogLevel(session: ClientSession, level: LogLevel): Promise<void> {
    session.logLevel = level;
    await Promise.all(session.ownLinks.flatMap((l) => l.connections.map((c) => this.requestLevel(c, level))));
    const shared = mostVerbose([...this.sessions.values()].flatMap((s) => (s.logLevel ? [s.logLevel] : [])));
    if (shared === this.sharedLevel) return;
    this.sharedLevel = shared;
    await Promise.all(this.sharedLinks.flatMap((l) => l.connections.map((c) => this.requestLevel(c, shared))));
  }

  subscribe(session: ClientSession, link: ServerLink, uri: string): boolean {
    session.subscriptions.add(uri);
    if (link.ownerSessionId) return true;
    const subscribers = this.sharedSubscriptions.get(uri) ?? new Set();
    subscribers.add(session.id);
    this.sharedSubscriptions.set(uri, subscribers);
    return subscribers.size === 1;
  }

  unsubscribe(session: ClientSession, link: ServerLink, uri: string): boolean {
    session.subscriptions.delete(uri);
    if (link.ownerSessionId) return true;
    const subscribers = this.sharedSubscriptions.get(uri);
    if (!subscribers?.delete(session.id) || subscribers.size > 0) return false;
    this.sharedSubscriptions.delete(uri);
    return true;
  }

  sessionClosed(session: ClientSession, upstreamsStopped: Promise<void>): void {
    this.sessions.delete(session.id);
    this.closingUpstreams.add(upstreamsStopped);
    void upstreamsStopped.finally(() => this.closingUpstreams.delete(upstreamsStopped));
    this.views.delete(session.id);
    for (const [uri, subscribers] of this.sharedSubscriptions) {
      if (!subscribers.delete(session.id) || subscribers.size > 0) continue;
      this.sharedSubscriptions.delete(uri);
      const owner = resourceOwner(this.sharedView(), uri);
      for (const conn of owner?.connections ?? []) void conn.request('resources/unsubscribe', { uri }, { timeoutMs: owner!.server.requestTimeoutMs }).response;
    }
    this.log.info({ session: session.id }, 'client session closed');
  }

  recordCall(call: CallRecord): void {
    this.stats.record(call);
    this.metrics.recordCall(call);
  }

  // ---- LinkListener --------------------------------------------------------------------------

  listsChanged(link: ServerLink, kinds: ListKind[]): void {
    const targets = link.ownerSessionId ? [this.sessions.get(link.ownerSessionId)].filter((s) => s !== undefined) : [...this.sessions.values()];
    if (link.ownerSessionId) this.views.delete(link.ownerSessionId);
    else this.views.clear();
    const methods = new Set(kinds.map((k) => LIST_CHANGED_NOTIFICATION[k]));
    for (const session of targets) {
      if (!session.initialized) continue;
      for (const method of methods) session.notify(method);
    }
  }

  backendUp(link: ServerLink, conn: UpstreamConnection): void {
    if (link.ownerSessionId) return;
    // A reconnected shared backend starts afresh: give it back the level and subscriptions clients asked for.
    if (this.sharedLevel) void this.requestLevel(conn, this.sharedLevel);
    for (const uri of this.sharedSubscriptions.keys()) {
      if (resourceOwner(this.sharedView(), uri) === link) {
        void conn.request('resources/subscribe', { uri }, { timeoutMs: link.server.requestTimeoutMs }).response;
      }
    }
  }

  notification(link: ServerLink, n: JsonRpcNotification, conn: UpstreamConnection): void {
    const params = n.params ?? {};
    switch (n.method) {
      case 'notifications/progress':
        if (!this.progress.deliver(params, conn)) this.log.debug({ server: link.name, token: params.progressToken }, 'progress for an unknown token dropped');
        return;
      case 'notifications/message': {
        // Log lines during a call travel with that call (a client without a GET stream still sees them).
        const origins = conn.inFlightOrigins();
        for (const s of this.audience(link)) {
          if (!passes(params.level, s.logLevel)) continue;
          const related = origins.filter((o) => o.sessionId === s.id).at(-1)?.clientRequestId;
          s.notify(n.method, params, related);
        }
        return;
      }
      case 'notifications/resources/updated':
        for (const s of this.audience(link)) if (s.subscriptions.has(String(params.uri))) s.notify(n.method, params);
        return;
      case 'notifications/cancelled':
        for (const s of this.audience(link)) if (s.cancelAwaiting(conn, params.requestId as string | number, params.reason)) return;
        return;
      default:
        for (const s of this.audience(link)) s.notify(n.method, n.params);
    }
  }

  async request(link: ServerLink, r: JsonRpcRequest, conn: UpstreamConnection) {
    const target = this.requestTarget(link, r, conn);
    if ('error' in target) {
      if (r.method === 'ping') return { result: {} }; // nobody to ask: the gateway answers for its clients
      return { error: target.error.toJsonRpcError() };
    }
    const needed = CAPABILITY_FOR_METHOD[r.method];
    if (needed && !target.session.capabilities[needed]) {
      return { error: new FleetError('NO_CLIENT_FOR_REQUEST', `the client does not support ${needed} (it did not declare the capability)`).toJsonRpcError() };
    }
    const reply = await target.session.askClient(r, conn, target.related, link.server.requestTimeoutMs);
    return 'error' in reply ? { error: reply.error } : { result: reply.result };
  }

  /**
   * Which client a server's request is for. A per-session server has one. Nothing on the wire ties
   * a shared server's request to the call that caused it, so the gateway answers only when exactly
   * one session has calls in flight there, and refuses rather than guess: a wrong guess would show
   * one user's prompt to another.
   */
  private requestTarget(link: ServerLink, r: JsonRpcRequest, conn: UpstreamConnection): { session: ClientSession; related?: RequestId } | { error: FleetError } {
    const origins = conn.inFlightOrigins();
    if (link.ownerSessionId) {
      const owner = this.sessions.get(link.ownerSessionId);
      if (owner) return { session: owner, related: origins.at(-1)?.clientRequestId };
    }
    const sessionIds = new Set(origins.map((o) => o.sessionId));
    if (sessionIds.size === 1) {
      const session = this.sessions.get(origins[0].sessionId);
      if (session) return { session, related: origins.at(-1)!.clientRequestId };
    }
    if (sessionIds.size > 1) {
      return {
        error: new FleetError(
          'NO_CLIENT_FOR_REQUEST',
          `server "${link.name}" sent ${r.method} while ${sessionIds.size} client sessions had calls in flight on its shared upstream; the gateway cannot tell which client it is for and does not guess. Set mode: per-session for servers that ask clients for sampling, elicitation or roots.`,
          { data: { server: link.name } },
        ),
      };
    }
    return { error: new FleetError('NO_CLIENT_FOR_REQUEST', `no client session is waiting on server "${link.name}", so its ${r.method} request has nobody to answer it`, { data: { server: link.name } }) };
  }

  // ---- helpers -------------------------------------------------------------------------------

  /** The sessions a server's notifications are for: its owner, or every initialized session for a shared server. */
  private audience(link: ServerLink): ClientSession[] {
    if (link.ownerSessionId) {
      const owner = this.sessions.get(link.ownerSessionId);
      return owner ? [owner] : [];
    }
    return [...this.sessions.values()].filter((s) => s.initialized);
  }

  private async requestLevel(conn: UpstreamConnection | undefined, level: LogLevel | undefined): Promise<void> {
    if (!conn || !level || !conn.capabilities.logging) return;
    await conn.request('logging/setLevel', { level }, { timeoutMs: 10_000 }).response;
  }
}

function waitAtMost(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void p.finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
