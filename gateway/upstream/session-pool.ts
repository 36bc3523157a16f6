/**
 * A pool of upstream sessions to one backend of a shared 2025 Streamable HTTP server. The
 * backend's own supervised session is always a member (it carries the catalog, the subscriptions
 * and the list changes); the pool adds sessions of its own while requests need them, up to `max`,
 * each taking at most `maxConcurrent` requests at once. A request leases the least busy member
 * with room, else a new one, else waits in a bounded FIFO for `acquireTimeoutMs`; past
 * `maxWaiters` it is refused at once. Added sessions close when idle for `idleTimeoutMs` (down to
 * `min`), every member but the supervised one is drained and closed after `maxLifetimeMs`, and a
 * member idle for longer than `validateIdleMs` answers a ping before it is handed out. Every
 * `validateIntervalMs` the idle added members are pinged too, and one that does not answer is
 * replaced: a server that forgot a session (no GET stream tells) is found before a request needs it.
 *
 * Isolation: a pooled session is one more shared session, initialized with the gateway's own
 * capabilities. What a client asks for that is its own (roots, its capabilities, its log level,
 * its subscriptions) never goes to one: subscriptions and list changes stay on the supervised
 * session, and what a pooled one sends about a call (progress, log lines, the server's requests)
 * goes to that call's client as on any shared session.
 */
import type { Logger } from 'pino';
import type { SessionPoolSettings } from '../config/schema';
import { FleetError } from '../protocol/errors';
import type { UpstreamConnection } from './connection';

/** A leased session: send on `conn`, then `release()` once the answer came (exactly once). */
export interface Lease {
  conn: UpstreamConnection;
  release(): void;
}

/** What the admin API and the metrics report of a pool. */
export interface SessionPoolStats {
  /** Sessions open now (the supervised one included). */
  size: number;
  inUse: number;
  idle: number;
  waiters: number;
  /** Leases served by a session that existed already, and those that had to open one. */
  reused: number;
  created: number;
  /** Sessions that could not be opened or failed a validation (before reuse or on the interval). */
  failed: number;
  /** Leases refused (sessions and queue full) or whose wait timed out. */
  refused: number;
  /** reused / (reused + created): how often a request found a session ready. */
  efficiency: number;
}

interface Member {
  conn: UpstreamConnection;
  inFlight: number;
  openedAt: number;
  lastUsed: number;
  /** The supervised session: never closed by the pool. */
  primary: boolean;
  /** Past its lifetime: takes no new lease, closes once idle. */
  draining: boolean;
}

interface Waiter {
  resolve(lease: Lease): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

const PING_TIMEOUT_MS = 2_000;

export class SessionPool {
  private readonly members: Member[] = [];
  private readonly waiters: Waiter[] = [];
  private opening = 0;
  private readonly sweeper: NodeJS.Timeout;
  private readonly validator: NodeJS.Timeout;
  /** An interval check is under way (a slow ping must not start a second round over it). */
  private validating = false;
  private stopped = false;
  private counts = { reused: 0, created: 0, failed: 0, refused: 0 };

  constructor(
    private readonly server: string,
    private readonly settings: SessionPoolSettings,
    /** Opens one more session to the backend (transport, initialize); rejects when it cannot. */
    private readonly open: () => Promise<UpstreamConnection>,
    private readonly log: Logger,
  ) {
    const every = Math.max(250, Math.min(settings.idleTimeoutMs, settings.maxLifetimeMs) / 4);
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
    this.validator = setInterval(() => void this.validateIdle(), settings.validateIntervalMs);
    this.validator.unref();
  }

  /** The supervised session connected: it is a member from now on (and the pool fills up to `min`). */
  attach(conn: UpstreamConnection): void {
    if (this.members.some((m) => m.conn === conn)) return;
    this.members.push({ conn, inFlight: 0, openedAt: Date.now(), lastUsed: Date.now(), primary: true, draining: false });
    this.fill();
    this.serveWaiters();
  }

