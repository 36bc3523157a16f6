/**
 * Every open client session, whatever its front: fronts open them here, and shutdown drains and
 * closes them. Closing a session also stops its per-session upstreams; `closeAll` waits for those
 * of sessions that ended just before, so nothing outlives the gateway.
 */
import type { Logger } from 'pino';
import type { TrafficEvents } from '../metrics/traffic-events';
import { KeyedCap } from '../protocol/keyed-cap';
import type { Relay } from '../relay/relay';
import { ClientSession, type FrontChannel } from './client-session';

/** What a front needs to start a session for a client that connected. */
export interface SessionOpener {
  /** Throws LIMIT_REACHED when `limits.maxSessions` are open. */
  openSession(channel: FrontChannel): ClientSession;
}

export interface SessionLimits {
  maxSessions: number;
  /** Sessions one principal may have open at once (so one client cannot take every slot). */
  maxSessionsPerPrincipal: number;
  maxPendingPerSession: number;
}

/** An open session as the admin API lists it. */
export interface OpenSession {
  session: ClientSession;
  /** The resources it subscribed to through the gateway. */
  subscriptions: number;
}

/** The key every session counts under (the per-principal cap counts by principal id). */
const ALL = 'all';

export class Sessions implements SessionOpener {
  private readonly open = new Map<string, ClientSession>();
  private readonly stopping = new Set<Promise<void>>();
  private isDraining = false;
  private readonly cap: KeyedCap;
  private readonly perPrincipal: KeyedCap;
  private readonly releases = new Map<string, () => void>();

  constructor(
    private readonly relay: Relay,
    private readonly serverInfo: { name: string; version: string },
    private readonly log: Logger,
    /** Live traffic for the admin debug stream: sessions opened and closed. */
    private readonly events: TrafficEvents,
    private readonly limits: SessionLimits = { maxSessions: Infinity, maxSessionsPerPrincipal: Infinity, maxPendingPerSession: Infinity },
  ) {
    this.cap = new KeyedCap(
      limits.maxSessions,
      () => 'client sessions open at once',
      () => 'limits.maxSessions',
    );
    this.perPrincipal = new KeyedCap(
      limits.maxSessionsPerPrincipal,
      (id) => `client sessions of ${id}`,
      () => 'limits.maxSessionsPerPrincipal',
    );
  }

  get count(): number {
    return this.open.size;
  }

  get draining(): boolean {
    return this.isDraining;
  }

  /** The fronts of the open sessions, one entry each (for the sessions gauge). */
  get fronts(): string[] {
    return [...this.open.values()].map((s) => s.channel.kind);
  }

  /** The open sessions, each with the resources it subscribed to (GET /admin/sessions). */
  list(): OpenSession[] {
    return [...this.open.values()].map((session) => ({ session, subscriptions: this.relay.subscriptionCount(session) }));
  }

  get inFlightCount(): number {
    let n = 0;
    for (const s of this.open.values()) n += s.inFlightCount;
    return n;
  }

  openSession(channel: FrontChannel): ClientSession {
    // without auth everyone is the one anonymous principal: the total cap is the bound then
    const mine = channel.principal.kind === 'anonymous' ? () => {} : this.perPrincipal.take(channel.principal.id);
    let all: () => void;
    try {
      all = this.cap.take(ALL);
    } catch (err) {
      mine();
      throw err;
    }
    const release = () => {
      mine();
      all();
    };
    const session = new ClientSession(
      {
        relay: this.relay,
        serverInfo: this.serverInfo,
        draining: () => this.draining,
        closed: (s, stopped) => this.closed(s, stopped),
        maxPending: this.limits.maxPendingPerSession,
      },
      channel,
      this.log,
    );
    this.open.set(session.id, session);
    this.releases.set(session.id, release);
    this.log.info({ session: session.id, front: channel.kind }, 'client session opened');
    this.events.publish({ type: 'session.open', session: session.id, front: channel.kind, principal: channel.principal.id });
    return session;
  }

  /** From now on requests are refused; calls in flight go on. */
  drain(): void {
    this.isDraining = true;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.open.values()].map((s) => s.close()));
    await Promise.all(this.stopping);
  }

  private closed(session: ClientSession, stopped: Promise<void>): void {
    this.open.delete(session.id);
    this.releases.get(session.id)?.();
    this.releases.delete(session.id);
    this.stopping.add(stopped);
    void stopped.finally(() => this.stopping.delete(stopped));
    this.log.info({ session: session.id }, 'client session closed');
    this.events.publish({ type: 'session.close', session: session.id, front: session.channel.kind, principal: session.principal.id });
  }
}
