/**
 * The balancing choices beside plain smooth weighted round-robin (picker.ts), as pure functions
 * over the candidates a group found able to serve (`servers.X.balancing`): the least loaded for
 * their weight, and the one a session key hashes to. Weight 0 candidates are never chosen here
 * (the group's weight-0 fallback stays its own).
 */
import type { Weighted } from './picker';

export interface Loaded extends Weighted {
  /** Requests in flight on it now. */
  readonly outstanding: number;
}

/**
 * The candidates that would carry the least load for their weight with one more request,
 * ((outstanding + 1) / weight): all of them while the fleet is idle, so that round-robin by weight
 * among them spreads the traffic as `weighted` does.
 */
export function leastLoaded<T extends Loaded>(candidates: readonly T[]): T[] {
  let best = Infinity;
  let out: T[] = [];
  for (const c of candidates) {
    if (c.weight <= 0) continue;
    const load = (c.outstanding + 1) / c.weight;
    if (load < best) {
      best = load;
      out = [c];
    } else if (load === best) out.push(c);
  }
  return out;
}

/**
 * Weighted rendezvous (highest random weight) hashing: the candidate `key` belongs to. The same key
 * gets the same candidate as long as that one is offered; when a candidate leaves, only its keys
 * move, and a heavier candidate gets a proportionally larger share of keys.
 */
export function rendezvous<T extends Weighted>(candidates: readonly T[], key: string): T | undefined {
  let best: T | undefined;
  let bestScore = -Infinity;
  for (const c of candidates) {
    if (c.weight <= 0) continue;
    const unit = (hash32(`${key}\u0000${c.id}`) + 0.5) / 2 ** 32; // in (0, 1)
    const score = -c.weight / Math.log(unit);
    if (score > bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}

/** FNV-1a over UTF-16 code units, then murmur3's finalizer so that similar keys spread evenly. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
