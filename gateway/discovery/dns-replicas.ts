/**
 * DNS replica sets: a remote server with `dns` is served by one backend per address its URL's host
 * name resolves to (Docker's embedded DNS answers a scaled service's name with one address per
 * replica). Each backend, `dns-<address>`, connects to its address under the name. The name is
 * resolved again every `dns.intervalMs`, and at once when one of its backends is down: replicas
 * that appeared join, the ones that are gone leave, without a restart.
 *
 * The configured `primary` backend (the name resolved by the system, whichever replica that gives)
 * keeps running at weight 0 while the set has members: the fallback when none of them is ready,
 * and the server's weight again if the name stops resolving.
 */
import { lookup } from 'node:dns/promises';
import type { Logger } from 'pino';
import type { RemoteServerConfig } from '../config/schema';
import { toFleetError } from '../protocol/errors';
import { PRIMARY_BACKEND, type ServerPlan } from '../servers/plan';
import type { ServerRegistry } from '../servers/registry';

type Resolve = (hostname: string) => Promise<string[]>;

interface ReplicaSet {
  /** The server's plan: a server replaced by a reload (or removed and added again) is a new plan, and a new set. */
  plan: ServerPlan;
  config: RemoteServerConfig & { dns: { intervalMs: number } };
  hostname: string;
  /** Address → backend id. */
  members: Map<string, string>;
  primaryWeight: number;
  nextAt: number;
}

/** How often the sets are looked at: for servers with `dns` that came or went, and for a down member (a full re-resolve waits for its interval). */
const TICK_MS = 1_000;

export class DnsReplicas {
  private readonly sets = new Map<ServerPlan, ReplicaSet>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly deps: { registry: ServerRegistry; log: Logger; resolve?: Resolve }) {}

  /** Resolves every set once (its replicas join before clients come), then keeps them current. */
  async start(): Promise<void> {
    await this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private tick(): Promise<void> {
    this.running = (async () => {
      this.follow();
      for (const set of this.sets.values()) if (this.due(set)) await this.refresh(set);
    })();
    return this.running.finally(() => {
      if (!this.stopped) this.timer = setTimeout(() => void this.tick(), TICK_MS);
    });
  }

  /** The sets follow the registry: servers with `dns` from the config, a reload or the admin API. */
  private follow(): void {
    const plans = new Set(this.deps.registry.servers);
    for (const plan of this.sets.keys()) if (!plans.has(plan)) this.sets.delete(plan);
    for (const plan of plans) {
      const config = plan.config;
      if (this.sets.has(plan) || config.kind !== 'remote' || config.dns === undefined) continue;
      const withDns = config as ReplicaSet['config'];
      this.sets.set(plan, { plan, config: withDns, hostname: new URL(config.url).hostname, members: new Map(), primaryWeight: 100, nextAt: 0 });
    }
  }

  private due(set: ReplicaSet): boolean {
    if (Date.now() >= set.nextAt) return true;
    const plan = set.plan;
    const down = this.deps.registry.status(plan).backends.filter((b) => b.state === 'down' && [...set.members.values()].includes(b.id));
    return down.length > 0;
  }

  private async refresh(set: ReplicaSet): Promise<void> {
    set.nextAt = Date.now() + set.config.dns.intervalMs;
    const { registry, log } = this.deps;
    const plan = set.plan;
    if (registry.find(plan.name) !== plan) return;
    let addresses: string[];
    try {
      addresses = [...new Set(await (this.deps.resolve ?? resolveAll)(set.hostname))].sort();
    } catch (err) {
      // a name that no longer resolves keeps the members it had: their own health decides
      log.warn({ server: set.config.name, host: set.hostname, err: (err as Error).message }, 'dns replicas: cannot resolve; keeping the current replicas');
      return;
    }
    const joining = addresses.filter((a) => !set.members.has(a));
    const leaving = [...set.members.keys()].filter((a) => !addresses.includes(a));
    try {
      for (const address of joining) {
        const id = backendId(address);
        await registry.addBackend(set.config.name, { id, weight: 100, config: { ...set.config, address } });
        set.members.set(address, id);
      }
      if (set.members.size > 0 && plan.spec(PRIMARY_BACKEND)!.weight > 0) {
        set.primaryWeight = plan.spec(PRIMARY_BACKEND)!.weight;
        registry.setWeights(set.config.name, { [PRIMARY_BACKEND]: 0 });
      }
      if (leaving.length === set.members.size && leaving.length > 0) registry.setWeights(set.config.name, { [PRIMARY_BACKEND]: set.primaryWeight });
      for (const address of leaving) {
        await registry.removeBackend(set.config.name, set.members.get(address)!);
        set.members.delete(address);
      }
    } catch (err) {
      log.warn({ server: set.config.name, err: toFleetError(err).message }, 'dns replicas: could not apply the change');
    }
    if (joining.length > 0 || leaving.length > 0)
      log.info({ server: set.config.name, host: set.hostname, joined: joining, left: leaving }, 'dns replicas changed');
  }
}

async function resolveAll(hostname: string): Promise<string[]> {
  return (await lookup(hostname, { all: true })).map((a) => a.address);
}

function backendId(address: string): string {
  return `dns-${address.replace(/:/g, '_')}`;
}
