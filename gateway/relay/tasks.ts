/**
 * The gateway's task table (MCP 2025-11-25 tasks). A task lives in the one upstream session that
 * created it, under that server's id, and belongs to the one client whose call created it. Clients
 * only ever see the gateway's own id for it: random, so ids from different upstreams never collide
 * and none can be guessed, and mapped back to (upstream session, upstream id) on the way out. A
 * lookup by another client finds nothing, exactly as for an id that never existed.
 *
 * Memory is bounded: at most `maxTasks` entries (counting creations still in flight); an entry
 * expires at its ttl (the server's, at most `maxTtlMs`; unlimited counts as `maxTtlMs`), and goes
 * earlier when the server no longer has it, when its upstream session ends, or when its client
 * leaves (and what hangs on it, its progress token, with it); a full table lets finished tasks go
 * first, oldest first. A 2026-07-28 server has no session: its task lives in the server, not in
 * the gateway's connection to it, so the task outlives a lost connection and moves to the
 * backend's next one when it reconnects (reconnected()).
 *
 * A server removed from the gateway ends its tasks at once, rather than after its drain: a task
 * outlives any drain (its ttl is minutes or hours), and nothing can reach it once its server left
 * the lists. So does a config reload that changes a server, for the tasks on the upstream
 * connections it replaced (a task lives in its upstream session; those on connections the new
 * settings kept go on). A tasks/result waiting on one is answered then, and until the task's ttl
 * its id is answered with an error naming the server and why (a small record, at most `maxTasks`
 * of them).
 */
import { randomUUID } from 'node:crypto';
import { FleetError } from '../protocol/errors';
import type { UpstreamsEnd } from '../servers/registry';
import type { UpstreamConnection } from '../upstream/connection';
import type { ClientPeer } from './clients';
import { isTerminal } from './task-messages';

/**
 * Who a task belongs to. A 2025 task belongs to its session; a 2026-07-28 request has no session,
 * so its tasks belong to its principal: every request of that principal reaches them, nobody
 * else's does. (Without auth every modern client is the anonymous principal, and their tasks are
 * guarded by their unguessable ids alone, as the spec allows where no binding is possible.)
 * Sessions never reach modern tasks, nor they a session's.
 */
const STATELESS_PREFIX = 'stateless:';

export function ownerOf(peer: ClientPeer): string {
  return peer.era === 'modern' ? `${STATELESS_PREFIX}${peer.principal.id}` : peer.id;
}

/** Whether a task's owner is a principal's stateless requests (whose task news goes to listen streams, not a session). */
export function ownedStatelessly(clientId: string): boolean {
  return clientId.startsWith(STATELESS_PREFIX);
}

export interface TaskEntry {
  /** The gateway's id, the only one its client sees. */
  readonly id: string;
  readonly clientId: string;
  /** The server (its name), the backend and the upstream connection that hold the task. */
  readonly server: string;
  readonly backend: string;
  /** For a task of a 2026-07-28 server, the backend's current connection (reconnected()). */
  conn: UpstreamConnection;
  readonly upstreamId: string;
  readonly expiresAt: number;
  /** The last status the gateway saw (creation, tasks/get, tasks/cancel, a status notification). */
  status: string;
  /** What hangs on the running task (its progress token, its question pump): released once it is terminal or gone. */
  onEnd?: () => void;
  /** What the entry keeps as long as it is in the table, ended or not (the outcome the gateway gathered): let go when it leaves. */
  onRemoved?: () => void;
}

/** What is left of a task that ended with its upstream: enough to tell its client why it is gone. */
interface EndedTask {
  readonly clientId: string;
  readonly server: string;
  readonly cause: UpstreamsEnd;
  readonly expiresAt: number;
}

export interface TaskLimits {
  maxTasks: number;
  maxTtlMs: number;
}

export interface NewTask {
  clientId: string;
  server: string;
  backend: string;
  conn: UpstreamConnection;
  /** The Task object the server answered with (its taskId, status, ttl or the extension's ttlMs). */
  task: Record<string, unknown> & { taskId: string };
}

