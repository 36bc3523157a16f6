/**
 * One backend of a server: a supervised upstream session plus the catalog of what it offers, kept
 * current (fetched on connect, refetched on list_changed, emptied while down). Every server has a
 * `primary` backend; more can run beside it (a canary, a blue/green twin), each with a weight.
 */
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/schema';
import { LIST_CHANGED, LIST_KINDS, emptyCatalog, fetchCatalog, fetchList, type Catalog, type ListKind } from './lists';
import { templateMatches } from '../catalog/view';
import type { InitializeParams, UpstreamConnection, UpstreamEvents } from '../upstream/connection';
import { UpstreamSupervisor } from '../upstream/supervisor';
import type { TransportFactory } from '../upstream/transports';
import type { JsonRpcNotification, JsonRpcRequest } from '../protocol/jsonrpc';

export const PRIMARY_BACKEND = 'primary';

export type BackendState = 'ready' | 'connecting' | 'down';
export type TransportKind = 'stdio' | 'docker' | 'streamable-http' | 'sse' | 'websocket';

/** The state of a group (a server's backends, the sessions on one): ready if one is, connecting if one tries, else down. */
export function bestState(states: BackendState[]): BackendState {
  return states.includes('ready') ? 'ready' : states.includes('connecting') ? 'connecting' : 'down';
}

/** What a backend is: its id, its share of traffic, and the server settings with its own transport. */
export interface BackendSpec {
  id: string;
  weight: number;
  config: ServerConfig;
}

export interface BackendListener {
  /** The backend connected and its catalog is loaded. */
  backendUp(backend: Backend, conn: UpstreamConnection): void;
  backendDown(backend: Backend): void;
  /** The backend's list of `kind` was refetched after its list_changed. */
  backendListChanged(backend: Backend, kind: ListKind): void;
  notification(n: JsonRpcNotification, conn: UpstreamConnection): void;
  request: (r: JsonRpcRequest, conn: UpstreamConnection) => ReturnType<UpstreamEvents['request']>;
}

export class Backend {
  catalog: Catalog = emptyCatalog();
  weight: number;
  readonly id: string;
  readonly config: ServerConfig;
  readonly supervisor: UpstreamSupervisor;
  /** Per-session servers' plans: what a probe found when the backend was registered at runtime. */
  probed: { state: BackendState; tools: number } | undefined;
  private loaded = false;
  private readonly refetching = new Map<ListKind, { again: boolean }>();

  constructor(
    spec: BackendSpec,
    transports: TransportFactory,
    initParams: () => InitializeParams,
    private readonly listener: BackendListener,
    private readonly log: Logger,
  ) {
    this.id = spec.id;
    this.weight = spec.weight;
    this.config = spec.config;
    this.supervisor = new UpstreamSupervisor(
      spec.config,
      () => transports.create(spec.config, log, spec.id),
      initParams,
      { notification: (n, conn) => this.onNotification(n, conn), request: (r, conn) => this.listener.request(r, conn) },
      { up: (conn) => this.onUp(conn), down: () => this.onDown() },
      log,
    );
  }

  get connection(): UpstreamConnection | undefined {
    return this.supervisor.connection;
  }

  /** Connected with its catalog loaded: it can take traffic. */
  get ready(): boolean {
    return this.loaded && this.connection !== undefined;
  }

  get state(): BackendState {
    if (this.ready) return 'ready';
    return this.supervisor.state === 'connecting' || this.supervisor.state === 'up' ? 'connecting' : 'down';
  }

  get transport(): TransportKind {
    return this.config.kind === 'remote' ? this.config.transport : this.config.kind;
  }

  start(): Promise<void> {
    return this.supervisor.start();
  }

  stop(): Promise<void> {
    return this.supervisor.stop();
  }

  /** Whether this backend's catalog has what a forwarded request names (tool, prompt, resource). */
  offers(method: string, params: Record<string, unknown> | undefined): boolean {
    const p = params ?? {};
    const named = (kind: 'tools' | 'prompts', name: unknown) => this.catalog[kind].some((i) => i.name === name);
    const uri = (u: unknown) =>
      this.catalog.resources.some((r) => r.uri === u) || this.catalog.resourceTemplates.some((t) => t.uriTemplate === u || templateMatches(String(t.uriTemplate), String(u)));
    switch (method) {
      case 'tools/call':
        return named('tools', p.name);
      case 'prompts/get':
        return named('prompts', p.name);
      case 'resources/read':
      case 'resources/subscribe':
      case 'resources/unsubscribe':
        return uri(p.uri);
      case 'completion/complete': {
        const ref = (p.ref ?? {}) as { type?: string; name?: unknown; uri?: unknown };
        return ref.type === 'ref/prompt' ? named('prompts', ref.name) : uri(ref.uri);
      }
      default:
        return true;
    }
  }

  private async onUp(conn: UpstreamConnection): Promise<void> {
    let catalog: Catalog;
    try {
      catalog = await fetchCatalog(conn, this.config.requestTimeoutMs);
    } catch (err) {
      await conn.lose(new Error(`cannot read what the server offers: ${(err as Error).message}`));
      return;
    }
    if (!conn.isOpen) return;
    this.catalog = catalog;
    this.loaded = true;
    this.log.info(Object.fromEntries(LIST_KINDS.map((k) => [k, catalog[k].length])), 'server catalog loaded');
    this.listener.backendUp(this, conn);
  }

  private onDown(): void {
    this.catalog = emptyCatalog();
    this.loaded = false;
    this.listener.backendDown(this);
  }

  private onNotification(n: JsonRpcNotification, conn: UpstreamConnection): void {
    const kinds = LIST_CHANGED[n.method];
    if (!kinds) {
      this.listener.notification(n, conn);
      return;
    }
    for (const kind of kinds) this.refetch(kind, conn);
  }

  /**
   * Refetches one list. Changes announced while a fetch runs are folded into a single further
   * fetch, so a burst of list_changed costs at most two fetches and two client notifications.
   */
  private refetch(kind: ListKind, conn: UpstreamConnection): void {
    const state = this.refetching.get(kind);
    if (state) {
      state.again = true;
      return;
    }
    this.refetching.set(kind, { again: false });
    void (async () => {
      try {
        do {
          this.refetching.get(kind)!.again = false;
          const items = await fetchList(conn, kind, this.config.requestTimeoutMs);
          if (!conn.isOpen || conn !== this.connection) return;
          this.catalog = { ...this.catalog, [kind]: items };
          this.listener.backendListChanged(this, kind);
        } while (this.refetching.get(kind)!.again);
      } catch (err) {
        this.log.warn({ err: (err as Error).message, kind }, 'cannot refresh list after list_changed');
      } finally {
        this.refetching.delete(kind);
      }
    })();
  }
}
