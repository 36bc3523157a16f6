/**
 * One live backend of a server: a supervised upstream session plus the catalog of what it offers,
 * kept current (fetched on connect, refetched on list_changed, emptied while down). Its id, weight
 * and settings are its plan's spec, read live, so a weight change there takes effect here. A
 * shared 2025 Streamable HTTP backend with `pool` leases each request a session of its pool
 * (upstream/session-pool.ts); every other backend sends on its one session. With `breaker` it has
 * a circuit breaker (breaker.ts) that balancing consults and the relay's breaker stage feeds.
 */
import type { Logger } from 'pino';
import { transportKind, type TransportKind } from '../config/schema';
import { FleetError } from '../protocol/errors';
import type { JsonRpcNotification, JsonRpcRequest } from '../protocol/jsonrpc';
import { UpstreamConnection, type InitializeParams, type RequestWire, type ServerRequestOutcome } from '../upstream/connection';
import type { HealthReport, HealthState } from '../upstream/health-state';
import { SessionPool, type Lease, type SessionPoolStats } from '../upstream/session-pool';
import { UpstreamSupervisor, type EraMemory } from '../upstream/supervisor';
import type { Subject } from '../upstream/token-exchange';
import type { UpstreamTransports } from '../upstream/transports';
import { CatalogIndex, EMPTY_CATALOG, LIST_CHANGED, LIST_KINDS, fetchCatalog, fetchList, type Catalog, type ListKind, type Want } from './lists';
import { identify, refusalOf, type BackendIdentity } from './compatibility';
import { BackendBreaker } from './breaker';
import type { BackendSpec } from './plan';
import type { BackendState } from './state';

export interface BackendListener {
  /** The backend connected and its catalog is loaded. */
  backendUp(backend: Backend, conn: UpstreamConnection): void;
  backendDown(backend: Backend): void;
  /** The backend's list of `kind` was refetched after its list_changed. */
  backendListChanged(backend: Backend, kind: ListKind): void;
  notification(n: JsonRpcNotification, conn: UpstreamConnection, context: RequestWire): void;
  request(r: JsonRpcRequest, conn: UpstreamConnection, context: RequestWire): Promise<ServerRequestOutcome>;
}

export class Backend {
  private index = new CatalogIndex(EMPTY_CATALOG);
  private readonly supervisor: UpstreamSupervisor;
  private readonly pool: SessionPool | undefined;
  /** Its circuit breaker (`breaker` in its server's config); undefined without one. */
  readonly breaker: BackendBreaker | undefined;
  private loaded = false;
  private known: BackendIdentity | undefined;
  private refused: string | undefined;
  private inFlight = 0;
  private readonly refetching = new Map<ListKind, { again: boolean }>();

  constructor(
    readonly spec: BackendSpec,
    transports: UpstreamTransports,
    initParams: () => InitializeParams,
    private listener: BackendListener,
    private readonly log: Logger,
    eras?: EraMemory,
    /** Whom its upstream acts for (a per-session server's session), for token exchange. */
    subject?: Subject,
  ) {
    this.supervisor = new UpstreamSupervisor(
      spec.config,
      () => transports.create(spec.config, spec.id, log, subject),
      initParams,
      { notification: (n, conn, context) => this.onNotification(n, conn, context), request: (r, conn, context) => this.listener.request(r, conn, context) },
      { up: (conn) => this.onUp(conn), down: () => this.onDown() },
      log,
      eras,
    );
    const breaker = spec.config.breaker;
    this.breaker =
      breaker && new BackendBreaker(breaker, (state) => log[state === 'closed' ? 'info' : 'warn']({ breaker: state }, 'circuit breaker changed state'));
    const pool = spec.config.kind === 'remote' ? spec.config.pool : undefined;
    if (pool && pool.max > 1) {
      const open = () => this.openPooled(transports, initParams, subject);
      this.pool = new SessionPool(spec.config.name, pool, open, log.child({ pool: true }));
    }
  }