  /** Leases a session for one request; rejects with LIMIT_REACHED when the pool is full and its queue too, or the wait timed out. */
  acquire(): Promise<Lease> {
    if (this.stopped) return Promise.reject(new FleetError('UPSTREAM_UNAVAILABLE', `server "${this.server}": its session pool is closed`));
    const member = this.available();
    if (member) return this.validated(member);
    if (this.size + this.opening < this.settings.max) return this.grow();
    return this.wait();
  }

  has(conn: UpstreamConnection): boolean {
    return this.members.some((m) => m.conn === conn);
  }

  get stats(): SessionPoolStats {
    this.prune();
    const inUse = this.members.filter((m) => m.inFlight > 0).length;
    const { reused, created, failed, refused } = this.counts;
    return {
      size: this.members.length,
      inUse,
      idle: this.members.length - inUse,
      waiters: this.waiters.length,
      reused,
      created,
      failed,
      refused,
      efficiency: reused + created === 0 ? 1 : reused / (reused + created),
    };
  }

  /** Closes the sessions the pool opened (the supervised one is its supervisor's) and refuses the waiters. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweeper);
    clearInterval(this.validator);
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new FleetError('UPSTREAM_UNAVAILABLE', `server "${this.server}": its session pool closed while the request waited`));
    }
    const own = this.members.splice(0).filter((m) => !m.primary);
    await Promise.all(own.map((m) => m.conn.close()));
  }

  private get size(): number {
    this.prune();
    return this.members.length;
  }

  /** The least busy open member with room that takes leases (ties: the oldest, so that newer ones can idle out). */
  private available(): Member | undefined {
    this.prune();
    let best: Member | undefined;
    for (const m of this.members) {
      if (m.draining || m.inFlight >= this.settings.maxConcurrent) continue;
      if (!best || m.inFlight < best.inFlight) best = m;
    }
    return best;
  }

  private lease(member: Member): Lease {
    member.inFlight++;
    member.lastUsed = Date.now();
    let released = false;
    return {
      conn: member.conn,
      release: () => {
        if (released) return;
        released = true;
        member.inFlight--;
        member.lastUsed = Date.now();
        if (member.draining && member.inFlight === 0) this.retire(member);
        this.serveWaiters();
      },
    };
  }

  /** A member idle for long answers a ping first; one that does not is closed and the request tries again. */
  private async validated(member: Member): Promise<Lease> {
    this.counts.reused++;
    const quiet = member.inFlight === 0 && Date.now() - member.lastUsed >= this.settings.validateIdleMs;
    const lease = this.lease(member);
    if (!quiet) return lease;
    try {
      await member.conn.request('ping', undefined, { timeoutMs: PING_TIMEOUT_MS }).response;
      return lease;
    } catch (err) {
      lease.release();
      this.counts.failed++;
      this.log.info({ err: (err as Error).message }, 'pooled upstream session failed validation; closed');
      if (!member.primary) this.retire(member);
      return this.acquire();
    }
  }

  private async grow(): Promise<Lease> {
    this.opening++;
    let conn: UpstreamConnection;
    try {
      conn = await this.open();
    } catch (err) {
      this.counts.failed++;
      this.log.warn({ err: (err as Error).message }, 'cannot open a pooled upstream session');
      // the members there are may still serve it: wait for one rather than fail
      if (this.members.length > 0) return this.wait();
      throw err;
    } finally {
      this.opening--;
    }
    if (this.stopped) {
      await conn.close();
      throw new FleetError('UPSTREAM_UNAVAILABLE', `server "${this.server}": its session pool closed while a session opened`);
    }
    const member: Member = { conn, inFlight: 0, openedAt: Date.now(), lastUsed: Date.now(), primary: false, draining: false };
    this.members.push(member);
    this.counts.created++;
    return this.lease(member);
  }

