/**
 * Builds the client-side transport for a configured server: a child process, a remote endpoint,
 * or a container (one per connection for shared servers, from a bounded warm pool for per-session
 * ones). Owns the Docker client and the pools, and removes containers a crashed run left behind.
 */
import Docker from 'dockerode';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Logger } from 'pino';
import type { DockerServerConfig, ServerConfig } from '../config/schema';
import { WebSocketTransport } from '../protocol/ws-transport';
import { ProcessTransport } from './process-transport';
import { StreamableHttpTransport } from './streamable-http-transport';
import { DockerTransport } from './docker-transport';
import { ContainerPool } from './container-pool';
import { LABEL } from './container-spec';
import { PRIMARY_BACKEND } from '../servers/backend';

/** A per-session docker backend's pool, as the admin API and metrics report it. */
export interface PoolEntry {
  server: string;
  backend: string;
  pool: ContainerPool;
}

export class TransportFactory {
  private dockerClient: Docker | undefined;
  /** Keyed by poolKey(server, backend). */
  private readonly pools = new Map<string, PoolEntry>();

  constructor(
    private readonly settings: { instance: string; dockerSocket: string },
    private readonly log: Logger,
  ) {}

  /** Prepares docker servers: removes orphans of this instance, then starts warm pools. */
  async start(servers: ServerConfig[]): Promise<void> {
    const dockerServers = servers.filter((s): s is DockerServerConfig => s.kind === 'docker');
    if (dockerServers.length === 0) return;
    await this.removeOrphans();
    for (const s of dockerServers) this.openPool(s);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.pool.stop()));
  }

  /** Starts the warm container pool of a per-session docker backend; other backends need none. */
  openPool(server: ServerConfig, backend = PRIMARY_BACKEND): void {
    if (server.kind !== 'docker' || server.mode !== 'per-session') return;
    const pool = new ContainerPool(this.docker, server, this.settings.instance, this.log.child({ server: server.name, backend }));
    this.pools.set(poolKey(server.name, backend), { server: server.name, backend, pool });
    pool.start();
  }

  /** Stops a backend's pool (its warm containers go; containers in use end with their sessions). */
  async closePool(server: string, backend = PRIMARY_BACKEND): Promise<void> {
    const key = poolKey(server, backend);
    const entry = this.pools.get(key);
    this.pools.delete(key);
    await entry?.pool.stop();
  }

  pool(server: string, backend = PRIMARY_BACKEND): ContainerPool | undefined {
    return this.pools.get(poolKey(server, backend))?.pool;
  }

  get allPools(): PoolEntry[] {
    return [...this.pools.values()];
  }

  async create(server: ServerConfig, log: Logger, backend = PRIMARY_BACKEND): Promise<Transport> {
    switch (server.kind) {
      case 'stdio':
        return new ProcessTransport({ command: server.command, args: server.args, env: server.env, cwd: server.cwd, log });
      case 'docker': {
        const pool = this.pool(server.name, backend);
        if (pool) return pool.acquire();
        return new DockerTransport(this.docker, server.docker, { instance: this.settings.instance, server: server.name }, log);
      }
      case 'remote':
        return remoteTransport(server.url, server.transport, server.headers);
    }
  }

  private get docker(): Docker {
    this.dockerClient ??= new Docker({ socketPath: this.settings.dockerSocket });
    return this.dockerClient;
  }

  /** Containers labelled with this instance can only be left over from an earlier run that crashed. */
  private async removeOrphans(): Promise<void> {
    let orphans: Docker.ContainerInfo[];
    try {
      orphans = await this.docker.listContainers({ all: true, filters: { label: [`${LABEL.managed}=true`, `${LABEL.instance}=${this.settings.instance}`] } });
    } catch (err) {
      this.log.warn({ err: (err as Error).message, socket: this.settings.dockerSocket }, 'cannot reach the Docker engine; docker servers will retry');
      return;
    }
    await Promise.all(orphans.map((c) => this.docker.getContainer(c.Id).remove({ force: true }).catch(() => {})));
    if (orphans.length > 0) this.log.warn({ removed: orphans.map((c) => c.Id.slice(0, 12)) }, 'removed containers left by an earlier run of this gateway instance');
  }
}

function poolKey(server: string, backend: string): string {
  return JSON.stringify([server, backend]);
}

function remoteTransport(url: string, transport: 'streamable-http' | 'sse' | 'websocket', headers: Record<string, string>): Transport | Promise<Transport> {
  switch (transport) {
    case 'streamable-http':
      return new StreamableHttpTransport(url, { headers });
    case 'sse':
      return new SSEClientTransport(new URL(url), {
        requestInit: { headers },
        eventSourceInit: { fetch: (u, init) => fetch(u, { ...init, headers: { ...(init?.headers as Record<string, string>), ...headers } }) },
      });
    case 'websocket':
      return WebSocketTransport.connect(url, headers);
  }
}
