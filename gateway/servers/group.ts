/**
 * A server as clients see it: one name, one prefix, one catalog, served by one or more weighted
 * backends. Forwarded requests go to a ready backend that offers the name, picked by smooth
 * weighted round-robin; a backend that is down is skipped (failover). The catalog clients see is
 * that of the ready backend with the highest weight (ties: the earliest added).
 */
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/schema';
import { prefixOf } from '../config/prefixes';
import { LIST_KINDS, emptyCatalog, type Catalog, type ListKind } from './lists';
import type { InitializeParams, UpstreamConnection, UpstreamEvents } from '../upstream/connection';
import type { TransportFactory } from '../upstream/transports';
import type { JsonRpcNotification, JsonRpcRequest } from '../protocol/jsonrpc';
import { FleetError } from '../protocol/errors';
import { Backend, bestState, type BackendListener, type BackendSpec, type BackendState } from './backend';
import { SmoothWeightedPicker } from './picker';

export interface LinkListener {
  listsChanged(link: ServerLink, kinds: ListKind[]): void;
  notification(link: ServerLink, n: JsonRpcNotification, conn: UpstreamConnection): void;
  request: (link: ServerLink, r: JsonRpcRequest, conn: UpstreamConnection) => ReturnType<UpstreamEvents['request']>;
  /** A backend (re)connected: shared state (log level, subscriptions) is to be given back to it. */
  backendUp?(link: ServerLink, conn: UpstreamConnection): void;
}

export interface LinkDeps {
  transports: TransportFactory;
  initParams: () => InitializeParams;
  listener: LinkListener;
  log: Logger;
}

export class ServerLink implements BackendListener {
  readonly backends: Backend[] = [];
  readonly prefix: string | undefined;
  private shown: Catalog = emptyCatalog();
  private readonly picker = new SmoothWeightedPicker();
  private onWeightZero = false;

  /** `ownerSessionId` is set for per-session links: the one client session these upstreams belong to. */
  constructor(
    readonly server: ServerConfig,
    specs: BackendSpec[],
    private readonly deps: LinkDeps,
    readonly ownerSessionId?: string,
  ) {
    this.prefix = prefixOf(server);
    for (const spec of specs) this.backends.push(this.newBackend(spec));
  }

  get name(): string {
    return this.server.name;
  }

  /** What clients see: the lead backend's catalog. */
  get catalog(): Catalog {
    return this.shown;
  }

  /** The ready backend with the highest weight; ties go to the earliest added. */
  get lead(): Backend | undefined {
    let lead: Backend | undefined;
    for (const b of this.backends) if (b.ready && (!lead || b.weight > lead.weight)) lead = b;
    return lead;
  }

  /** The lead backend's connection; undefined while no backend is ready. */
  get connection(): UpstreamConnection | undefined {
    return this.lead?.connection;
  }

  /** The connections of every ready backend (initialized, catalog loaded). */
  get connections(): UpstreamConnection[] {
    return this.backends.flatMap((b) => (b.ready ? [b.connection!] : []));
  }

  /** ready when a backend is, connecting while one is trying, else down. */
  get state(): BackendState {
    return bestState(this.backends.map((b) => b.state));
  }

  get lastError(): Error | undefined {
    return this.backends.find((b) => b.supervisor.lastError)?.supervisor.lastError;
  }

  backend(id: string): Backend | undefined {
    return this.backends.find((b) => b.id === id);
  }

  start(): Promise<void> {
    return Promise.all(this.backends.map((b) => b.start())).then(() => {});
  }

  stop(): Promise<void> {
    return Promise.all(this.backends.map((b) => b.stop())).then(() => {});
  }

  /**
   * The backend for one forwarded request: by weight among the ready ones that offer what it
   * names. When every backend with weight is down, a ready weight-0 one serves rather than fail.
   */
  choose(method: string, params: Record<string, unknown> | undefined): Backend {
    const able = this.backends.filter((b) => b.ready && b.offers(method, params));
    const picked = this.picker.pick(able);
    if (picked) {
      this.onWeightZero = false;
      return picked;
    }
    if (able.length > 0) {
      // warned once each time traffic falls back to weight 0, not on every request while it does
      if (!this.onWeightZero) this.deps.log.warn({ backend: able[0].id, method }, 'no backend with weight > 0 is ready; a weight-0 backend serves the request');
      this.onWeightZero = true;
      return able[0];
    }
    const last = this.lastError?.message;
    throw new FleetError('UPSTREAM_UNAVAILABLE', `server "${this.name}" is not connected${last ? ` (last error: ${last})` : ''}; the gateway keeps retrying`, {
      data: { server: this.name },
    });
  }

  /** Sends a request to every other ready backend that offers what it names; their answers are not awaited. */
  mirror(method: string, params: Record<string, unknown> | undefined, except: Backend): void {
    for (const b of this.backends) {
      if (b !== except && b.ready && b.offers(method, params)) void b.connection!.request(method, params, { timeoutMs: this.server.requestTimeoutMs }).response;
    }
  }

  /** The backend a new client session binds to for its life (per-session servers): by weight only. */
  pickForSession(): BackendSpec {
    const b = this.picker.pick(this.backends) ?? this.backends[0];
    return { id: b.id, weight: b.weight, config: b.config };
  }

  /** Adds and starts a backend; resolves after its first connection attempt. */
  async addBackend(spec: BackendSpec, start = true): Promise<Backend> {
    const backend = this.newBackend(spec);
    this.backends.push(backend);
    this.picker.reset();
    if (start) await backend.start();
    return backend;
  }

  async removeBackend(id: string): Promise<void> {
    const backend = this.backend(id);
    if (!backend) return;
    this.backends.splice(this.backends.indexOf(backend), 1);
    this.picker.reset();
    await backend.stop();
    this.showLead();
  }

  setWeights(weights: Record<string, number>): void {
    for (const [id, weight] of Object.entries(weights)) this.backend(id)!.weight = weight;
    this.picker.reset();
    this.showLead();
  }

  // ---- BackendListener ----------------------------------------------------------------------

  backendUp(_backend: Backend, conn: UpstreamConnection): void {
    this.showLead();
    this.deps.listener.backendUp?.(this, conn);
  }

  backendDown(): void {
    this.showLead();
  }

  backendListChanged(backend: Backend, kind: ListKind): void {
    if (backend !== this.lead) return;
    this.shown = { ...this.shown, [kind]: backend.catalog[kind] };
    this.deps.listener.listsChanged(this, [kind]);
  }

  notification(n: JsonRpcNotification, conn: UpstreamConnection): void {
    this.deps.listener.notification(this, n, conn);
  }

  request = (r: JsonRpcRequest, conn: UpstreamConnection) => this.deps.listener.request(this, r, conn);

  // ---- helpers ------------------------------------------------------------------------------

  private newBackend(spec: BackendSpec): Backend {
    return new Backend(spec, this.deps.transports, this.deps.initParams, this, this.deps.log.child({ backend: spec.id }));
  }

  /** Shows the lead backend's catalog; clients hear list_changed for each list that differs. */
  private showLead(): void {
    const next = this.lead?.catalog ?? emptyCatalog();
    const changed = LIST_KINDS.filter((k) => JSON.stringify(next[k]) !== JSON.stringify(this.shown[k]));
    this.shown = next;
    if (changed.length > 0) this.deps.listener.listsChanged(this, changed);
  }
}
