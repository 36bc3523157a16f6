/**
 * The last refusals of the door and the limits, for the status page and GET /admin/refusals: a
 * fixed-size ring, so a flood of refused requests costs the same memory as a quiet hour. It holds
 * what the metrics' labels hold (a reason, a rule and a server name), never a principal or a key.
 */
export interface Refusal {
  /** ISO time. */
  at: string;
  /** `auth`: the door refused a client; `limit`: a rate-limit rule or a concurrency queue. */
  kind: 'auth' | 'limit';
  /** auth: missing, invalid_request, invalid_token, insufficient_scope; limit: the rule's name. */
  reason: string;
  server?: string;
}

export const RECENT_REFUSALS = 100;

export class RecentRefusals {
  private readonly ring: Refusal[] = [];
  private next = 0;

  constructor(private readonly capacity = RECENT_REFUSALS) {}

  add(refusal: Omit<Refusal, 'at'>): void {
    const entry = { at: new Date().toISOString(), ...refusal };
    if (this.ring.length < this.capacity) this.ring.push(entry);
    else this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Newest first. */
  list(): Refusal[] {
    return [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)].reverse();
  }
}
