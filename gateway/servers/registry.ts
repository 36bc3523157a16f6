/**
 * The servers the gateway serves, in order: those of the config file, then those registered at
 * runtime. A shared server is one live link for every client; a per-session server is a plan (its
 * backends and weights, never started) from which each client session gets links of its own.
 * Registering and removing servers and backends, and changing weights, happen here.
 */
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/schema';
import { checkPrefixes } from '../config/prefixes';
import { LIST_KINDS } from './lists';
import { FleetError } from '../protocol/errors';
import type { InitializeParams } from '../upstream/connection';
import type { TransportFactory } from '../upstream/transports';
import type { ClientSession } from '../session/client-session';
import { PRIMARY_BACKEND, bestState, type BackendSpec, type BackendState, type TransportKind } from './backend';
import { ServerLink, type LinkListener } from './group';

/** A server as the admin API and the metrics report it. */
export interface ServerSummary {
  name: string;
  mode: 'shared' | 'per-session';
  state: BackendState;
  backends: { id: string; weight: number; state: BackendState; transport: TransportKind; tools: number }[];
}

export interface RegistryHooks {
  listener: LinkListener;
  sharedInit(): InitializeParams;
  sessionInit(session: ClientSession): InitializeParams;
  /** Initialized client sessions, which per-session servers open links for. */
  sessions(): ClientSession[];
  /** How long an admin change waits for new upstreams' first connection attempt. */
  waitAtMost(p: Promise<unknown>): Promise<void>;
}

/** A probe has no client: what its upstream says goes nowhere. */
const PROBE_LISTENER: LinkListener = {
  listsChanged: () => {},
  notification: () => {},
  request: async () => ({ error: { code: -32601, message: 'the gateway is only probing this server; no client is attached' } }),
};

export class ServerRegistry {
  readonly servers: ServerLink[] = [];

  constructor(
    configs: ServerConfig[],
    private readonly transports: TransportFactory,
    private readonly hooks: RegistryHooks,
    private readonly log: Logger,
  ) {
    for (const c of configs) this.servers.push(this.link(c));
  }

  get shared(): ServerLink[] {
    return this.servers.filter((s) => s.server.mode === 'shared');
  }

  find(name: string): ServerLink | undefined {
    return this.servers.find((s) => s.name === name);
  }

  /** The named server, or a NOT_FOUND error naming it. */
  get(name: string): ServerLink {
    const link = this.find(name);
    if (!link) throw new FleetError('NOT_FOUND', `no server named "${name}"; GET /admin/servers lists them`);
    return link;
  }

  /** Links of this session's own for every per-session server, each bound to a backend picked by weight. */
  ownLinks(session: ClientSession): ServerLink[] {
    return this.servers.filter((s) => s.server.mode === 'per-session').map((plan) => this.ownLink(session, plan));
  }

  /** Every session's own links of one per-session server. */
  boundLinks(name: string): ServerLink[] {
    return this.hooks.sessions().flatMap((s) => s.ownLinks.filter((l) => l.name === name));
  }

  /**
   * A shared server's backends as they are. A per-session server's backends run once per session:
   * each reports the best state among the sessions' upstreams on it; while no session uses it,
   * what the probe found when it was registered at runtime, else `ready` (from the config file).
   */
  describe(link: ServerLink): ServerSummary {
    const backends = link.backends.map((b) => {
      const summary = { id: b.id, weight: b.weight, transport: b.transport };
      if (link.server.mode === 'shared') return { ...summary, state: b.state, tools: b.catalog.tools.length };
      const bound = this.boundLinks(link.name).filter((l) => l.backends[0].id === b.id);
      if (bound.length === 0) return { ...summary, state: b.probed?.state ?? 'ready', tools: b.probed?.tools ?? 0 };
      return { ...summary, state: bestState(bound.map((l) => l.state)), tools: Math.max(...bound.map((l) => l.catalog.tools.length)) };
    });
    return { name: link.name, mode: link.server.mode, state: bestState(backends.map((b) => b.state)), backends };
  }

  async addServer(config: ServerConfig): Promise<ServerLink> {
    if (this.find(config.name)) throw new FleetError('CONFLICT', `server "${config.name}" already exists; DELETE /admin/servers/${config.name} first or pick another name`);
    const problems = checkPrefixes([...this.servers.map((s) => s.server), config]);
    if (problems.length > 0) throw new FleetError('INVALID_PARAMS', problems.join('; '));
    const link = this.link(config);
    this.servers.push(link);
    this.transports.openPool(config);
    this.log.info({ server: config.name, mode: config.mode }, 'server registered');
    if (config.mode === 'shared') await this.hooks.waitAtMost(link.start());
    else await Promise.all([this.probe(link, PRIMARY_BACKEND), this.hooks.waitAtMost(Promise.all(this.hooks.sessions().map((s) => this.bind(s, link))))]);
    return link;
  }

  /** Stops the server's upstreams; calls in flight on them fail naming it, clients hear list_changed. */
  async removeServer(name: string): Promise<void> {
    const link = this.get(name);
    this.servers.splice(this.servers.indexOf(link), 1);
    const live = link.server.mode === 'shared' ? [link] : this.boundLinks(name);
    await Promise.all(live.map((l) => this.unlink(l)));
    await Promise.all(link.backends.map((b) => this.transports.closePool(name, b.id)));
    this.log.info({ server: name }, 'server removed');
  }