  /**
   * The session one request goes on, and its release once answered: one of the pool's (2025
   * servers with `pool`), else the backend's own session.
   */
  async lease(): Promise<Lease> {
    this.inFlight++;
    let lease: Lease;
    try {
      lease = await this.leaseSession();
    } catch (err) {
      this.inFlight--;
      throw err;
    }
    let released = false;
    return {
      conn: lease.conn,
      release: () => {
        if (released) return;
        released = true;
        this.inFlight--;
        lease.release();
      },
    };
  }

  /** Requests holding a lease now (waiting for a pooled session, or sent and not yet answered): what least-outstanding balancing compares. */
  get outstanding(): number {
    return this.inFlight;
  }

  private leaseSession(): Promise<Lease> {
    const conn = this.connection;
    if (!this.pool || conn?.era === 'modern') {
      if (!conn) {
        const server = this.spec.config.name;
        return Promise.reject(new FleetError('UPSTREAM_UNAVAILABLE', `server "${server}" backend "${this.id}" is not connected`, { data: { server } }));
      }
      return Promise.resolve({ conn, release: () => {} });
    }
    return this.pool.acquire();
  }

  /** Whether `conn` is one of this backend's sessions (its own or a pooled one). */
  holds(conn: UpstreamConnection): boolean {
    return conn === this.connection || (this.pool?.has(conn) ?? false);
  }

  /** The pool's statistics; undefined for a backend without one. */
  get poolStats(): SessionPoolStats | undefined {
    return this.pool?.stats;
  }

  get id(): string {
    return this.spec.id;
  }

  get weight(): number {
    return this.spec.weight;
  }

  get catalog(): Catalog {
    return this.index.catalog;
  }

  get connection(): UpstreamConnection | undefined {
    return this.supervisor.connection;
  }

  /** What it said it is when it last connected (serverInfo, protocol, capabilities, tools hash). */
  get identity(): BackendIdentity | undefined {
    return this.known;
  }

  /** Why its last connection was refused (protocol version, `version` range); undefined once one is accepted. */
  get refusal(): string | undefined {
    return this.refused;
  }

  /** Its upstream's connections so far: made, lost after they were up, attempts that failed. */
  get connections(): Readonly<UpstreamSupervisor['counts']> {
    return this.supervisor.counts;
  }

  get lastError(): Error | undefined {
    return this.supervisor.lastError;
  }

  /** Connected with its catalog loaded: it can take traffic. */
  get ready(): boolean {
    return this.loaded && this.connection !== undefined;
  }

  get state(): BackendState {
    if (this.ready) return 'ready';
    return this.supervisor.state === 'connecting' || this.supervisor.state === 'up' ? 'connecting' : 'down';
  }

  /**
   * Healthy, degraded or down, from its health checks (upstream/health-monitor.ts): balancing
   * skips a down backend and prefers healthy ones to degraded ones. The hook for whatever else
   * decides by a backend's health.
   */
  get healthState(): HealthState {
    return this.supervisor.health.state;
  }

  /** The health state with its reason, last check and counts, as the admin API and readiness report it. */
  get health(): HealthReport {
    return this.supervisor.health.report;
  }

  /** Ready and not found down by its health checks: it takes new traffic. */
  get serving(): boolean {
    return this.ready && this.healthState !== 'down';
  }

  /** Whether its circuit breaker lets a new request through (always, without a breaker). */
  get admits(): boolean {
    return this.breaker?.admits ?? true;
  }

  /**
   * Its breaker is open and still waiting out halfOpenAfterMs. Once that passed it counts as
   * admitting again: the next request probes it, so readiness that waited for a closed breaker
   * would keep away (behind a load balancer) the very traffic that closes it.
   */
  get heldByBreaker(): boolean {
    return this.breaker?.state === 'open' && !this.breaker.admits;
  }

  /** Whether the process or connection is up, catalog or not (health probes tell the two apart). */
  get connected(): boolean {
    return this.supervisor.state === 'up';
  }

  get supervisorState(): UpstreamSupervisor['state'] {
    return this.supervisor.state;
  }

  get transport(): TransportKind {
    return transportKind(this.spec.config);
  }

