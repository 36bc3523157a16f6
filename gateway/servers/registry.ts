/**
 * The servers the gateway serves, in order: those of the config file, then those registered at
 * runtime. Each has a plan (what should exist); the registry owns every live group made from the
 * plans: one per shared server; for each client session (an "owner") one per per-session server;
 * for each principal that uses the gateway (a tenant, also an owner) one per per-principal server;
 * each bound to a backend picked by weight. A tenant's upstreams live while one of its sessions or
 * stateless requests holds them, and a while after (`limits.principalIdleTimeoutMs`), so that a
 * principal's next request finds them. Registering, replacing and removing servers and backends
 * and changing weights happen here, and the live groups follow. A server removed or replaced with
 * a drain leaves the lists at once; its old groups take no new calls but finish those in flight
 * (up to the drain timeout), then stop.
 */
import type { Logger } from 'pino';
import { checkPrefixes } from '../config/prefixes';
import { transportKind, type ServerConfig, type ServerMode, type TransportKind } from '../config/schema';
import { FleetError, SdkCode } from '../protocol/errors';
import { KeyedCap } from '../protocol/keyed-cap';
import type { InitializeParams, UpstreamConnection } from '../upstream/connection';
import { HEALTH_STATES, type HealthReport } from '../upstream/health-state';
import type { HttpPoolStats } from '../protocol/transport';
import type { SessionPoolStats } from '../upstream/session-pool';
import type { Subject, SubjectToken } from '../upstream/token-exchange';
import type { UpstreamTransports } from '../upstream/transports';
import { Drains } from './drains';
import type { BreakerReport } from './breaker';
import { ServerGroup, type GroupBinding, type GroupListener } from './group';
import { EMPTY_CATALOG, LIST_KINDS, type Catalog } from './lists';
import { toolMismatches, type BackendIdentity } from './compatibility';
import { PRIMARY_BACKEND, ServerPlan, type BackendOrigin, type BackendSpec } from './plan';
import { bestState, type BackendState } from './state';

/** A backend as the admin API and the metrics report it. */
export interface BackendStatus {
  id: string;
  weight: number;
  state: BackendState;
  transport: TransportKind;
  /** Where it runs: a remote server's URL (no credentials, query or fragment), a container's image, a process's command. */
  target: string;
  /** Who added it, for a backend no config file entry makes. */
  origin?: BackendOrigin;
  tools: number;
  /** What its health checks say; for a per-session backend the healthiest of its sessions' upstreams, absent while it has none. */
  health?: HealthReport;
  /** Its upstream session pool (a shared 2025 server with `pool`). */
  pool?: SessionPoolStats;
  /** The HTTP keep-alive connections of its current upstream connection (Streamable HTTP: what a 2026-07-28 server is reached over). */
  httpPool?: HttpPoolStats;
  /** What it said it is when it last connected; absent before (and for a per-session backend with no session). */
  identity?: BackendIdentity;
  /** Why its last connection was refused (compatibility.ts). */
  refused?: string;
  /** Set when its tools differ from its replica set's: it serves, flagged. */
  mismatch?: string;
  /** Its upstream connections so far (a per-session backend: its sessions' together): made, lost after they were up, failed attempts. */
  connections?: { connected: number; lost: number; failed: number };
  /** Its circuit breaker (a shared server with `breaker`). */
  breaker?: BreakerReport;
}

/** A server as the admin API and the metrics report it. */
export interface ServerStatus {
  name: string;
  mode: ServerMode;
  state: BackendState;
  backends: BackendStatus[];
}