  async addBackend(name: string, spec: BackendSpec): Promise<ServerLink> {
    const link = this.get(name);
    if (link.backend(spec.id)) throw new FleetError('CONFLICT', `server "${name}" already has a backend "${spec.id}"; pick another id or DELETE it first`);
    this.transports.openPool(spec.config, spec.id);
    const shared = link.server.mode === 'shared';
    this.log.info({ server: name, backend: spec.id, weight: spec.weight }, 'backend added');
    await this.hooks.waitAtMost(link.addBackend(spec, shared));
    if (!shared) await this.probe(link, spec.id);
    return link;
  }

  /** Stops a backend; sessions bound to it (per-session servers) move to a backend picked anew. */
  async removeBackend(name: string, id: string): Promise<void> {
    const link = this.get(name);
    if (!link.backend(id)) throw new FleetError('NOT_FOUND', `server "${name}" has no backend "${id}"; GET /admin/servers lists its backends`);
    if (link.backends.length === 1) throw new FleetError('CONFLICT', `backend "${id}" is the last one of server "${name}"; DELETE /admin/servers/${name} to remove the server`);
    if (link.backends.filter((b) => b.id !== id).every((b) => b.weight === 0)) {
      throw new FleetError('CONFLICT', `removing backend "${id}" would leave server "${name}" with no backend of weight > 0; PUT /admin/servers/${name}/weights first`);
    }
    await link.removeBackend(id);
    for (const session of this.hooks.sessions()) {
      const bound = session.ownLinks.find((l) => l.name === name && l.backends[0].id === id);
      if (bound) await this.unlink(bound).then(() => this.bind(session, link));
    }
    await this.transports.closePool(name, id);
    this.log.info({ server: name, backend: id }, 'backend removed');
  }

  setWeights(name: string, weights: Record<string, number>): Record<string, number> {
    const link = this.get(name);
    const unknown = Object.keys(weights).filter((id) => !link.backend(id));
    if (unknown.length > 0) throw new FleetError('INVALID_PARAMS', `${unknown[0]}: server "${name}" has no backend "${unknown[0]}" (it has ${link.backends.map((b) => b.id).join(', ')})`);
    const after = link.backends.map((b) => weights[b.id] ?? b.weight);
    if (after.every((w) => w === 0)) throw new FleetError('INVALID_PARAMS', `at least one backend of server "${name}" needs a weight > 0`);
    link.setWeights(weights); // sessions bound to a per-session server keep their backend; new ones pick by the new weights
    this.log.info({ server: name, weights }, 'weights changed');
    return Object.fromEntries(link.backends.map((b) => [b.id, b.weight]));
  }

  async stop(): Promise<void> {
    await Promise.all(this.shared.map((l) => l.stop()));
  }

  private link(config: ServerConfig): ServerLink {
    return new ServerLink(config, [{ id: PRIMARY_BACKEND, weight: 100, config }], {
      transports: this.transports,
      initParams: () => this.hooks.sharedInit(),
      listener: this.hooks.listener,
      log: this.log.child({ server: config.name }),
    });
  }

  private ownLink(session: ClientSession, plan: ServerLink): ServerLink {
    const spec = plan.pickForSession();
    return new ServerLink(
      plan.server,
      [spec],
      {
        transports: this.transports,
        initParams: () => this.hooks.sessionInit(session),
        listener: this.hooks.listener,
        log: this.log.child({ server: plan.name, session: session.id }),
      },
      session.id,
    );
  }

  /**
   * A per-session backend has no upstream until a session binds to it: a probe connects once
   * (initialize and catalog, within `startup.waitForServersMs`) and stops, so whoever registered
   * it learns whether it can start.
   */
  private async probe(plan: ServerLink, id: string): Promise<void> {
    const backend = plan.backend(id)!;
    const probe = new ServerLink(plan.server, [{ id, weight: backend.weight, config: backend.config }], {
      transports: this.transports,
      initParams: () => this.hooks.sharedInit(),
      listener: PROBE_LISTENER,
      log: this.log.child({ server: plan.name, probe: true }),
    });
    try {
      await this.hooks.waitAtMost(probe.start());
      backend.probed = { state: probe.state, tools: probe.catalog.tools.length };
    } finally {
      await probe.stop();
    }
  }

  /** Opens a session's own link to a per-session server (registered, or rebound after its backend went). */
  private bind(session: ClientSession, plan: ServerLink): Promise<void> {
    const own = this.ownLink(session, plan);
    session.ownLinks.push(own);
    return own.start();
  }

  /** Stops a live link and tells its clients that what it offered is gone. */
  private async unlink(link: ServerLink): Promise<void> {
    const session = link.ownerSessionId ? this.hooks.sessions().find((s) => s.id === link.ownerSessionId) : undefined;
    if (session) session.ownLinks.splice(session.ownLinks.indexOf(link), 1);
    const offered = LIST_KINDS.filter((k) => link.catalog[k].length > 0);
    await link.stop();
    this.hooks.listener.listsChanged(link, offered);
  }
}