  start(): Promise<void> {
    return this.supervisor.start();
  }

  /** From now on it reports to `listener`: the group of a changed server's new plan took it over, connection and all. */
  moveTo(listener: BackendListener): void {
    this.listener = listener;
  }

  async stop(): Promise<void> {
    await this.pool?.stop();
    await this.supervisor.stop();
  }

  /** Whether this backend's catalog has what a request names. */
  offers(want: Want): boolean {
    return this.index.offers(want);
  }

  private async onUp(conn: UpstreamConnection): Promise<void> {
    let catalog: Catalog;
    try {
      catalog = await fetchCatalog(conn, this.spec.config.requestTimeoutMs);
    } catch (err) {
      await conn.lose(new Error(`cannot read what the server offers: ${(err as Error).message}`));
      return;
    }
    if (!conn.isOpen) return;
    this.known = identify(conn.init, conn.era, catalog);
    this.refused = refusalOf(this.known, this.spec.config);
    if (this.refused !== undefined) {
      this.log.warn({ reason: this.refused, serverInfo: this.known.serverInfo, protocolVersion: this.known.protocolVersion }, 'backend refused');
      await conn.lose(new Error(`refused: ${this.refused}`));
      return;
    }
    this.index = new CatalogIndex(catalog);
    this.loaded = true;
    this.log.info(Object.fromEntries(LIST_KINDS.map((k) => [k, catalog[k].length])), 'server catalog loaded');
    if (conn.era === 'legacy') this.pool?.attach(conn);
    this.listener.backendUp(this, conn);
  }

  private onDown(): void {
    this.index = new CatalogIndex(EMPTY_CATALOG);
    this.loaded = false;
    this.listener.backendDown(this);
  }

  /**
   * One more session to this backend, for the pool: initialized like the supervised one (the 2025
   * era it found). What it says about a call reaches that call's client; its list changes and
   * resource updates are the supervised session's business (the same server says them there).
   */
  private async openPooled(transports: UpstreamTransports, initParams: () => InitializeParams, subject?: Subject): Promise<UpstreamConnection> {
    const config = this.spec.config;
    const transport = await transports.create(config, this.id, this.log, subject);
    const conn = new UpstreamConnection(
      config.name,
      transport,
      {
        notification: (n, c, context) => {
          if (!LIST_CHANGED.has(n.method) && n.method !== 'notifications/resources/updated') this.listener.notification(n, c, context);
        },
        request: (r, c, context) => this.listener.request(r, c, context),
        closed: () => {},
      },
      this.log,
    );
    try {
      await conn.open(initParams(), { timeoutMs: config.requestTimeoutMs, era: 'legacy', probeTimeoutMs: config.probeTimeoutMs });
    } catch (err) {
      await conn.close();
      throw err;
    }
    return conn;
  }

  private onNotification(n: JsonRpcNotification, conn: UpstreamConnection, context: RequestWire): void {
    const kinds = LIST_CHANGED.get(n.method);
    if (!kinds) {
      this.listener.notification(n, conn, context);
      return;
    }
    for (const kind of kinds) this.refetch(kind, conn);
  }

  /**
   * Refetches one list. Changes announced while a fetch runs are folded into a single further
   * fetch, so a burst of list_changed costs at most two fetches and two client notifications.
   */
  private refetch(kind: ListKind, conn: UpstreamConnection): void {
    const running = this.refetching.get(kind);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: false };
    this.refetching.set(kind, state);
    void (async () => {
      try {
        do {
          state.again = false;
          const items = await fetchList(conn, kind, this.spec.config.requestTimeoutMs);
          if (!conn.isOpen || conn !== this.connection) return;
          this.index = new CatalogIndex({ ...this.catalog, [kind]: items });
          if (kind === 'tools') this.known = identify(conn.init, conn.era, this.catalog);
          this.listener.backendListChanged(this, kind);
        } while (state.again);
      } catch (err) {
        this.log.warn({ err: (err as Error).message, kind }, 'cannot refresh list after list_changed');
      } finally {
        this.refetching.delete(kind);
      }
    })();
  }
}