export interface RegistryDeps {
  transports: UpstreamTransports;
  listener: GroupListener;
  /** What shared upstreams are told at initialize (the gateway's own client info and capabilities). */
  sharedInit: () => InitializeParams;
  /** How long a change waits for new upstreams' first connection attempt. */
  waitAtMost(p: Promise<unknown>): Promise<void>;
  /** How long a principal's upstreams outlive the last session or request that held them. */
  principalIdleTimeoutMs: number;
  /**
   * A server's upstream connections ended: it left (a reload, the admin API, discovery), or a
   * reload replaced them (`survives` tells the ones its new plan kept). What the layers above keep
   * on them (its clients' tasks) ends with them.
   */
  upstreamsEnded(name: string, cause: UpstreamsEnd, survives?: (conn: UpstreamConnection) => boolean): void;
  log: Logger;
}

/** Why a server's upstream connections ended: it was removed, or a config reload replaced them. */
export type UpstreamsEnd = 'removed' | 'replaced';

/** Which owned groups a client reaches besides the shared ones: its session's, and its principal's. */
export interface Reach {
  /** The client session (per-session servers). */
  session?: string;
  /** The principal's id (per-principal servers). */
  tenant?: string;
}

interface Owner {
  /** The servers whose groups it owns: per-session ones for a session, per-principal ones for a tenant. */
  mode: Exclude<ServerMode, 'shared'>;
  init: () => InitializeParams;
  /** Whom its upstreams act for (token exchange). */
  subject?: Subject;
  groups: Map<string, ServerGroup>;
  /** Gives back the owner's slots under its servers' caps. */
  release: () => void;
  /** Resolves after the owner's first upstreams made their first attempts. */
  opened: Promise<void>;
  /** A tenant: the sessions and requests holding it, and the timer that stops it once none does. */
  holders: number;
  idle?: NodeJS.Timeout;
}

/** Owners are keyed by session id, or by this prefix and the principal's id (session ids never start with it). */
const TENANT = 'tenant:';

/** A probe has no client: what its upstream says goes nowhere. */
const PROBE_LISTENER: GroupListener = {
  listsChanged: () => {},
  notification: () => {},
  request: async () => ({ error: { code: SdkCode.MethodNotFound, message: 'the gateway is only probing this server; no client is attached' } }),
  backendUp: () => {},
};

export class ServerRegistry {
  private readonly plans: ServerPlan[] = [];
  private readonly shared = new Map<string, ServerGroup>();
  private readonly owners = new Map<string, Owner>();
  /** Pending moves of bound sessions whose backend went down (failoverLater). */
  private readonly failovers = new Set<NodeJS.Timeout>();
  /** Groups of removed or replaced servers that finish their calls in flight before they stop. */
  private readonly drains: Drains;
  /** Owners per per-session or per-principal server (each runs an upstream of its own): at most its limits.maxSessions. */
  private readonly ownerCap = new KeyedCap(
    (name) => this.find(name)?.config.limits.maxSessions ?? Infinity,
    (name) =>
      `${this.find(name)?.config.mode === 'per-principal' ? 'principals' : 'sessions'} on ${this.find(name)?.config.mode} server "${name}" (each runs its own upstream)`,
    (name) => `servers.${name}.limits.maxSessions`,
  );

  constructor(
    configs: readonly ServerConfig[],
    private readonly deps: RegistryDeps,
  ) {
    this.drains = new Drains(deps.listener, deps.log);
    for (const config of configs) this.addPlan(config);
  }

  /** The servers' plans, in order. */
  get servers(): readonly ServerPlan[] {
    return this.plans;
  }

  find(name: string): ServerPlan | undefined {
    return this.plans.find((p) => p.name === name);
  }

  /** The named server's plan, or a NOT_FOUND error naming it. */
  get(name: string): ServerPlan {
    const plan = this.find(name);
    if (!plan) throw new FleetError('NOT_FOUND', `no server named "${name}"; GET /admin/servers lists them`);
    return plan;
  }

  /** The shared servers' groups, in order. */
  sharedGroups(): ServerGroup[] {
    return this.plans.flatMap((p) => this.shared.get(p.name) ?? []);
  }

