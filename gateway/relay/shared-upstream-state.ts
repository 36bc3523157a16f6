/**
 * What the gateway asks of upstreams that serve many clients (shared servers', and a tenant's of a
 * per-principal server) on behalf of all their clients at once, and gives back to a backend that
 * (re)connects: the most verbose log level any client wants (each client still gets only its own
 * levels), and one subscription per resource URI and upstream however many clients subscribe.
 */
import type { UpstreamConnection } from '../upstream/connection';
import { mostVerbose, type LogLevel } from './log-levels';

const SET_LEVEL_TIMEOUT_MS = 10_000;

/** Whose upstreams a subscription is on: a shared server's (no tenant), or a tenant's of a per-principal one. */
export interface UpstreamScope {
  readonly name: string;
  readonly tenant?: string | undefined;
}

interface Subscription {
  server: string;
  tenant: string | undefined;
  uri: string;
  clients: Set<string>;
}

/** A URI is subscribed once per tenant (every shared server's subscriptions are under no tenant). */
const keyOf = (tenant: string | undefined, uri: string) => JSON.stringify([tenant ?? null, uri]);

export class SharedUpstreamState {
  private level: LogLevel | undefined;
  private readonly subscriptions = new Map<string, Subscription>();

  get logLevel(): LogLevel | undefined {
    return this.level;
  }

  /** Recomputes the shared level from every client's; true when it changed (and upstreams are to be told). */
  updateLevel(levels: readonly (LogLevel | undefined)[]): boolean {
    const next = mostVerbose(levels.filter((l): l is LogLevel => l !== undefined));
    if (next === this.level) return false;
    this.level = next;
    return true;
  }

  /** Records a client's subscription; true when it is the URI's first on those upstreams, so they must be told. */
  subscribe(scope: UpstreamScope, uri: string, clientId: string): boolean {
    const key = keyOf(scope.tenant, uri);
    const entry = this.subscriptions.get(key);
    if (entry) {
      entry.clients.add(clientId);
      return false;
    }
    this.subscriptions.set(key, { server: scope.name, tenant: scope.tenant, uri, clients: new Set([clientId]) });
    return true;
  }

  /** Drops a client's subscription; true when it was the URI's last on those upstreams, so they must be told. */
  unsubscribe(scope: UpstreamScope, uri: string, clientId: string): boolean {
    const key = keyOf(scope.tenant, uri);
    const entry = this.subscriptions.get(key);
    if (!entry?.clients.delete(clientId) || entry.clients.size > 0) return false;
    this.subscriptions.delete(key);
    return true;
  }

  /** A client left: the subscriptions that lost their last subscriber. */
  dropClient(clientId: string): { server: string; tenant: string | undefined; uri: string }[] {
    const lost: { server: string; tenant: string | undefined; uri: string }[] = [];
    for (const [key, entry] of this.subscriptions) {
      if (!entry.clients.delete(clientId) || entry.clients.size > 0) continue;
      this.subscriptions.delete(key);
      lost.push({ server: entry.server, tenant: entry.tenant, uri: entry.uri });
    }
    return lost;
  }

  /** Gives a (re)connected backend of those upstreams the level and the subscriptions clients asked for. */
  restore(scope: UpstreamScope, conn: UpstreamConnection, offers: (uri: string) => boolean, timeoutMs: number): void {
    if (this.level) void setLevel(conn, this.level);
    for (const entry of this.subscriptions.values()) {
      if (entry.server === scope.name && entry.tenant === scope.tenant && offers(entry.uri))
        void conn.fireAndForget('resources/subscribe', { uri: entry.uri }, timeoutMs);
    }
  }
}

/**
 * Asks an upstream for a log level, if it logs at all; resolves once it answered, so the client's
 * own setLevel is answered after its upstreams took it. A refusal or failure is the upstream's
 * business: the level is a wish, and the gateway filters what reaches each client anyway.
 */
export async function setLevel(conn: UpstreamConnection, level: LogLevel): Promise<void> {
  if (!conn.capabilities.logging) return;
  await conn.request('logging/setLevel', { level }, { timeoutMs: SET_LEVEL_TIMEOUT_MS }).response.catch(() => undefined);
}
