/**
 * What the gateway asks of shared upstreams on behalf of all their clients at once, and gives back
 * to a backend that (re)connects: the most verbose log level any client wants (each client still
 * gets only its own levels), and one subscription per resource URI however many clients subscribe.
 */
import type { UpstreamConnection } from '../upstream/connection';
import { mostVerbose, type LogLevel } from './log-levels';

const SET_LEVEL_TIMEOUT_MS = 10_000;

export class SharedUpstreamState {
  private level: LogLevel | undefined;
  /** uri → the server it was subscribed on, and the clients subscribed to it. */
  private readonly subscriptions = new Map<string, { server: string; clients: Set<string> }>();

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

  /** Records a client's subscription; true when it is the URI's first, so the upstream must be told. */
  subscribe(server: string, uri: string, clientId: string): boolean {
    const entry = this.subscriptions.get(uri);
    if (entry) {
      entry.clients.add(clientId);
      return false;
    }
    this.subscriptions.set(uri, { server, clients: new Set([clientId]) });
    return true;
  }

  /** Drops a client's subscription; true when it was the URI's last, so the upstream must be told. */
  unsubscribe(uri: string, clientId: string): boolean {
    const entry = this.subscriptions.get(uri);
    if (!entry?.clients.delete(clientId) || entry.clients.size > 0) return false;
    this.subscriptions.delete(uri);
    return true;
  }

  /** A client left: the subscriptions that lost their last subscriber. */
  dropClient(clientId: string): { server: string; uri: string }[] {
    const lost: { server: string; uri: string }[] = [];
    for (const [uri, entry] of this.subscriptions) {
      if (!entry.clients.delete(clientId) || entry.clients.size > 0) continue;
      this.subscriptions.delete(uri);
      lost.push({ server: entry.server, uri });
    }
    return lost;
  }

  /** Gives a (re)connected backend of `server` the level and the subscriptions clients asked for. */
  restore(server: string, conn: UpstreamConnection, offers: (uri: string) => boolean, timeoutMs: number): void {
    if (this.level) void setLevel(conn, this.level);
    for (const [uri, entry] of this.subscriptions) {
      if (entry.server === server && offers(uri)) void conn.fireAndForget('resources/subscribe', { uri }, timeoutMs);
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