  /** The groups that serve many clients: the shared servers' and the tenants' (per-principal servers). */
  multiClientGroups(): ServerGroup[] {
    const tenants = [...this.owners.values()].filter((o) => o.mode === 'per-principal');
    return this.sharedGroups().concat(tenants.flatMap((o) => [...o.groups.values()]));
  }

  /** What one client reaches, in order: the shared groups, its session's own and its principal's. */
  groupsFor(reach: Reach | undefined): ServerGroup[] {
    const own = this.ownedBy(reach);
    if (own.length === 0) return this.sharedGroups();
    return this.plans.flatMap((p) => this.shared.get(p.name) ?? own.find((o) => o.has(p.name))?.get(p.name) ?? []);
  }

  /** The live group of `name` that serves `reach` (a shared server's, or one it owns). */
  groupFor(reach: Reach | undefined, name: string): ServerGroup | undefined {
    return (
      this.shared.get(name) ??
      this.ownedBy(reach)
        .find((o) => o.has(name))
        ?.get(name)
    );
  }

  /** Who holds groups of a per-session or per-principal server: sessions and tenants. */
  ownersOf(name: string): Reach[] {
    return [...this.owners].flatMap(([key, entry]) => {
      if (!entry.groups.has(name)) return [];
      return [entry.mode === 'per-principal' ? { tenant: key.slice(TENANT.length) } : { session: key }];
    });
  }

  /**
   * The catalog view `reach` has: undefined for the shared one (it owns no group), else the key of
   * a view of its own: its session's (which shows its tenant's groups too), or its tenant's.
   */
  viewKey(reach: Reach | undefined): string | undefined {
    if (reach?.session !== undefined && this.ownsGroups(reach.session)) return reach.session;
    if (reach?.tenant !== undefined && this.ownsGroups(TENANT + reach.tenant)) return TENANT + reach.tenant;
    return undefined;
  }

  /** Whether any server is per-principal (else a stateless request has no tenant to hold). */
  get hasTenants(): boolean {
    return this.plans.some((p) => p.config.mode === 'per-principal');
  }

  /** Opens the configured servers' container pools and connects the shared servers; resolves after every first attempt. */
  start(): Promise<void> {
    for (const plan of this.plans) for (const spec of plan.specs) this.deps.transports.openPool(spec.config, spec.id);
    return Promise.all(this.sharedGroups().map((g) => g.start())).then(() => {});
  }

  async stop(): Promise<void> {
    for (const timer of this.failovers) clearTimeout(timer);
    this.failovers.clear();
    const owners = [...this.owners.keys()];
    const live = [...this.shared.values(), ...this.drains.all];
    await Promise.all(live.map((g) => g.stop()).concat(owners.map((o) => this.closeOwner(o))));
  }

  /**
   * The server being drained whose lists offered `name` (an exposed tool or prompt name, or a
   * resource URI), so that a new call to it is told why it is refused.
   */
  drainingServerOf(name: string, separator: string): string | undefined {
    return this.drains.serverOffering(name, separator);
  }

  /** The shared server that offered `name` while it was connected and is not now (reconnecting), so that a call to it is told so. */
  reconnectingServerOf(name: string, separator: string): string | undefined {
    for (const group of this.shared.values()) if (group.offeredBeforeDown(name, separator)) return group.name;
    return undefined;
  }

  /** Opens a client session's own upstreams (per-session servers), acting for `subject`; resolves after their first attempts. */
  async openOwner(owner: string, init: () => InitializeParams, subject?: Subject): Promise<void> {
    if (!this.owners.has(owner)) this.open(owner, 'per-session', init, subject);
    await this.owners.get(owner)?.opened;
  }

  /** Stops a client session's own upstreams. */
  closeOwner(owner: string): Promise<void> {
    return this.close(owner);
  }

