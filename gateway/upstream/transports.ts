/**
 * Builds the client-side transport for a configured server: a child process, a remote endpoint,
 * or a container (one per connection for shared servers, from a bounded warm pool for per-session
 * ones). Owns the Docker client and the pools, and removes containers a crashed run left behind.
 */
import type Docker from 'dockerode';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import type { Logger } from 'pino';
import type { RemoteServerConfig, ServerConfig } from '../config/schema';
import { fromSdkTransport } from '../protocol/sdk-transport';
import { guardedEvents } from './guarded-events';
import type { FleetError } from '../protocol/errors';
import type { JsonRpcMessage } from '../protocol/jsonrpc';
import type { MessageTransport } from '../protocol/transport';
import { WebSocketTransport } from '../protocol/ws-transport';
import { ProcessTransport } from './process-transport';
import { StreamableHttpTransport } from './streamable-http-transport';
import { DockerTransport } from './docker-transport';
import { dockerClient } from './docker-client';
import { tlsFetch } from './tls-fetch';
import { readUpstreamTls, type UpstreamTlsObserver } from './upstream-tls';
import { ClientCredentials } from './client-credentials';
import { TokenExchange, type Subject, type UpstreamAuthorization } from './token-exchange';
import { ContainerPool } from './container-pool';
import { LABEL } from './container-spec';
import { pinnedLookup } from '../protocol/pinned-lookup';

/** A per-session or per-principal docker backend's pool, as the admin API and metrics report it. */
export interface PoolEntry {
  server: string;
  backend: string;
  pool: ContainerPool;
}

/**
 * Where the servers' upstreams get their transports: one per connection attempt of a backend, and
 * the container pools of per-session and per-principal docker backends. Unit tests supply in-memory ones.
 */
export interface UpstreamTransports {
  /** `subject`: whom the upstream acts for (the principal owning it), for servers that exchange its token (oauth.grant: token-exchange). */
  create(server: ServerConfig, backend: string, log: Logger, subject?: Subject): Promise<MessageTransport>;
  /** Starts the warm container pool of a per-session or per-principal docker backend; shared ones need none. */
  openPool(server: ServerConfig, backend: string): void;
  /** Stops a backend's pool (its warm containers go; containers in use end with their sessions). */
  closePool(server: string, backend: string): Promise<void>;
  /** The pools there are, for the admin API and the metrics. */
  readonly allPools: PoolEntry[];
}

export class TransportFactory implements UpstreamTransports {
  private engine: Docker | undefined;
  /** Keyed by poolKey(server, backend). */
  private readonly pools = new Map<string, PoolEntry>();
  /** The gateway's OAuth tokens for remote servers, one per server and settings, kept across reconnects. */
  private readonly tokens = new Map<string, ClientCredentials>();
  /** Token exchange for remote servers, one per server and settings: the exchanged tokens are cached there. */
  private readonly exchanges = new Map<string, TokenExchange>();

  constructor(
    private readonly settings: { instance: string; dockerSocket: string },
    private readonly log: Logger,
    /** Told of the certificates each remote connection attempt uses (the certificate-expiry gauge). */
    private readonly observeTls?: UpstreamTlsObserver,
  ) {}

  /** Before the first container starts: removes those a crashed run of this instance left behind. */
  async prepare(servers: readonly ServerConfig[]): Promise<void> {
    if (servers.some((s) => s.kind === 'docker')) await this.removeOrphans();
  }

  async stop(): Promise<void> {
    for (const t of this.tokens.values()) t.close();
    this.tokens.clear();
    this.exchanges.clear();
    await Promise.all([...this.pools.values()].map((p) => p.pool.stop()));
  }

  /** How requests to a remote server authenticate with `oauth:`: the gateway's own token, or the subject's exchanged one. */
  private authorization(server: RemoteServerConfig, subject: Subject | undefined): UpstreamAuthorization | undefined {
    const { oauth } = server;
    if (!oauth) return undefined;
    const key = JSON.stringify([server.name, oauth]);
    const resource = oauth.resource ?? server.url;
    if (oauth.grant === 'token-exchange') {
      let exchange = this.exchanges.get(key);
      if (!exchange) this.exchanges.set(key, (exchange = new TokenExchange(server.name, oauth, resource)));
      return exchange.actingFor(subject);
    }
    let creds = this.tokens.get(key);
    if (!creds) this.tokens.set(key, (creds = new ClientCredentials(server.name, oauth, resource, this.log)));
    return creds;
  }

  openPool(server: ServerConfig, backend: string): void {
    if (server.kind !== 'docker' || server.mode === 'shared') return;
    const pool = new ContainerPool(this.docker, server, this.settings.instance, this.log.child({ server: server.name, backend }));
    this.pools.set(poolKey(server.name, backend), { server: server.name, backend, pool });
    pool.start();
  }

  async closePool(server: string, backend: string): Promise<void> {
    const key = poolKey(server, backend);
    const entry = this.pools.get(key);
    this.pools.delete(key);
    await entry?.pool.stop();
  }

