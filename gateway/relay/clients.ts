/**
 * The clients the relay serves, as it sees them. Whatever front a client came through, it is a
 * peer: an id, what it declared at initialize, and a way to send it notifications and the servers'
 * requests. Sessions attach their peer here once initialized; the relay keeps its own per-client
 * state beside it (log level, subscriptions) and never reaches into a session.
 */
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal';
import type { Era } from '../protocol/eras';
import type { JsonRpcRequest, JsonRpcResponse, RequestId } from '../protocol/jsonrpc';
import type { UpstreamConnection } from '../upstream/connection';
import type { SubjectToken } from '../upstream/token-exchange';
import type { LogLevel } from './log-levels';

export interface ClientPeer {
  readonly id: string;
  /**
   * legacy: a session (2025-11-25 and before), which hears list changes and the servers' requests;
   * modern: one stateless request (2026-07-28), which hears only what relates to it, and gets the
   * servers' questions as an input_required result.
   */
  readonly era: Era;
  /** Who the client is, as authentication found it (the anonymous principal without auth). */
  readonly principal: Principal;
  /**
   * The access token the client authenticated with (a session: the latest one it presented), for
   * upstreams that exchange it (token exchange); undefined when it has none.
   */
  subjectToken(): SubjectToken | undefined;
  /** What the client declared at initialize. */
  readonly capabilities: Record<string, unknown>;
  readonly clientInfo: Record<string, unknown>;
  readonly protocolVersion: string;
  /** Initialized and answered: notifications may go to it now. */
  readonly operating: boolean;
  readonly log: Logger;
  notify(method: string, params?: Record<string, unknown>, relatedRequestId?: RequestId): void;
  /** Carries a server's request to the client; resolves with the client's answer (or an error response). */
  ask(request: JsonRpcRequest, relatedRequestId: RequestId | undefined, timeoutMs: number, from: UpstreamConnection): Promise<JsonRpcResponse>;
  /** The server withdrew a request it had sent the client through the gateway; false if it was not this client's. */
  withdraw(from: UpstreamConnection, upstreamId: RequestId, reason: unknown): boolean;
}

/** A peer with the relay's state about it. */
export interface AttachedClient {
  readonly peer: ClientPeer;
  logLevel: LogLevel | undefined;
  /** URIs it subscribed to, so resource updates reach only subscribers. */
  readonly subscriptions: Set<string>;
  /** Lets go of its principal's upstreams (per-principal servers), which a session holds while attached. */
  releaseTenant?: () => void;
}

export class ClientDirectory {
  private readonly clients = new Map<string, AttachedClient>();

  add(peer: ClientPeer): AttachedClient {
    const attached: AttachedClient = { peer, logLevel: undefined, subscriptions: new Set() };
    this.clients.set(peer.id, attached);
    return attached;
  }

  remove(id: string): AttachedClient | undefined {
    const attached = this.clients.get(id);
    this.clients.delete(id);
    return attached;
  }

  get(id: string): AttachedClient | undefined {
    return this.clients.get(id);
  }

  /**
   * The sessions that hear the fleet's notifications: legacy ones that finished their handshake by
   * default (notifications never precede initialize's answer); modern requests hear only their own.
   */
  all(operatingOnly = true): AttachedClient[] {
    const out: AttachedClient[] = [];
    for (const c of this.clients.values()) if (c.peer.era === 'legacy' && (!operatingOnly || c.peer.operating)) out.push(c);
    return out;
  }
}