  /**
   * Holds the principal's own upstreams (per-principal servers) open, opening them if needed;
   * resolves after their first attempts with the release. Once the last holder released them they
   * stop after `principalIdleTimeoutMs`, unless someone holds them again first. They act for the
   * principal with the token its latest holder presented (token exchange). Refused with
   * LIMIT_EXCEEDED when a per-principal server has as many principals as its maxSessions.
   */
  async holdTenant(principal: string, holder?: Subject): Promise<() => void> {
    const key = TENANT + principal;
    const open = this.owners.get(key);
    // the holder's token is there before a new tenant's upstreams first connect (they may exchange it)
    const subject = open?.subject instanceof TenantSubject ? open.subject : new TenantSubject(principal);
    const letGo = holder ? subject.hold(holder) : () => {};
    let entry: Owner;
    try {
      entry = open ?? this.open(key, 'per-principal', this.deps.sharedInit, subject);
    } catch (err) {
      letGo();
      throw err;
    }
    entry.holders++;
    clearTimeout(entry.idle);
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      letGo();
      if (--entry.holders > 0 || this.owners.get(key) !== entry) return;
      entry.idle = setTimeout(() => void this.close(key), this.deps.principalIdleTimeoutMs);
      entry.idle.unref();
    };
    await entry.opened;
    return release;
  }

  async addServer(config: ServerConfig): Promise<void> {
    if (this.find(config.name))
      throw new FleetError('CONFLICT', `server "${config.name}" already exists; DELETE /admin/servers/${config.name} first or pick another name`);
    const problems = checkPrefixes([...this.plans.map((p) => p.config), config]);
    if (problems.length > 0) throw new FleetError('INVALID_PARAMS', problems.join('; '));
    const plan = this.addPlan(config);
    this.deps.transports.openPool(config, PRIMARY_BACKEND);
    this.deps.log.info({ server: config.name, mode: config.mode }, 'server registered');
    if (plan.shared) return this.deps.waitAtMost(this.shared.get(plan.name)!.start());
    await Promise.all([
      this.probe(plan, PRIMARY_BACKEND),
      this.deps.waitAtMost(Promise.all([...this.owners].filter(([, o]) => o.mode === plan.config.mode).map(([key, entry]) => this.bind(key, entry, plan)))),
    ]);
  }

  /**
   * Takes the server out (clients hear list_changed) and stops its upstreams. Without a drain calls
   * in flight on them fail naming it; with `drainTimeoutMs` they finish first (up to that long)
   * and new ones are refused. Its clients' tasks end at once (upstreamsEnded). Resolves once its upstreams stopped.
   */
  async removeServer(name: string, drainTimeoutMs = 0): Promise<void> {
    const plan = this.get(name);
    this.plans.splice(this.plans.indexOf(plan), 1);
    const live = this.liveGroups(plan);
    this.shared.delete(name);
    for (const o of this.owners.values()) o.groups.delete(name);
    this.deps.upstreamsEnded(name, 'removed');
    await Promise.all(live.map((g) => this.retire(g, drainTimeoutMs)));
    await Promise.all(plan.specs.map((s) => this.deps.transports.closePool(name, s.id)));
    this.deps.log.info({ server: name }, 'server removed');
  }

  /**
   * Replaces a server's settings (a config reload changed them): new upstreams are started (one
   * for each session or principal bound to it) and take every new call once they made their first
   * attempt; the old ones drain as in removeServer. Backends added at run time (admin API,
   * discovery) are kept, remade under the new settings (ServerPlan.changedTo: INVALID_PARAMS,
   * before anything changed, when one does not fit); one whose settings come out the same carries
   * over live, on the connection it has. The tasks on the connections that do not carry over end
   * at once (upstreamsEnded). Resolves with the old upstreams' drain once the new ones serve.
   */
  async replaceServer(config: ServerConfig, drainTimeoutMs: number): Promise<{ drained: Promise<void> }> {
    const old = this.get(config.name);
    const problems = checkPrefixes(this.plans.map((p) => (p === old ? config : p.config)));
    if (problems.length > 0) throw new FleetError('INVALID_PARAMS', problems.join('; '));
    const plan = old.changedTo(config);
    const oldGroups = this.liveGroups(old);
    const oldShared = this.shared.get(old.name);
    const fresh = plan.specs.filter((s) => !old.holds(s));
    // a container pool is keyed by server and backend: the old one's warm containers go first (a carried-over backend keeps its pool)
    await Promise.all(old.specs.filter((s) => !plan.holds(s)).map((s) => this.deps.transports.closePool(old.name, s.id)));
    for (const spec of fresh) this.deps.transports.openPool(spec.config, spec.id);
    this.plans.splice(this.plans.indexOf(old), 1, plan);
    if (!old.shared) for (const o of this.owners.values()) if (o.mode !== plan.config.mode) o.groups.delete(old.name);
    if (plan.shared) {
      // the old group serves, carried-over backends too, until the new one made its first attempt
      const group = this.group(plan, fresh, this.deps.sharedInit, this.deps.listener);
      await this.deps.waitAtMost(group.start());
      if (oldShared) group.takeOver(oldShared);
      for (const o of this.owners.values()) o.groups.delete(old.name);
      this.shared.set(plan.name, group);
      this.deps.listener.listsChanged(group, LIST_KINDS);
    } else {
      this.shared.delete(old.name);
      // each owner's new group takes the place of its old one as it is bound (to the same backend when that carries over)
      const owners = [...this.owners].filter(([, o]) => o.mode === plan.config.mode);
      await this.deps.waitAtMost(Promise.all(owners.map(([key, entry]) => this.bind(key, entry, plan, undefined, entry.groups.get(old.name)))));
    }
    const live = this.liveGroups(plan);
    this.deps.upstreamsEnded(plan.name, 'replaced', (conn) => live.some((g) => g.backends.some((b) => b.holds(conn))));
    const carried = plan.specs.length - fresh.length;
    this.deps.log.info({ server: config.name, mode: config.mode, draining: oldGroups.length, carriedOver: carried }, 'server replaced');
    return { drained: Promise.all(oldGroups.map((g) => this.retire(g, drainTimeoutMs))).then(() => {}) };
  }

  async addBackend(name: string, spec: BackendSpec): Promise<void> {
    const plan = this.get(name);
    plan.add(spec);
    this.deps.transports.openPool(spec.config, spec.id);
    this.deps.log.info({ server: name, backend: spec.id, weight: spec.weight }, 'backend added');
    if (plan.shared) await this.deps.waitAtMost(this.shared.get(name)!.add(spec));
    else await this.probe(plan, spec.id);
  }

  /** Stops a backend; sessions bound to it (per-session servers) move to a backend picked anew. */
  async removeBackend(name: string, id: string): Promise<void> {
    const plan = this.get(name);
    plan.remove(id);
    if (plan.shared) await this.shared.get(name)!.remove(id);
    for (const [key, entry] of this.owners) {
      const bound = entry.groups.get(name);
      if (bound?.boundTo !== id) continue;
      await this.move(key, entry, plan, bound);
    }
    await this.deps.transports.closePool(name, id);
    this.deps.log.info({ server: name, backend: id }, 'backend removed');
  }

  /** Sessions bound to a per-session server keep their backend; new ones pick by the new weights. */
  setWeights(name: string, weights: Record<string, number>): Record<string, number> {
    const plan = this.get(name);
    const after = plan.setWeights(weights);
    this.shared.get(name)?.weightsChanged();
    this.deps.log.info({ server: name, weights }, 'weights changed');
    return after;
  }

  /**
   * A shared server's backends as they are. A per-session server's backends run once per session:
   * each reports the best state among the sessions' upstreams on it; while no session uses it,
   * what the probe found when it was registered at runtime, else `ready` (from the config file).
   */
  status(plan: ServerPlan): ServerStatus {
    const group = this.shared.get(plan.name);
    const bound = [...this.owners.values()].flatMap((o) => o.groups.get(plan.name) ?? []);
    const backends = plan.specs.map((spec): BackendStatus => {
      const summary = {
        id: spec.id,
        weight: spec.weight,
        transport: transportKind(spec.config),
        target: targetOf(spec.config),
        ...(spec.runtime ? { origin: spec.runtime.origin } : {}),
      };
      const live = group?.backend(spec.id);
      if (live)
        return {
          ...summary,
          state: live.state,
          tools: live.catalog.tools.length,
          health: live.health,
          ...(live.poolStats ? { pool: live.poolStats } : {}),
          ...(live.connection?.httpPool ? { httpPool: live.connection.httpPool } : {}),
          ...(live.identity ? { identity: live.identity } : {}),
          connections: { ...live.connections },
          ...(live.refusal !== undefined ? { refused: live.refusal } : {}),
          ...(live.breaker ? { breaker: live.breaker.report } : {}),
        };
      const sessions = bound.filter((g) => g.boundTo === spec.id);
      if (sessions.length === 0)
        return { ...summary, state: plan.probes.get(spec.id)?.state ?? 'ready', tools: plan.probes.get(spec.id)?.toolNames.length ?? 0 };
      return {
        ...summary,
        state: bestState(sessions.map((g) => g.state)),
        tools: Math.max(...sessions.map((g) => g.catalog.tools.length)),
        health: healthiest(sessions.flatMap((g) => g.backends.map((b) => b.health))),
        connections: sumConnections(sessions.flatMap((g) => g.backends.map((b) => b.connections))),
      };
    });
    const mismatches = toolMismatches(backends);
    for (const b of backends) if (mismatches.has(b.id)) b.mismatch = mismatches.get(b.id);
    return { name: plan.name, mode: plan.config.mode, state: bestState(backends.map((b) => b.state)), backends };
  }

  /** The live groups of a server: the shared one, or those its owners hold. */
  private liveGroups(plan: ServerPlan): ServerGroup[] {
    return plan.shared ? [this.shared.get(plan.name)!] : [...this.owners.values()].flatMap((o) => o.groups.get(plan.name) ?? []);
  }

  /** Registers an owner and opens its groups of the servers of its mode. */
  private open(key: string, mode: Owner['mode'], init: () => InitializeParams, subject?: Subject): Owner {
    const entry: Owner = { mode, init, subject, groups: new Map(), release: this.takeOwnerSlots(mode), opened: Promise.resolve(), holders: 0 };
    this.owners.set(key, entry);
    entry.opened = this.deps.waitAtMost(Promise.all(this.plans.filter((p) => p.config.mode === mode).map((p) => this.bind(key, entry, p))));
    return entry;
  }

  private async close(key: string): Promise<void> {
    const entry = this.owners.get(key);
    if (!entry) return;
    this.owners.delete(key);
    clearTimeout(entry.idle);
    entry.release();
    await Promise.all([...entry.groups.values()].map((g) => g.stop()));
  }

  private ownsGroups(key: string): boolean {
    return (this.owners.get(key)?.groups.size ?? 0) > 0;
  }

  /** The owned groups `reach` has: its session's, then its tenant's. */
  private ownedBy(reach: Reach | undefined): Map<string, ServerGroup>[] {
    const out: Map<string, ServerGroup>[] = [];
    const session = reach?.session === undefined ? undefined : this.owners.get(reach.session)?.groups;
    const tenant = reach?.tenant === undefined ? undefined : this.owners.get(TENANT + reach.tenant)?.groups;
    if (session && session.size > 0) out.push(session);
    if (tenant && tenant.size > 0) out.push(tenant);
    return out;
  }

  private addPlan(config: ServerConfig): ServerPlan {
    const plan = new ServerPlan(config);
    this.plans.push(plan);
    if (plan.shared) this.shared.set(plan.name, this.group(plan, plan.specs, this.deps.sharedInit, this.deps.listener));
    return plan;
  }

  private group(
    plan: ServerPlan,
    specs: readonly BackendSpec[],
    initParams: () => InitializeParams,
    listener: GroupListener,
    binding?: GroupBinding,
    log?: Logger,
    subject?: Subject,
  ): ServerGroup {
    const about = binding?.owner !== undefined ? { session: binding.owner } : binding?.tenant !== undefined ? { tenant: binding.tenant } : {};
    return new ServerGroup(
      plan,
      specs,
      { transports: this.deps.transports, initParams, listener, log: log ?? this.deps.log.child({ server: plan.name, ...about }), subject },
      binding,
    );
  }

  /** One slot under the cap of every server of the mode, all or none: an owner a full server cannot take is refused whole. */
  private takeOwnerSlots(mode: Owner['mode']): () => void {
    const releases: (() => void)[] = [];
    try {
      for (const plan of this.plans) if (plan.config.mode === mode) releases.push(this.ownerCap.take(plan.name));
    } catch (err) {
      for (const r of releases) r();
      throw err;
    }
    return () => releases.forEach((r) => r());
  }

  /**
   * Binds an owner to one backend of `plan`, picked by weight (never `avoid`, the one its last
   * binding died on); or, when `before` (its group of the server before a reload changed it) is
   * bound to a backend the plan kept as it was, to that one, taken over live. `shown`: what the
   * owner's session was shown of the server before (a failover), which the new binding continues.
   */
  private async bind(key: string, entry: Owner, plan: ServerPlan, avoid?: string, before?: ServerGroup, shown?: Catalog): Promise<void> {
    if (this.owners.get(key) !== entry) return; // the session ended meanwhile
    const binding = entry.mode === 'per-principal' ? { tenant: key.slice(TENANT.length) } : { owner: key };
    const base = this.deps.listener;
    const listener: GroupListener = {
      listsChanged: (g, kinds) => base.listsChanged(g, kinds),
      notification: (g, n, conn, context) => base.notification(g, n, conn, context),
      request: (g, r, conn, context) => base.request(g, r, conn, context),
      backendUp: (g, conn) => base.backendUp(g, conn),
      backendDown: (g) => {
        base.backendDown?.(g);
        this.failoverLater(key, entry, plan, g);
      },
    };
    const carried = before?.backends.some((b) => plan.holds(b.spec)) ?? false;
    const group = this.group(plan, carried ? [] : [plan.pickForSession(avoid)], entry.init, listener, binding, undefined, entry.subject);
    if (canFailOver(plan, group.boundTo)) group.continueFrom(shown ?? EMPTY_CATALOG);
    if (carried) group.takeOver(before!);
    entry.groups.set(plan.name, group);
    if (!carried) await group.start();
  }

  /**
   * A bound group's one backend lost its connection. If it is not back within the server's
   * `sessionFailoverMs`, the owner moves to another backend: a new upstream session, initialized
   * with the owner's own capabilities (the client's session with the gateway stays). Meanwhile the
   * session is shown what its backend offered, and after the move it hears list_changed only for
   * the lists the new backend offers differently (ServerGroup.continueFrom).
   */
  private failoverLater(key: string, entry: Owner, plan: ServerPlan, group: ServerGroup): void {
    const afterMs = plan.config.sessionFailoverMs;
    if (!canFailOver(plan, group.boundTo)) return;
    const timer = setTimeout(() => {
      this.failovers.delete(timer);
      void this.failover(key, entry, plan, group).catch((err: Error) =>
        this.deps.log.warn({ server: plan.name, err: err.message }, 'session failover failed; the session stays on its backend'),
      );
    }, afterMs);
    this.failovers.add(timer);
  }

  private async failover(key: string, entry: Owner, plan: ServerPlan, group: ServerGroup): Promise<void> {
    const still = this.owners.get(key) === entry && entry.groups.get(plan.name) === group && this.plans.includes(plan);
    if (!still || group.state === 'ready') return;
    this.deps.log.warn(
      { server: plan.name, from: group.boundTo, afterMs: plan.config.sessionFailoverMs },
      'backend stayed down: its session moves to another backend',
    );
    await this.move(key, entry, plan, group);
  }

  /**
   * An owner's binding leaves its backend (down for good, or removed) for another: the old group
   * stops without a word, and the new one shows its catalog against what the session was shown,
   * so that only lists that differ are heard as changed; when no new binding can be made, the
   * session hears that the old one's lists are gone.
   */
  private async move(key: string, entry: Owner, plan: ServerPlan, from: ServerGroup): Promise<void> {
    entry.groups.delete(plan.name);
    await from.stop();
    try {
      await this.bind(key, entry, plan, from.boundTo, undefined, from.catalog);
    } catch (err) {
      this.deps.listener.listsChanged(from, from.offeredLists());
      throw err;
    }
  }

  /**
   * A per-session backend has no upstream until a session binds to it: a probe connects once
   * (initialize and catalog, within the startup wait) and stops, so whoever registered it learns
   * whether it can start.
   */
  private async probe(plan: ServerPlan, id: string): Promise<void> {
    const spec = plan.get(id);
    const probe = this.group(plan, [spec], this.deps.sharedInit, PROBE_LISTENER, undefined, this.deps.log.child({ server: plan.name, probe: true }));
    try {
      await this.deps.waitAtMost(probe.start());
      plan.probes.set(id, { state: probe.state, toolNames: probe.catalog.tools.map((t) => String(t.name)) });
    } finally {
      await probe.stop();
    }
  }

  /** A group that left the registry: drained (drains.ts), or without a drain timeout stopped at once. */
  private retire(group: ServerGroup, drainTimeoutMs: number): Promise<void> {
    return drainTimeoutMs > 0 ? this.drains.drain(group, drainTimeoutMs) : this.unlink(group);
  }

  /** Stops a live group and tells its clients that what it offered is gone. */
  private async unlink(group: ServerGroup): Promise<void> {
    const offered = group.offeredLists();
    await group.stop();
    this.deps.listener.listsChanged(group, offered);
  }
}

