/**
 * 2025 sessions as replicas share them: what initialize settled (the principal that opened the
 * session, the protocol version, the client's info and capabilities), kept in the shared store
 * under a hash of the session id (the id itself never leaves the gateway) for as long as the
 * session may stay idle. A replica that gets a request for a session it does not hold resumes it
 * from its record; a session ended by its client or by idleness takes its record with it, one
 * closed by a replica's shutdown leaves it for another replica to resume.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { asObject } from '../protocol/objects';
import type { SharedStore } from './shared-store';

export interface SessionRecord {
  /** The principal that opened the session: only it may resume it. */
  principal: string;
  protocolVersion: string;
  clientInfo: Record<string, unknown>;
  capabilities: Record<string, unknown>;
}

const keyOf = (sessionId: string) => `session:${createHash('sha256').update(sessionId).digest('base64url')}`;

export class SessionRecords {
  /** When each held session's expiry was last pushed back; only sessions of this replica are here. */
  private readonly refreshed = new Map<string, number>();

  constructor(
    private readonly store: SharedStore,
    /** A record lives this long after the session's last use (the idle timeout of sessions). */
    private readonly ttlMs: number,
    private readonly log: Logger,
  ) {}

  /** Keeps the record of a session that finished its handshake; never rejects: a failure is logged (the session still works here). */
  save(sessionId: string, record: SessionRecord): Promise<void> {
    this.refreshed.set(sessionId, Date.now());
    return this.store.set(keyOf(sessionId), JSON.stringify(record), this.ttlMs).catch((err: Error) => this.failed('save', err));
  }

  /** The record of a session another replica opened; undefined when there is none. Throws STORE_UNAVAILABLE. */
  async load(sessionId: string): Promise<SessionRecord | undefined> {
    const text = await this.store.get(keyOf(sessionId));
    if (text === undefined) return undefined;
    const record = parseRecord(text);
    if (!record) this.log.warn('a session record in the shared store is malformed; the session cannot be resumed');
    else this.refreshed.set(sessionId, Date.now());
    return record;
  }

  /** The session was used: its record's expiry moves on, at most every quarter of the ttl (one write, not one per request). */
  used(sessionId: string): void {
    const last = this.refreshed.get(sessionId);
    if (last === undefined || Date.now() - last < this.ttlMs / 4) return;
    this.refreshed.set(sessionId, Date.now());
    this.store.expire(keyOf(sessionId), this.ttlMs).catch((err: Error) => this.failed('refresh', err));
  }

  /** The session ended for good (DELETE, idle): no replica may resume it. */
  forget(sessionId: string): void {
    this.refreshed.delete(sessionId);
    this.store.delete(keyOf(sessionId)).catch((err: Error) => this.failed('delete', err));
  }

  /** This replica let go of the session (shutdown): the record stays for another one. */
  release(sessionId: string): void {
    this.refreshed.delete(sessionId);
  }

  private failed(what: string, err: Error): void {
    this.log.warn({ err: err.message }, `cannot ${what} a session record in the shared store`);
  }
}

function parseRecord(text: string): SessionRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const o = asObject(value);
  const clientInfo = asObject(o?.clientInfo);
  const capabilities = asObject(o?.capabilities);
  if (typeof o?.principal !== 'string' || typeof o.protocolVersion !== 'string' || !clientInfo || !capabilities) return undefined;
  return { principal: o.principal, protocolVersion: o.protocolVersion, clientInfo, capabilities };
}