  private wait(): Promise<Lease> {
    if (this.waiters.length >= this.settings.maxWaiters) {
      this.counts.refused++;
      return Promise.reject(
        new FleetError(
          'LIMIT_REACHED',
          `server "${this.server}": its ${this.members.length} pooled sessions are busy and ${this.waiters.length} requests wait already (servers.${this.server}.pool.maxWaiters); retry later`,
        ),
      );
    }
    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          this.counts.refused++;
          reject(
            new FleetError(
              'LIMIT_REACHED',
              `server "${this.server}": no pooled session was free within ${this.settings.acquireTimeoutMs} ms (servers.${this.server}.pool.acquireTimeoutMs); retry later`,
            ),
          );
        }, this.settings.acquireTimeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Hands freed room to the waiters, oldest first. */
  private serveWaiters(): void {
    while (this.waiters.length > 0) {
      const member = this.available();
      if (!member) return;
      const waiter = this.waiters.shift()!;
      clearTimeout(waiter.timer);
      this.counts.reused++;
      waiter.resolve(this.lease(member));
    }
  }

  /** Drops members whose connection closed (the supervised one reconnects through its supervisor). */
  private prune(): void {
    for (let i = this.members.length - 1; i >= 0; i--) if (!this.members[i].conn.isOpen) this.members.splice(i, 1);
  }

  private retire(member: Member): void {
    const i = this.members.indexOf(member);
    if (i >= 0) this.members.splice(i, 1);
    void member.conn.close();
  }

  /** Opens sessions until `min` are there (in the background; a failure is logged and tried again at the next sweep). */
  private fill(): void {
    const missing = this.settings.min - this.size - this.opening;
    for (let i = 0; i < missing; i++) {
      this.opening++;
      this.open()
        .then((conn) => {
          if (this.stopped) return void conn.close();
          this.members.push({ conn, inFlight: 0, openedAt: Date.now(), lastUsed: Date.now(), primary: false, draining: false });
          this.serveWaiters();
        })
        .catch((err: Error) => {
          this.counts.failed++;
          this.log.warn({ err: err.message }, 'cannot open a pooled upstream session');
        })
        .finally(() => this.opening--);
    }
  }

  /**
   * Pings the added members idle for a whole interval (one that answered a request lately needs no
   * ping; the supervised one has its health checks) and replaces those that do not answer. One
   * leased meanwhile drains rather than closes, so that a slow ping does not cut its request.
   */
  private async validateIdle(): Promise<void> {
    if (this.stopped || this.validating) return;
    this.validating = true;
    this.prune();
    const now = Date.now();
    const quiet = this.members.filter((m) => !m.primary && !m.draining && m.inFlight === 0 && now - m.lastUsed >= this.settings.validateIntervalMs);
    await Promise.all(
      quiet.map(async (m) => {
        try {
          await m.conn.request('ping', undefined, { timeoutMs: PING_TIMEOUT_MS }).response;
        } catch (err) {
          this.counts.failed++;
          this.log.info({ err: (err as Error).message }, 'idle pooled upstream session failed validation; closed');
          if (m.inFlight > 0) m.draining = true;
          else this.retire(m);
        }
      }),
    );
    this.validating = false;
    if (!this.stopped && this.members.some((m) => m.primary)) this.fill();
  }

  /** Idle sessions beyond `min` close; sessions past their lifetime drain; the pool fills back to `min`. */
  private sweep(): void {
    if (this.stopped) return;
    this.prune();
    const now = Date.now();
    for (const m of [...this.members]) {
      if (m.primary) continue;
      if (!m.draining && now - m.openedAt > this.settings.maxLifetimeMs) m.draining = true;
      if (m.inFlight > 0) continue;
      const idleTooLong = now - m.lastUsed > this.settings.idleTimeoutMs && this.members.length > this.settings.min;
      if (m.draining || idleTooLong) this.retire(m);
    }
    if (this.members.some((m) => m.primary)) this.fill();
  }
}
