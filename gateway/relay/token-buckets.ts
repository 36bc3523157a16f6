/**
 * Token buckets, behind the small store interface the rate limits take: this in-memory store
 * serves one gateway process; counters shared by gateway replicas would be another store (Redis,
 * say) with the same two calls, which may then answer asynchronously.
 *
 * The in-memory store holds at most `maxBuckets`. A full bucket lets through exactly what no bucket
 * would, so a bucket that has refilled is dropped rather than kept: each take looks at the two
 * least recently used and drops those that are full by now, and at the cap the least recently used
 * goes. Every call is O(1) and memory is bounded however many principals (or URIs) come.
 */

/** A bucket's refill rate (tokens per millisecond) and size (its burst). */
export interface BucketLimit {
  readonly ratePerMs: number;
  readonly burst: number;
}

export interface BucketStore {
  /** Takes one token from bucket `key`: 0 when it had one, else how many ms until it will (nothing is taken then). */
  take(key: string, limit: BucketLimit): number | Promise<number>;
  /** Returns a token taken for a request that another bucket then refused. */
  giveBack(key: string, limit: BucketLimit): void | Promise<void>;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was computed. */
  at: number;
  /** When it will be full again if nobody takes from it. */
  fullAt: number;
}

/** How many of the least recently used buckets each take looks at for full ones to drop. */
const SWEEP_PER_TAKE = 2;

export class MemoryBuckets implements BucketStore {
  /** In order of last use, oldest first (a Map keeps insertion order; a use re-inserts). */
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly maxBuckets: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Buckets held now (full ones are not). */
  get size(): number {
    return this.buckets.size;
  }

  take(key: string, limit: BucketLimit): number {
    const now = this.now();
    this.dropFull(now);
    const bucket = this.current(key, limit, now);
    if (bucket.tokens < 1) {
      this.keep(key, bucket, limit);
      return Math.ceil((1 - bucket.tokens) / limit.ratePerMs);
    }
    bucket.tokens -= 1;
    this.keep(key, bucket, limit);
    return 0;
  }

  giveBack(key: string, limit: BucketLimit): void {
    const bucket = this.current(key, limit, this.now());
    bucket.tokens = Math.min(limit.burst, bucket.tokens + 1);
    this.keep(key, bucket, limit);
  }

  /** The bucket refilled up to now, taken out of the map (keep() puts it back as the most recent). */
  private current(key: string, limit: BucketLimit, now: number): Bucket {
    const bucket = this.buckets.get(key);
    if (!bucket) return { tokens: limit.burst, at: now, fullAt: now };
    this.buckets.delete(key);
    bucket.tokens = Math.min(limit.burst, bucket.tokens + (now - bucket.at) * limit.ratePerMs);
    bucket.at = now;
    return bucket;
  }

  private keep(key: string, bucket: Bucket, limit: BucketLimit): void {
    if (bucket.tokens >= limit.burst) return;
    bucket.fullAt = bucket.at + (limit.burst - bucket.tokens) / limit.ratePerMs;
    if (this.buckets.size >= this.maxBuckets) this.buckets.delete(this.buckets.keys().next().value!);
    this.buckets.set(key, bucket);
  }

  private dropFull(now: number): void {
    let looked = 0;
    for (const [key, bucket] of this.buckets) {
      if (looked++ === SWEEP_PER_TAKE || bucket.fullAt > now) return;
      this.buckets.delete(key);
    }
  }
}
