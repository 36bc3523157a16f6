/**
 * A server's live backends, as clients use them: one name, one prefix, one catalog. A shared
 * server has one group for every client; a per-session server has one group per client session
 * (its `owner`), a per-principal server one per principal (its `tenant`), each bound to one
 * backend. Forwarded requests go to a ready backend that offers what they name, picked by smooth
 * weighted round-robin (or least outstanding, or by session affinity: `balancing`, balancing.ts);
 * a backend that is down or whose circuit breaker is open is skipped (failover), and a degraded
 * one (a health check failed, see upstream/health-state.ts) serves only when no healthy one can.
 * The catalog clients see is that of the ready backend with the highest weight (ties: the
 * earliest). The group counts the calls routed to it until they settle, so that a group being
 * retired (its server removed or replaced by a config reload) can stop once the last one finished.
 */
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/schema';
import type { Era } from '../protocol/eras';
import { FleetError } from '../protocol/errors';
import type { JsonRpcNotification, JsonRpcRequest } from '../protocol/jsonrpc';
import type { InitializeParams, RequestWire, ServerRequestOutcome, UpstreamConnection } from '../upstream/connection';
import type { Subject } from '../upstream/token-exchange';
import type { UpstreamTransports } from '../upstream/transports';
import { Backend, type BackendListener } from './backend';
import { exposedName } from '../protocol/names';
import { EMPTY_CATALOG, LIST_KINDS, type Catalog, type ListKind, type Want } from './lists';
import { leastLoaded, rendezvous } from './balancing';
import { SmoothWeightedPicker } from './picker';
import type { BackendSpec, ServerPlan } from './plan';
import { bestState, type BackendState } from './state';

/** What a group's upstreams say, for whoever routes it to clients. */
export interface GroupListener {
  listsChanged(group: ServerGroup, kinds: readonly ListKind[]): void;
  notification(group: ServerGroup, n: JsonRpcNotification, conn: UpstreamConnection, context: RequestWire): void;
  request(group: ServerGroup, r: JsonRpcRequest, conn: UpstreamConnection, context: RequestWire): Promise<ServerRequestOutcome>;
  /** A backend (re)connected: shared state (log level, subscriptions) is to be given back to it. */
  backendUp(group: ServerGroup, conn: UpstreamConnection): void;
  /** A backend lost its connection (it reconnects by itself; a bound group may move instead). */
  backendDown?(group: ServerGroup): void;
}

/** What a pick must respect besides what the request names. */
export interface PickOptions {
  /** Backends not to pick: those earlier attempts of a retried request failed on. */
  avoid?: ReadonlySet<string>;
  /** The 2025 client session the request comes from, for `balancing.affinity: session`. */
  session?: string;
}

/** Whose a group is when it is not shared: one client session's, or one principal's. */
export type GroupBinding = { owner: string; tenant?: undefined } | { tenant: string; owner?: undefined };

export interface GroupDeps {
  transports: UpstreamTransports;
  initParams: () => InitializeParams;
  listener: GroupListener;
  log: Logger;
  /** Whom an owned group's upstreams act for (the owner's principal and its latest access token), for token exchange. */
  subject?: Subject;
}

export class ServerGroup implements BackendListener {
  readonly backends: Backend[] = [];
  private shown: Catalog = EMPTY_CATALOG;
  /** Keep showing the last catalog while no backend is ready (continueFrom). */
  private holdsWhileDown = false;
  /** What clients were shown when the last ready backend went: a call to what it offered is told the server is reconnecting. */
  private shownBeforeDown: Catalog = EMPTY_CATALOG;
  private readonly picker = new SmoothWeightedPicker();
  private onWeightZero = false;
  private calls = 0;
  private readonly whenIdle: (() => void)[] = [];
  /** A per-session server's group: the client session its upstreams belong to (its one client). */
  readonly owner: string | undefined;
  /** A per-principal server's group: the principal whose sessions and requests it serves. */
  readonly tenant: string | undefined;

  constructor(
    readonly plan: ServerPlan,
    specs: readonly BackendSpec[],
    private readonly deps: GroupDeps,
    binding?: GroupBinding,
  ) {
    for (const spec of specs) this.backends.push(this.newBackend(spec));
    this.owner = binding?.owner;
    this.tenant = binding?.tenant;
  }

  /** A per-session (per-principal) server's group serves one session (principal) from one backend, for its life. */
  get boundTo(): string | undefined {
    return this.owner === undefined && this.tenant === undefined ? undefined : this.backends[0]?.id;
  }

  get name(): string {
    return this.plan.name;
  }

  get config(): ServerConfig {
    return this.plan.config;
  }

  /** What clients see: the lead backend's catalog. */
  get catalog(): Catalog {
    return this.shown;
  }

