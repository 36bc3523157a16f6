/**
 * Docker-label discovery: containers labelled as MCP servers on the watched networks join the
 * registry when they are ready (running, and healthy when the image has a health check) and leave
 * it when they stop, die, turn unhealthy or are removed. A container whose server name is new makes
 * a server (its first replica the `primary` backend); one whose server exists, from the config or
 * found earlier, becomes one more backend of it, under the container's name. A server that discovery
 * made is removed with its last container; a configured one keeps its own backends.
 *
 * It subscribes to Docker's events before it lists what runs (nothing starts unseen between the
 * two), and after the event stream breaks (the engine restarted) it subscribes again and re-lists.
 * Registry changes run one at a time, in event order, so a container that stops while it is being
 * registered is then removed. A config reload that removes or re-makes a server drops the
 * backends discovery gave it; the gateway then calls resync(), and the containers still running
 * join again, as if they had just started. What the labels say goes through the config's own
 * server schema and the admin API's registration allowlist: a refused container is logged and
 * listed with its reason.
 */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { DockerDiscoverySettings } from '../config/discovery-schema';
import type { ServerConfig } from '../config/schema';
import { toFleetError } from '../protocol/errors';
import type { ServerRegistry } from '../servers/registry';
import { runtimeBackend } from '../servers/runtime-backends';
import { serverFromLabels } from './labels';

/** What discovery knows of one container, for the admin API. */
export interface DiscoveredContainer {
  id: string;
  name: string;
  server?: string;
  backend?: string;
  url?: string;
  state: 'registered' | 'waiting-healthy' | 'refused';
  reason?: string;
}

export interface DiscoveryDeps {
  docker: Docker;
  registry: ServerRegistry;
  /**
   * The admin API's registration allowlist of URLs: throws FORBIDDEN naming what it does not allow.
   * Labels name no host path; the paths of a discovered server (tls files) come from the
   * operator's `defaults`, so they are not held to `admin.register.paths`.
   */
  allowlist: { checkTarget(config: ServerConfig): void };
  log: Logger;
}

type EventStream = NodeJS.ReadableStream & { destroy(): void };

interface Joined {
  server: string;
  backend: string;
  url: string;
  /** The server was made for this container's replica set (no server of its name existed). */
  madeServer: boolean;
}

/** Docker's event stream is trusted (the local engine), but one event is small: a line this long is not one. */
const MAX_EVENT_BYTES = 1 << 20;
const RECONNECT_MS = { first: 500, max: 30_000 };
const LEAVE = new Set(['die', 'stop', 'kill', 'pause', 'destroy', 'health_status: unhealthy']);
const JOIN = new Set(['start', 'unpause', 'health_status: healthy']);

export class DockerDiscovery {
  private readonly joined = new Map<string, Joined>();
  private readonly seen = new Map<string, DiscoveredContainer>();
  private queue: Promise<void> = Promise.resolve();
  private events: EventStream | undefined;
  private reconnect: NodeJS.Timeout | undefined;
  private reconnectMs = RECONNECT_MS.first;
  private stopped = false;

  constructor(
    private readonly settings: DockerDiscoverySettings,
    private readonly deps: DiscoveryDeps,
  ) {}

  /** Subscribes and registers what already runs; resolves once that first pass is done. */
  async start(): Promise<void> {
    await this.watch();
  }

  /** What it found, one entry per labelled container it looked at. */
  containers(): DiscoveredContainer[] {
    return [...this.seen.values()];
  }

  /**
   * Catches up with registry changes made elsewhere (a config reload removed or re-made a server):
   * a container whose backend the registry no longer has is no longer taken as joined, and joins
   * again, after the changes already queued, when it still runs and is ready.
   */
  resync(): Promise<void> {
    return this.enqueue(async () => {
      for (const [id, joined] of this.joined) {
        if (this.inRegistry(joined)) continue;
        this.joined.delete(id);
        this.seen.delete(id);
      }
      await this.relist();
    });
  }

  /** Stops watching; the registry (stopped by the gateway) stops the upstreams. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnect);
    this.events?.destroy();
    await this.queue;
  }

  private get label(): string {
    return `${this.settings.labelPrefix}.server`;
  }

  private async watch(): Promise<void> {
    try {
      // dockerode types the stream as a plain ReadableStream; it is an http.IncomingMessage
      const stream = (await this.deps.docker.getEvents({ filters: { type: ['container'], label: [this.label] } })) as EventStream;
      if (this.stopped) return void stream.destroy();
      this.events = stream;
      this.readEvents(stream);
      await this.enqueue(() => this.relist());
      this.reconnectMs = RECONNECT_MS.first;
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'discovery: cannot reach the Docker engine; retrying');
      this.retry();
    }
  }

  private retry(): void {
    if (this.stopped || this.reconnect) return;
    this.reconnect = setTimeout(() => {
      this.reconnect = undefined;
      void this.watch();
    }, this.reconnectMs);
    this.reconnectMs = Math.min(this.reconnectMs * 2, RECONNECT_MS.max);
  }

  private readEvents(stream: EventStream): void {
    let buffered = '';
    stream.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        this.onEvent(line);
      }
      if (buffered.length > MAX_EVENT_BYTES) buffered = '';
    });
    const broken = () => {
      if (this.events !== stream || this.stopped) return;
      this.events = undefined;
      this.deps.log.warn('discovery: the Docker event stream ended; subscribing again');
      this.retry();
    };
    stream.on('end', broken);
    stream.on('error', broken);
  }

  private onEvent(line: string): void {
    let event: { id?: string; Action?: string };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      return;
    }
    const { id, Action: action } = event;
    if (typeof id !== 'string' || typeof action !== 'string') return;
    if (JOIN.has(action)) void this.enqueue(() => this.consider(id));
    else if (LEAVE.has(action)) void this.enqueue(() => this.leave(id, action));
  }

  /** Runs registry changes one at a time; a failed one is logged and does not stop the next. */
  private enqueue(step: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(step).catch((err: unknown) => this.deps.log.warn({ err: (err as Error).message }, 'discovery: step failed'));
    return this.queue;
  }

