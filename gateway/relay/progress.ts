/**
 * Progress tokens, remapped. A client's token is only unique within its session, and shared
 * upstreams serve many sessions, so each forwarded token is swapped for a gateway-wide one and
 * progress notifications are mapped back to the client and token they belong to.
 */
import type { RequestId } from '../protocol/jsonrpc';
import type { UpstreamConnection } from '../upstream/connection';
import type { ClientPeer } from './clients';

interface Entry {
  peer: ClientPeer;
  clientToken: string | number;
  clientRequestId: RequestId;
  conn?: UpstreamConnection;
  upstreamId?: number;
  /** The client heard progress under it. */
  delivered?: boolean;
}

export class ProgressRouter {
  private readonly entries = new Map<string, Entry>();
  private next = 1;

  register(peer: ClientPeer, clientToken: string | number, clientRequestId: RequestId): string {
    const token = `fleet-progress-${this.next++}`;
    this.entries.set(token, { peer, clientToken, clientRequestId });
    return token;
  }

  bind(token: string, conn: UpstreamConnection, upstreamId: number): void {
    const e = this.entries.get(token);
    if (e) Object.assign(e, { conn, upstreamId });
  }

  release(token: string): void {
    this.entries.delete(token);
  }

  /** Whether any progress under `token` reached its client (a request it belongs to is then answered in part). */
  delivered(token: string): boolean {
    return this.entries.get(token)?.delivered === true;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Delivers an upstream progress notification to its client; false when the token is unknown. */
  deliver(params: Record<string, unknown>, from: UpstreamConnection): boolean {
    const e = this.entries.get(String(params.progressToken));
    if (!e || e.conn !== from) return false;
    if (e.upstreamId !== undefined) from.touch(e.upstreamId);
    e.delivered = true;
    e.peer.notify('notifications/progress', { ...params, progressToken: e.clientToken }, e.clientRequestId);
    return true;
  }
}
