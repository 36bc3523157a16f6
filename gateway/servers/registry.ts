/**
 * The servers the gateway serves, in order: those of the config file, then those registered at
 * runtime. Each has a plan (what should exist); the registry owns every live group made from the
 * plans: one per shared server, and for each client session (an "owner") one per per-session
 * server, bound to a backend picked by weight. Registering and removing servers and backends and
 * changing weights happen here, and the live groups follow.
 */
import type { Logger } from 'pino';
import { checkPrefixes } from '../config/prefixes';
import { transportKind, type ServerConfig, type TransportKind } from '../config/schema';
import { FleetError } from '../protocol/errors';
import { KeyedCap } from '../protocol/keyed-cap';
import type { InitializeParams } from '../upstream/connection';
import type { Subject } from '../upstream/token-exchange';
import type { UpstreamTransports } from '../upstream/transports';
import { ServerGroup, type GroupListener } from './group';
import { LIST_KINDS } from './lists';
import { PRIMARY_BACKEND, ServerPlan, type BackendSpec } from './plan';
import { bestState, type BackendState } from './state';

/** A server as the admin API and the metrics report it. */
export interface ServerStatus {
  name: string;
  mode: 'shared' | 'per-session';
  state: BackendState;
  backends: { id: string; weight: number; state: BackendState; transport: TransportKind; tools: number }[];
}

export interface RegistryDeps {
  transports: UpstreamTransports;
  listener: GroupListener;
  /** What shared upstreams are told at initialize (the gateway's own client info and capabilities). */
  sharedInit: () => InitializeParams;
  /** How long a change waits for new upstreams' first connection attempt. */
  waitAtMost(p: Promise<unknown>): Promise<void>;
  log: Logger;
}

interface Owner {
  init: () => InitializeParams;
  /** Whom its upstreams act for (token exchange). */
  subject?: Subject;
  groups: Map<string, ServerGroup>;
  /** Gives back the owner's slots under the per-session servers' caps. */
  release: () => void;
}

/** A probe has no client: what its upstream says goes nowhere. */
const PROBE_LISTENER: GroupListener = {
  listsChanged: () => {},
  notification: () => {},
  request: async () => ({ error: { code: -32601, message: 'the gateway is only probing this server; no client is attached' } }),
  backendUp: () => {},
};

export class ServerRegistry {
  private readonly plans: ServerPlan[] = [];
  private readonly shared = new Map<string, ServerGroup>();
  private readonly owners = new Map<string, Owner>();
  /** Sessions per per-session server (each runs an upstream of its own): at most its limits.maxSessions. */
  private readonly ownerCap = new KeyedCap(
    (name) => this.find(name)?.config.limits.maxSessions ?? Infinity,
    (name) => `sessions on per-session server "${name}" (each runs its own upstream)`,
    (name) => `servers.${name}.limits.maxSessions`,
  );

