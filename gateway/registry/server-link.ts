/**
 * A configured server as the gateway sees it: its supervised upstream session plus the catalog of
 * what it offers, kept current (fetched on connect, refetched on list_changed, emptied while down).
 */
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/schema';
import { prefixOf } from '../config/prefixes';
import { LIST_CHANGED, LIST_KINDS, emptyCatalog, fetchCatalog, fetchList, type Catalog, type ListKind } from '../aggregate/catalog';
import type { InitializeParams, UpstreamConnection, UpstreamEvents } from '../upstream/connection';
import { UpstreamSupervisor } from '../upstream/supervisor';
import type { TransportFactory } from '../upstream/transports';
import type { JsonRpcNotification, JsonRpcRequest } from '../protocol/jsonrpc';

export interface LinkListener {
  listsChanged(link: ServerLink, kinds: ListKind[]): void;
  notification(link: ServerLink, n: JsonRpcNotification, conn: UpstreamConnection): void;
  request: (link: ServerLink, r: JsonRpcRequest, conn: UpstreamConnection) => ReturnType<UpstreamEvents['request']>;
  stateChanged?(link: ServerLink): void;
}

export class ServerLink {
  catalog: Catalog = emptyCatalog();
  readonly supervisor: UpstreamSupervisor;
  readonly prefix: string | undefined;
  private readonly refetching = new Map<ListKind, { again: boolean }>();

  /** `ownerSessionId` is set for per-session links: the one client session this upstream belongs to. */
  constructor(
    readonly server: ServerConfig,
    transports: TransportFactory,
    initParams: () => InitializeParams,
    private readonly listener: LinkListener,
    private readonly log: Logger,
    readonly ownerSessionId?: string,
  ) {
    this.prefix = prefixOf(server);
    this.supervisor = new UpstreamSupervisor(
      server,
      () => transports.create(server, log),
      initParams,
      {
        notification: (n, conn) => this.onNotification(n, conn),
        request: (r, conn) => this.listener.request(this, r, conn),
      },
      { up: (conn) => this.onUp(conn), down: () => this.onDown() },
      log,
    );
  }

  get name(): string {
    return this.server.name;
  }

  get connection(): UpstreamConnection | undefined {
    return this.supervisor.connection;
  }

  start(): Promise<void> {
    return this.supervisor.start();
  }

  stop(): Promise<void> {
    return this.supervisor.stop();
  }

  private async onUp(conn: UpstreamConnection): Promise<void> {
    let catalog: Catalog;
    try {
      catalog = await fetchCatalog(conn, this.server.requestTimeoutMs);
    } catch (err) {
      await conn.lose(new Error(`cannot read what the server offers: ${(err as Error).message}`));
      return;
    }
    if (!conn.isOpen) return;
    this.catalog = catalog;
    this.log.info(Object.fromEntries(LIST_KINDS.map((k) => [k, catalog[k].length])), 'server catalog loaded');
    this.listener.stateChanged?.(this);
    this.listener.listsChanged(this, LIST_KINDS.filter((k) => catalog[k].length > 0));
  }

  private onDown(): void {
    const lost = LIST_KINDS.filter((k) => this.catalog[k].length > 0);
    this.catalog = emptyCatalog();
    this.listener.stateChanged?.(this);
    if (lost.length > 0) this.listener.listsChanged(this, lost);
  }

  private onNotification(n: JsonRpcNotification, conn: UpstreamConnection): void {
    const kinds = LIST_CHANGED[n.method];
    if (!kinds) {
      this.listener.notification(this, n, conn);
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
          const items = await fetchList(conn, kind, this.server.requestTimeoutMs);
          if (!conn.isOpen || conn !== this.connection) return;
          this.catalog = { ...this.catalog, [kind]: items };
          this.listener.listsChanged(this, [kind]);
        } while (this.refetching.get(kind)!.again);
      } catch (err) {
        this.log.warn({ err: (err as Error).message, kind }, 'cannot refresh list after list_changed');
      } finally {
        this.refetching.delete(kind);
      }
    })();
  }
}