  /** Whether `catalog` (what clients see now, by default) offers `name`: an exposed tool or prompt name, or a resource URI. */
  offersExposed(name: string, separator: string, catalog: Catalog = this.shown): boolean {
    const named = (items: readonly { name?: unknown }[]) => items.some((i) => exposedName(this.plan.prefix, separator, String(i.name)) === name);
    return named(catalog.tools) || named(catalog.prompts) || catalog.resources.some((r) => r.uri === name);
  }

  /** Not connected now (no ready backend), and `name` was one of the lead backend's when it was. */
  offeredBeforeDown(name: string, separator: string): boolean {
    return this.lead === undefined && this.offersExposed(name, separator, this.shownBeforeDown);
  }

  /** The lists clients see something of this server in (what they hear is gone when it stops). */
  offeredLists(): ListKind[] {
    return LIST_KINDS.filter((k) => this.shown[k].length > 0);
  }

  /** The ready backend with the highest weight; ties go to the earliest added. */
  get lead(): Backend | undefined {
    let lead: Backend | undefined;
    for (const b of this.backends) if (b.ready && (!lead || b.weight > lead.weight)) lead = b;
    return lead;
  }

  /** The connections of every ready backend (initialized, catalog loaded). */
  get connections(): UpstreamConnection[] {
    const out: UpstreamConnection[] = [];
    for (const b of this.backends) if (b.ready) out.push(b.connection!);
    return out;
  }

  /** ready when a backend is, connecting while one is trying, else down. */
  get state(): BackendState {
    return bestState(this.backends.map((b) => b.state));
  }

  get lastError(): Error | undefined {
    return this.backends.find((b) => b.lastError)?.lastError;
  }

  backend(id: string): Backend | undefined {
    return this.backends.find((b) => b.id === id);
  }

  start(): Promise<void> {
    return Promise.all(this.backends.map((b) => b.start())).then(() => {});
  }

  stop(): Promise<void> {
    this.wakeIdle();
    return Promise.all(this.backends.map((b) => b.stop())).then(() => {});
  }

  /** Runs one call routed to this group, counted until it settles. */
  async track<T>(run: () => Promise<T>): Promise<T> {
    this.calls++;
    try {
      return await run();
    } finally {
      if (--this.calls === 0) this.wakeIdle();
    }
  }

  /** Calls routed to this group that have not settled. */
  get callsInFlight(): number {
    return this.calls;
  }