  constructor(
    configs: readonly ServerConfig[],
    private readonly deps: RegistryDeps,
  ) {
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

  /** What one client session reaches, in order: the shared groups and its own (none without an owner). */
  groupsFor(owner: string | undefined): ServerGroup[] {
    const own = owner === undefined ? undefined : this.owners.get(owner)?.groups;
    if (!own || own.size === 0) return this.sharedGroups();
    return this.plans.flatMap((p) => this.shared.get(p.name) ?? own.get(p.name) ?? []);
  }

  /** The live group of `name` that serves `owner` (a shared server's, or the owner's own). */
  groupFor(owner: string | undefined, name: string): ServerGroup | undefined {
    return this.shared.get(name) ?? (owner === undefined ? undefined : this.owners.get(owner)?.groups.get(name));
  }

  /** The client sessions bound to a per-session server. */
  ownersOf(name: string): string[] {
    return [...this.owners].flatMap(([owner, entry]) => (entry.groups.has(name) ? [owner] : []));
  }

  /** Whether `owner` has per-session servers of its own (and so a catalog view of its own). */
  owns(owner: string): boolean {
    return (this.owners.get(owner)?.groups.size ?? 0) > 0;
  }

  /** Opens the configured servers' container pools and connects the shared servers; resolves after every first attempt. */
  start(): Promise<void> {
    for (const plan of this.plans) for (const spec of plan.specs) this.deps.transports.openPool(spec.config, spec.id);
    return Promise.all(this.sharedGroups().map((g) => g.start())).then(() => {});
  }

  async stop(): Promise<void> {
    const owners = [...this.owners.keys()];
    await Promise.all([...this.shared.values()].map((g) => g.stop()).concat(owners.map((o) => this.closeOwner(o))));
  }

  /** Opens a client session's own upstreams (per-session servers), acting for `subject`; resolves after their first attempts. */
  async openOwner(owner: string, init: () => InitializeParams, subject?: Subject): Promise<void> {
    if (this.owners.has(owner)) return;
    const entry: Owner = { init, subject, groups: new Map(), release: this.takeOwnerSlots() };
    this.owners.set(owner, entry);
    await this.deps.waitAtMost(Promise.all(this.plans.filter((p) => !p.shared).map((p) => this.bind(owner, entry, p))));
  }

  /** Stops a client session's own upstreams. */
  async closeOwner(owner: string): Promise<void> {
    const entry = this.owners.get(owner);
    if (!entry) return;
    this.owners.delete(owner);
    entry.release();
    await Promise.all([...entry.groups.values()].map((g) => g.stop()));
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
      this.deps.waitAtMost(Promise.all([...this.owners].map(([owner, entry]) => this.bind(owner, entry, plan)))),
    ]);
  }

  /** Stops the server's upstreams; calls in flight on them fail naming it, clients hear list_changed. */
  async removeServer(name: string): Promise<void> {
    const plan = this.get(name);
    this.plans.splice(this.plans.indexOf(plan), 1);
    const live = plan.shared ? [this.shared.get(name)!] : [...this.owners.values()].flatMap((o) => o.groups.get(name) ?? []);
    this.shared.delete(name);
    for (const o of this.owners.values()) o.groups.delete(name);
    await Promise.all(live.map((g) => this.unlink(g)));
    await Promise.all(plan.specs.map((s) => this.deps.transports.closePool(name, s.id)));
    this.deps.log.info({ server: name }, 'server removed');
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
    for (const [owner, entry] of this.owners) {
      const bound = entry.groups.get(name);
      if (bound?.boundTo !== id) continue;
      entry.groups.delete(name);
      await this.unlink(bound);
      await this.bind(owner, entry, plan);
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
    const backends = plan.specs.map((spec) => {
      const summary = { id: spec.id, weight: spec.weight, transport: transportKind(spec.config) };
      const live = group?.backend(spec.id);
      if (live) return { ...summary, state: live.state, tools: live.catalog.tools.length };
      const sessions = bound.filter((g) => g.boundTo === spec.id);
      if (sessions.length === 0)
        return { ...summary, state: plan.probes.get(spec.id)?.state ?? 'ready', tools: plan.probes.get(spec.id)?.toolNames.length ?? 0 };
      return { ...summary, state: bestState(sessions.map((g) => g.state)), tools: Math.max(...sessions.map((g) => g.catalog.tools.length)) };
    });
    return { name: plan.name, mode: plan.config.mode, state: bestState(backends.map((b) => b.state)), backends };
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
    owner?: string,
    log?: Logger,
    subject?: Subject,
  ): ServerGroup {
    return new ServerGroup(
      plan,
      specs,
      {
        transports: this.deps.transports,
        initParams,
        listener,
        log: log ?? this.deps.log.child({ server: plan.name, ...(owner ? { session: owner } : {}) }),
        subject,
      },
      owner,
    );
  }

  /** One slot under every per-session server's cap, all or none: a session a full server cannot take is refused whole. */
  private takeOwnerSlots(): () => void {
    const releases: (() => void)[] = [];
    try {
      for (const plan of this.plans) if (!plan.shared) releases.push(this.ownerCap.take(plan.name));
    } catch (err) {
      for (const r of releases) r();
      throw err;
    }
    return () => releases.forEach((r) => r());
  }

  /** Opens an owner's group of one per-session server, bound to a backend picked by weight. */
  private async bind(owner: string, entry: Owner, plan: ServerPlan): Promise<void> {
    if (this.owners.get(owner) !== entry) return; // the session ended meanwhile
    const group = this.group(plan, [plan.pickForSession()], entry.init, this.deps.listener, owner, undefined, entry.subject);
    entry.groups.set(plan.name, group);
    await group.start();
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

  /** Stops a live group and tells its clients that what it offered is gone. */
  private async unlink(group: ServerGroup): Promise<void> {
    const offered = LIST_KINDS.filter((k) => group.catalog[k].length > 0);
    await group.stop();
    this.deps.listener.listsChanged(group, offered);
  }
}