  /** Registers what runs now and lets go of what no longer does (events missed while disconnected). */
  private async relist(): Promise<void> {
    const running = await this.deps.docker.listContainers({ filters: { label: [this.label], status: ['running'] } });
    const ids = new Set(running.map((c) => c.Id));
    for (const id of [...this.joined.keys()]) if (!ids.has(id)) await this.leave(id, 'gone');
    for (const id of ids) await this.consider(id);
  }

  /**
   * Whether the registry still has the backend the container joined as, at the container's URL: a
   * server re-made from the config file has a `primary` of its own, which is not the container's.
   */
  private inRegistry({ server, backend, url }: Joined): boolean {
    const config = this.deps.registry.find(server)?.spec(backend)?.config;
    return config?.kind === 'remote' && config.url === url;
  }

  private async consider(id: string): Promise<void> {
    if (this.stopped) return;
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.deps.docker.getContainer(id).inspect();
    } catch {
      return this.leave(id, 'gone');
    }
    const name = info.Name.replace(/^\//, '');
    const entry: DiscoveredContainer = { id: id.slice(0, 12), name, state: 'waiting-healthy' };
    if (!info.State.Running || info.State.Paused) return this.leave(id, 'not running');
    if (info.State.Health && info.State.Health.Status !== 'healthy') return void this.seen.set(id, entry);
    const networks = info.NetworkSettings.Networks ?? {};
    const network = this.settings.networks.find((n) => networks[n] !== undefined);
    if (network === undefined) return this.refuse(id, entry, `on none of the watched networks (${this.settings.networks.join(', ')})`);
    const host = this.settings.address === 'ip' ? networks[network].IPAddress : name;
    if (!host) return this.refuse(id, entry, `has no address on network ${network}`);
    const found = serverFromLabels(info.Config.Labels ?? {}, host, this.settings);
    if ('problems' in found) return this.refuse(id, entry, found.problems.join('; '));
    const url = found.config.kind === 'remote' ? found.config.url : '';
    if (this.joined.get(id)?.url === url) return;
    if (this.joined.has(id)) await this.leave(id, 'address changed');
    try {
      this.deps.allowlist.checkTarget(found.config);
    } catch (err) {
      return this.refuse(id, entry, toFleetError(err).message);
    }
    const existing = this.deps.registry.find(found.server);
    const madeServer = existing === undefined;
    const backend = madeServer ? 'primary' : backendId(name);
    // recorded before the registry call: the backend is visible in the registry while that call
    // still connects, and the admin API must not call it waiting then
    this.joined.set(id, { server: found.server, backend, url, madeServer });
    this.seen.set(id, { ...entry, server: found.server, backend, url, state: 'registered' });
    try {
      if (madeServer) await this.deps.registry.addServer(found.config);
      else {
        const origin = { by: 'discovery', container: name } as const;
        const spec = runtimeBackend({ id: backend, weight: found.weight, transport: found.transport, origin }, existing.config);
        await this.deps.registry.addBackend(found.server, spec);
      }
      this.deps.log.info({ container: name, server: found.server, backend, url }, 'discovery: container joined');
    } catch (err) {
      this.joined.delete(id);
      this.refuse(id, entry, toFleetError(err).message);
    }
  }

  private refuse(id: string, entry: DiscoveredContainer, reason: string): void {
    if (this.seen.get(id)?.reason !== reason) this.deps.log.warn({ container: entry.name, reason }, 'discovery: container not registered');
    this.seen.set(id, { ...entry, state: 'refused', reason });
  }

  private async leave(id: string, why: string): Promise<void> {
    const entry = this.seen.get(id);
    this.seen.delete(id);
    const joined = this.joined.get(id);
    if (!joined) return;
    this.joined.delete(id);
    const { server, backend } = joined;
    const plan = this.deps.registry.find(server);
    if (!plan?.spec(backend)) return;
    const lastOfItsSet = joined.madeServer && plan.specs.length === 1;
    if (lastOfItsSet) await this.deps.registry.removeServer(server);
    else await this.removeBackend(joined);
    this.deps.log.info({ container: entry?.name, server, backend, why }, 'discovery: container left');
  }

  /** The made server's `primary` replica may leave first: another joined replica then carries the server. */
  private async removeBackend({ server, backend }: Joined): Promise<void> {
    await this.deps.registry.removeBackend(server, backend);
    const rest = [...this.joined.values()].filter((j) => j.server === server);
    if (backend === 'primary' && rest.length > 0) for (const j of rest) j.madeServer = true;
  }
}

/** A backend id from a container name (Docker allows [a-zA-Z0-9][a-zA-Z0-9_.-]+, the admin API 1-64 of those). */
function backendId(containerName: string): string {
  return containerName.slice(0, 64);
}