  /** Resolves once no call is in flight, after `timeoutMs` at the latest, or when the group stops. */
  idle(timeoutMs: number): Promise<void> {
    if (this.calls === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.whenIdle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Some backend takes new traffic. */
  get serving(): boolean {
    return this.backends.some((b) => b.serving);
  }

  /**
   * Some serving backend's breaker lets requests through (readiness asks this of required
   * servers): with every one held open, each request would fail at once with CIRCUIT_OPEN.
   */
  get admitting(): boolean {
    return this.backends.some((b) => b.serving && !b.heldByBreaker);
  }

  /**
   * The backend for one forwarded request: by weight among the serving ones that offer what it
   * names and whose circuit breaker admits it, healthy ones first, then degraded ones. When every
   * backend with weight is out, a serving weight-0 one (a healthy one first) serves rather than
   * fail. `options`: backends a retry must not go back to, the session for affinity. When breakers hold every backend that
   * could serve, the request fails at once (CIRCUIT_OPEN) instead of waiting for a timeout.
   */
  pick(want: Want, options: PickOptions = {}): Backend {
    const offering = this.backends.filter((b) => b.serving && b.offers(want) && !options.avoid?.has(b.id));
    const able = offering.filter((b) => b.admits);
    if (able.length === 0 && offering.length > 0) throw this.circuitOpen(offering);
    const healthy = able.filter((b) => b.healthState === 'healthy');
    const picked =
      this.choose(healthy, options.session) ??
      (healthy.length < able.length
        ? this.choose(
            able.filter((b) => b.healthState === 'degraded'),
            options.session,
          )
        : undefined);
    if (picked) {
      this.onWeightZero = false;
      return picked;
    }
    if (able.length > 0) {
      const fallback = healthy[0] ?? able[0];
      // warned once each time traffic falls back to weight 0, not on every request while it does
      if (!this.onWeightZero) this.deps.log.warn({ backend: fallback.id }, 'no backend with weight > 0 is ready; a weight-0 backend serves the request');
      this.onWeightZero = true;
      return fallback;
    }
    const last = this.lastError?.message;
    throw new FleetError('UPSTREAM_UNAVAILABLE', `server "${this.name}" is not connected${last ? ` (last error: ${last})` : ''}; the gateway keeps retrying`, {
      data: { server: this.name },
    });
  }

  /** One of `candidates` by the server's `balancing`: the session's own, the least loaded, or by weight alone. */
  private choose(candidates: readonly Backend[], session: string | undefined): Backend | undefined {
    const { strategy, affinity } = this.config.balancing;
    if (affinity === 'session' && session !== undefined) return rendezvous(candidates, session);
    return this.picker.pick(strategy === 'least-outstanding' ? leastLoaded(candidates) : candidates);
  }

  private circuitOpen(held: readonly Backend[]): FleetError {
    const retryAfterMs = Math.min(...held.map((b) => b.breaker?.retryAfterMs ?? 0));
    const ids = held.map((b) => b.id).join(', ');
    const when = retryAfterMs > 0 ? `retry in ${retryAfterMs} ms` : 'one is being probed, retry shortly';
    const message = `server "${this.name}": every backend that could serve the request has an open circuit breaker (${ids}); ${when}`;
    return new FleetError('CIRCUIT_OPEN', message, { data: { server: this.name, backends: held.map((b) => b.id), retryAfterMs } });
  }

  /** The other serving backends that offer what `want` names (a subscription goes to each of them). */
  others(want: Want, except: Backend): Backend[] {
    return this.backends.filter((b) => b !== except && b.serving && b.offers(want));
  }

  /** Adds and starts a backend; resolves after its first connection attempt. */
  async add(spec: BackendSpec): Promise<void> {
    const backend = this.newBackend(spec);
    this.backends.push(backend);
    this.picker.reset();
    await backend.start();
  }

  /**
   * A bound group whose session may fail over to another backend: until a backend of its own is
   * ready it shows `shown` (the catalog its session was shown before), and keeps showing the last
   * one while none is, so that a move to a backend that offers the same lists is not heard at all
   * and one that offers others is heard as list_changed for just those.
   */
  continueFrom(shown: Catalog): void {
    this.shown = shown;
    this.holdsWhileDown = true;
  }

  /**
   * Takes over the live backends of `from` (the group its server had before a config reload changed
   * it) whose specs this group's plan kept as they were: they serve on, on the connections they
   * have, from this group, in the plan's order. `from` no longer has them, so its stop leaves them.
   */
  takeOver(from: ServerGroup): void {
    const kept = from.backends.filter((b) => this.plan.holds(b.spec) && !this.backends.some((o) => o.spec === b.spec));
    if (kept.length === 0) return;
    for (const backend of kept) {
      from.backends.splice(from.backends.indexOf(backend), 1);
      backend.moveTo(this);
      this.backends.push(backend);
    }
    const order = this.plan.specs;
    this.backends.sort((a, b) => order.indexOf(a.spec) - order.indexOf(b.spec));
    this.picker.reset();
    this.showLead();
  }

  async remove(id: string): Promise<void> {
    const backend = this.backend(id);
    if (!backend) return;
    this.backends.splice(this.backends.indexOf(backend), 1);
    this.picker.reset();
    await backend.stop();
    this.showLead();
  }

  /** The plan's weights changed: the new split holds from the next pick, and the lead may change. */
  weightsChanged(): void {
    this.picker.reset();
    this.showLead();
  }

  // ---- BackendListener ----------------------------------------------------------------------

  backendUp(_backend: Backend, conn: UpstreamConnection): void {
    this.showLead();
    this.deps.listener.backendUp(this, conn);
  }

  backendDown(): void {
    this.showLead();
    this.deps.listener.backendDown?.(this);
  }

  backendListChanged(backend: Backend, kind: ListKind): void {
    if (backend !== this.lead) return;
    this.shown = { ...this.shown, [kind]: backend.catalog[kind] };
    this.deps.listener.listsChanged(this, [kind]);
  }

  notification(n: JsonRpcNotification, conn: UpstreamConnection, context: RequestWire): void {
    this.deps.listener.notification(this, n, conn, context);
  }

  request(r: JsonRpcRequest, conn: UpstreamConnection, context: RequestWire): Promise<ServerRequestOutcome> {
    return this.deps.listener.request(this, r, conn, context);
  }

  // ---- helpers ------------------------------------------------------------------------------

  private wakeIdle(): void {
    for (const wake of this.whenIdle.splice(0)) wake();
  }

  private newBackend(spec: BackendSpec): Backend {
    const eras = { get: () => this.plan.eras.get(spec.id), set: (era: Era) => void this.plan.eras.set(spec.id, era) };
    return new Backend(spec, this.deps.transports, this.deps.initParams, this, this.deps.log.child({ backend: spec.id }), eras, this.deps.subject);
  }

  /** Shows the lead backend's catalog; clients hear list_changed for each list that differs. */
  private showLead(): void {
    const lead = this.lead;
    if (!lead && this.holdsWhileDown) return;
    if (!lead && this.shown !== EMPTY_CATALOG) this.shownBeforeDown = this.shown;
    const next = lead?.catalog ?? EMPTY_CATALOG;
    const changed = LIST_KINDS.filter((k) => next[k] !== this.shown[k] && JSON.stringify(next[k]) !== JSON.stringify(this.shown[k]));
    this.shown = next;
    if (changed.length > 0) this.deps.listener.listsChanged(this, changed);
  }
}