export class TaskTable {
  /** In creation order, which is the order clients list them in. */
  private readonly byId = new Map<string, TaskEntry>();
  private readonly byUpstream = new Map<UpstreamConnection, Map<string, TaskEntry>>();
  /** Tasks that ended with their upstream, by the gateway's id, oldest first. */
  private readonly ended = new Map<string, EndedTask>();
  /** The requests waiting on a task (a tasks/result): each is told at once when the task ends with its upstream. */
  private readonly waiters = new Map<TaskEntry, Set<(err: FleetError) => void>>();
  private creating = 0;

  constructor(
    readonly limits: TaskLimits,
    private readonly now: () => number = Date.now,
    private readonly newId: () => string = randomUUID,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  /**
   * Room for one task a call is about to create; false when the table is full even after expired
   * entries, and then the oldest finished ones, made way. Each true is followed by one `settled()`.
   */
  reserve(): boolean {
    if (this.byId.size + this.creating >= this.limits.maxTasks) this.sweep();
    for (const entry of this.byId.values()) {
      if (this.byId.size + this.creating < this.limits.maxTasks) break;
      if (isTerminal(entry.status)) this.remove(entry);
    }
    if (this.byId.size + this.creating >= this.limits.maxTasks) return false;
    this.creating++;
    return true;
  }

  /** The reserved call was answered (with a task or without). */
  settled(): void {
    this.creating = Math.max(0, this.creating - 1);
  }

  add(created: NewTask): TaskEntry {
    // a 2025 Task's ttl, the extension's ttlMs (null or absent: unlimited, which counts as maxTtlMs)
    const given = created.task.ttl ?? created.task.ttlMs;
    const ttl = typeof given === 'number' && given >= 0 ? Math.min(given, this.limits.maxTtlMs) : this.limits.maxTtlMs;
    const entry: TaskEntry = {
      id: this.newId(),
      clientId: created.clientId,
      server: created.server,
      backend: created.backend,
      conn: created.conn,
      upstreamId: created.task.taskId,
      expiresAt: this.now() + ttl,
      status: typeof created.task.status === 'string' ? created.task.status : 'working',
    };
    this.byId.set(entry.id, entry);
    this.index(entry);
    return entry;
  }

  /**
   * A backend of a 2026-07-28 server connected again: its tasks go on, on the new connection (the
   * server holds them; the lost connection was only the gateway's way to it). Returns how many moved.
   */
  reconnected(server: string, backend: string, conn: UpstreamConnection): number {
    let moved = 0;
    for (const entry of this.byId.values()) {
      if (entry.server !== server || entry.backend !== backend || entry.conn === conn || !stateless(entry.conn)) continue;
      this.unindex(entry);
      entry.conn = conn;
      this.index(entry);
      moved++;
    }
    return moved;
  }

  private index(entry: TaskEntry): void {
    let ofConn = this.byUpstream.get(entry.conn);
    if (!ofConn) this.byUpstream.set(entry.conn, (ofConn = new Map()));
    ofConn.set(entry.upstreamId, entry);
  }

  private unindex(entry: TaskEntry): void {
    const ofConn = this.byUpstream.get(entry.conn);
    ofConn?.delete(entry.upstreamId);
    if (ofConn?.size === 0) this.byUpstream.delete(entry.conn);
  }

  /** The live task `id` names for `clientId`; undefined for an unknown, expired or another client's id. */
  owned(id: unknown, clientId: string): TaskEntry | undefined {
    if (typeof id !== 'string') return undefined;
    const entry = this.live(this.byId.get(id));
    return entry?.clientId === clientId ? entry : undefined;
  }

  /** The live task an upstream session knows as `upstreamId`. */
  upstream(conn: UpstreamConnection, upstreamId: unknown): TaskEntry | undefined {
    if (typeof upstreamId !== 'string') return undefined;
    return this.live(this.byUpstream.get(conn)?.get(upstreamId));
  }

  /** How long until the entry expires. */
  remainingMs(entry: TaskEntry): number {
    return Math.max(0, entry.expiresAt - this.now());
  }

  /** A client's live tasks, oldest first. */
  ofClient(clientId: string): TaskEntry[] {
    const out: TaskEntry[] = [];
    for (const entry of [...this.byId.values()]) if (entry.clientId === clientId && this.live(entry)) out.push(entry);
    return out;
  }

  remove(entry: TaskEntry): void {
    if (this.byId.get(entry.id) !== entry) return;
    this.byId.delete(entry.id);
    this.unindex(entry);
    this.release(entry);
    const removed = entry.onRemoved;
    entry.onRemoved = undefined;
    removed?.();
  }

  /** The task's status as the server last told it; a terminal one releases what hung on the running task. */
  setStatus(entry: TaskEntry, status: string): void {
    entry.status = status;
    if (isTerminal(status)) this.release(entry);
  }

  private release(entry: TaskEntry): void {
    const end = entry.onEnd;
    entry.onEnd = undefined;
    end?.();
  }

  /** The client left: nobody can reach its tasks any more. */
  dropClient(clientId: string): void {
    for (const entry of [...this.byId.values()]) if (entry.clientId === clientId) this.remove(entry);
    for (const [id, ended] of this.ended) if (ended.clientId === clientId) this.ended.delete(id);
  }

  /**
   * The server's upstream connections ended (`cause`), all but those `survives` names: the tasks
   * in the others end now, and the requests waiting on them are answered with why. Returns how many ended.
   */
  endServer(server: string, cause: UpstreamsEnd = 'removed', survives: (conn: UpstreamConnection) => boolean = () => false): number {
    let count = 0;
    for (const entry of [...this.byId.values()]) {
      if (entry.server !== server || survives(entry.conn)) continue;
      count++;
      this.remove(entry);
      this.ended.set(entry.id, { clientId: entry.clientId, server, cause, expiresAt: entry.expiresAt });
      const error = endedError(entry.id, server, cause);
      for (const tell of this.waiters.get(entry) ?? []) tell(error);
      this.waiters.delete(entry);
    }
    // the oldest records make way, so that a burst of removals holds no more than a full table
    for (const id of this.ended.keys()) {
      if (this.ended.size <= this.limits.maxTasks) break;
      this.ended.delete(id);
    }
    return count;
  }

  /** Why `id` is gone for `clientId`, when it was a task that ended with its upstream and its ttl has not passed. */
  whyEnded(id: unknown, clientId: string): FleetError | undefined {
    if (typeof id !== 'string') return undefined;
    const ended = this.ended.get(id);
    if (!ended || ended.clientId !== clientId) return undefined;
    if (ended.expiresAt > this.now()) return endedError(id, ended.server, ended.cause);
    this.ended.delete(id);
    return undefined;
  }

  /** Settles as `work` does, or, if the task ends with its upstream first, rejects at once saying so (`work`'s late outcome is dropped). */
  async untilEnded<T>(entry: TaskEntry, work: Promise<T>): Promise<T> {
    let tell!: (err: FleetError) => void;
    const ended = new Promise<never>((_, reject) => (tell = reject));
    const waiting = this.waiters.get(entry) ?? new Set();
    this.waiters.set(entry, waiting.add(tell));
    try {
      return await Promise.race([work, ended]);
    } finally {
      work.catch(() => {});
      waiting.delete(tell);
      if (waiting.size === 0 && this.waiters.get(entry) === waiting) this.waiters.delete(entry);
    }
  }

  /** Removes every expired entry, and those whose upstream session ended (a 2026-07-28 server's tasks wait for its next connection). */
  sweep(): void {
    for (const entry of [...this.byId.values()]) this.live(entry);
    for (const [id, ended] of this.ended) if (ended.expiresAt <= this.now()) this.ended.delete(id);
  }

  private live(entry: TaskEntry | undefined): TaskEntry | undefined {
    if (!entry) return undefined;
    if (entry.expiresAt > this.now() && (entry.conn.isOpen || stateless(entry.conn))) return entry;
    this.remove(entry);
    return undefined;
  }
}

/** A connection to a 2026-07-28 server: the server, not the connection, holds its tasks. */
function stateless(conn: UpstreamConnection): boolean {
  return conn.era === 'modern';
}

/** The spec's "task not found" (-32602), saying why: its server was removed, or a reload replaced its connection. */
function endedError(taskId: string, server: string, cause: UpstreamsEnd): FleetError {
  const why =
    cause === 'removed'
      ? `server "${server}", which ran it, was removed from the gateway`
      : `a config reload replaced the upstream connection of server "${server}", which ran it (the task lived in that connection's session)`;
  return new FleetError('UNKNOWN_TASK', `Task not found: ${why}`, { data: { taskId, server, cause } });
}