/** A session bound to `boundTo` can move to another backend of the plan when its own stays down. */
function canFailOver(plan: ServerPlan, boundTo: string | undefined): boolean {
  return plan.config.sessionFailoverMs > 0 && plan.specs.some((s) => s.id !== boundTo && s.weight > 0);
}

/** The report of the healthiest upstream: healthy before degraded before down. */
function healthiest(reports: HealthReport[]): HealthReport | undefined {
  return [...reports].sort((a, b) => HEALTH_STATES.indexOf(a.state) - HEALTH_STATES.indexOf(b.state))[0];
}

/**
 * Whom a tenant's upstreams act for: its principal, with the access token of its most recent
 * session or request that still holds it (each keeps its latest), else the last one seen.
 */
class TenantSubject implements Subject {
  private readonly holders: Subject[] = [];
  private last: SubjectToken | undefined;

  constructor(readonly principal: string) {}

  hold(holder: Subject): () => void {
    this.holders.push(holder);
    return () => {
      this.last = holder.token() ?? this.last;
      this.holders.splice(this.holders.indexOf(holder), 1);
    };
  }

  token(): SubjectToken | undefined {
    for (let i = this.holders.length - 1; i >= 0; i--) {
      const token = this.holders[i].token();
      if (token) return token;
    }
    return this.last;
  }
}

/** Where a backend runs, as operators know it; a URL loses what may hold a secret (user info, query, fragment). */
function targetOf(config: ServerConfig): string {
  if (config.kind === 'stdio') return config.command;
  if (config.kind === 'docker') return config.docker.image;
  const url = new URL(config.url);
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function sumConnections(all: readonly { connected: number; lost: number; failed: number }[]): { connected: number; lost: number; failed: number } {
  const sum = { connected: 0, lost: 0, failed: 0 };
  for (const c of all) {
    sum.connected += c.connected;
    sum.lost += c.lost;
    sum.failed += c.failed;
  }
  return sum;
}
