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

export class TransportFactory {
  private dockerClient: Docker | undefined;
  private readonly pools = new Map<string, ContainerPool>();

  constructor(
    private readonly settings: { instance: string; dockerSocket: string },
    private readonly log: Logger,
  ) {}

  /** Prepares docker servers: removes orphans of this instance, then starts warm pools. */
  async start(servers: ServerConfig[]): Promise<void> {
    const dockerServers = servers.filter((s): s is DockerServerConfig => s.kind === 'docker');
    if (dockerServers.length === 0) return;
    await this.removeOrphans();
    for (const s of dockerServers.filter((s) => s.mode === 'per-session')) {
      const pool = new ContainerPool(this.docker, s, this.settings.instance, this.log.child({ server: s.name }));
      this.pools.set(s.name, pool);
      pool.start();
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.stop()));
  }

  pool(name: string): ContainerPool | undefined {
    return this.pools.get(name);
  }

  async create(server: ServerConfig, log: Logger): Promise<Transport> {
    switch (server.kind) {
      case 'stdio':
        return new ProcessTransport({ command: server.command, args: server.args, env: server.env, cwd: server.cwd, log });
      case 'docker': {
        const pool = this.pools.get(server.name);
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