  pool(server: string, backend: string): ContainerPool | undefined {
    return this.pools.get(poolKey(server, backend))?.pool;
  }

  get allPools(): PoolEntry[] {
    return [...this.pools.values()];
  }

  async create(server: ServerConfig, backend: string, log: Logger, subject?: Subject): Promise<MessageTransport> {
    switch (server.kind) {
      case 'stdio':
        return new ProcessTransport({
          command: server.command,
          args: server.args,
          env: server.env,
          liveEnv: server.liveEnv,
          cwd: server.cwd,
          log,
          server: server.name,
          limits: server.limits,
        });
      case 'docker': {
        const pool = this.pool(server.name, backend);
        if (pool) return pool.acquire();
        return new DockerTransport(
          this.docker,
          server.docker,
          { instance: this.settings.instance, server: server.name },
          log,
          undefined,
          server.limits,
          server.liveEnv,
        );
      }
      case 'remote': {
        const { liveHeaders, headers } = server;
        const configured = liveHeaders ? () => liveHeaders.current() : () => headers;
        const auth = this.authorization(server, subject);
        if (!auth) return remoteTransport(server, log, this.observeTls, configured);
        await auth.ready();
        return remoteTransport(
          server,
          log,
          this.observeTls,
          withAuthorization(configured, () => auth.header()),
          auth.prepare,
        );
      }
    }
  }

  private get docker(): Docker {
    this.engine ??= dockerClient(this.settings.dockerSocket);
    return this.engine;
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
    await Promise.all(
      orphans.map((c) =>
        this.docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => {}),
      ),
    );
    if (orphans.length > 0)
      this.log.warn({ removed: orphans.map((c) => c.Id.slice(0, 12)) }, 'removed containers left by an earlier run of this gateway instance');
  }
}

/**
 * The configured headers with the current `authorization` as their one Authorization header,
 * whatever case a configured one was written in; the same object while neither changed, as the
 * Streamable HTTP transport wants.
 */
function withAuthorization(configured: () => Readonly<Record<string, string>>, authorization: () => string | undefined): () => Record<string, string> {
  let from: Readonly<Record<string, string>> | undefined;
  let value: string | undefined;
  let out: Record<string, string> = {};
  return () => {
    const headers = configured();
    const current = authorization();
    if (headers === from && current === value) return out;
    from = headers;
    value = current;
    out = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
    if (current !== undefined) out.authorization = current;
    return out;
  };
}

function poolKey(server: string, backend: string): string {
  return JSON.stringify([server, backend]);
}

/**
 * A remote server's transport, its `tls:` files read now (see upstream-tls.ts). `headers` is read
 * for every HTTP request (Streamable HTTP, and each POST and stream of legacy SSE), so a rotated
 * credential goes with the next request; a WebSocket sends headers only when it connects, so there
 * it takes effect at the next connection. `prepare` runs before each request (a promise delays it:
 * an exchanged token is being fetched).
 */
async function remoteTransport(
  server: RemoteServerConfig,
  log: Logger,
  observeTls: UpstreamTlsObserver | undefined,
  headers: () => Readonly<Record<string, string>>,
  prepare?: () => Promise<void> | undefined,
): Promise<MessageTransport> {
  const { url, limits, name } = server;
  const tls = await readUpstreamTls(server.name, server.tls, observeTls);
  switch (server.transport) {
    case 'streamable-http':
      return new StreamableHttpTransport(url, { headers, prepare, tls, limits, server: name, address: server.address });
    case 'sse': {
      const over = tls ? tlsFetch(tls) : undefined;
      const base = over?.fetch ?? fetch;
      const events = {
        message: (m: JsonRpcMessage) => adapted.onmessage?.(m),
        refused: (err: FleetError) => log.warn({ err: err.message }, 'upstream message refused'),
      };
      const adapted: MessageTransport = fromSdkTransport(
        new SSEClientTransport(new URL(url), {
          fetch: async (u, init) => {
            await prepare?.();
            const merged = new Headers(init?.headers);
            for (const [k, v] of Object.entries(headers())) merged.set(k, v);
            const res = await base(u, { ...init, headers: merged });
            // the gateway reads the messages of the event stream itself; the SDK gets the endpoint
            if (!res.body || !res.headers.get('content-type')?.includes('text/event-stream')) return res;
            const body = guardedEvents(res.body, limits, `server "${name}"`, events);
            return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
          },
        }),
      );
      if (!over) return adapted;
      const close = adapted.close.bind(adapted);
      return Object.assign(adapted, { close: () => close().finally(() => over.close()) });
    }
    case 'websocket':
      return WebSocketTransport.connect(
        url,
        { ...headers() },
        { ...tls, ...(server.address !== undefined ? { lookup: pinnedLookup(server.address) } : {}) },
        {
          limits,
          peer: `server "${name}"`,
        },
      );
  }
}
