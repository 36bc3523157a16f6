/**
 * Token buckets, behind the small store interface the rate limits take: this in-memory store
 * serves one gateway process; counters shared by gateway replicas would be another store (Redis,
 * say) with the same two calls, which may then answer asynchronously.
 *
 * The in-memory store holds at most `maxBuckets`. A full bucket lets through exactly what no bucket
 * would, so a bucket that has refilled is dropped rather than kept: each take looks at the two
 * least recently used and drops those that are full by now, and at the cap the least recently used
 * goes. Every call is O(1) (a Map by key, a linked list by use) and memory is bounded however many
 * principals (or URIs) come.
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
  readonly key: string;
  tokens: number;
  /** When `tokens` was computed. */
  at: number;
  /** When it will be full again if nobody takes from it. */
  fullAt: number;
  /** The use order, oldest first: a list of its own, since a Map whose oldest entries are deleted again and again is slow to iterate from the start (V8 skips the holes they leave). */
  older: Bucket | undefined;
  newer: Bucket | undefined;
}

/** How many of the least recently used buckets each take looks at for full ones to drop. */
const SWEEP_PER_TAKE = 2;

export class MemoryBuckets implements BucketStore {
  private readonly buckets = new Map<string, Bucket>();
  private oldest: Bucket | undefined;
  private newest: Bucket | undefined;

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
      this.keep(bucket, limit);
      return Math.ceil((1 - bucket.tokens) / limit.ratePerMs);
    }
    bucket.tokens -= 1;
    this.keep(bucket, limit);
    return 0;
  }

  giveBack(key: string, limit: BucketLimit): void {
    const bucket = this.current(key, limit, this.now());
    bucket.tokens = Math.min(limit.burst, bucket.tokens + 1);
    this.keep(bucket, limit);
  }

  /** The bucket refilled up to now, out of the use order (keep() puts it back as the newest), or a new full one. */
  private current(key: string, limit: BucketLimit, now: number): Bucket {
    const bucket = this.buckets.get(key);
    if (!bucket) return { key, tokens: limit.burst, at: now, fullAt: now, older: undefined, newer: undefined };
    this.unlink(bucket);
    bucket.tokens = Math.min(limit.burst, bucket.tokens + (now - bucket.at) * limit.ratePerMs);
    bucket.at = now;
    return bucket;
  }

  /** Keeps a bucket that is not full as the most recently used (a full one is the same as none). */
  private keep(bucket: Bucket, limit: BucketLimit): void {
    if (bucket.tokens >= limit.burst) {
      this.buckets.delete(bucket.key);
      return;
    }
    bucket.fullAt = bucket.at + (limit.burst - bucket.tokens) / limit.ratePerMs;
    if (!this.buckets.has(bucket.key)) {
      if (this.buckets.size >= this.maxBuckets) this.drop(this.oldest!);
      this.buckets.set(bucket.key, bucket);
    }
    bucket.older = this.newest;
    if (this.newest) this.newest.newer = bucket;
    else this.oldest = bucket;
    this.newest = bucket;
  }

  private dropFull(now: number): void {
    for (let i = 0; i < SWEEP_PER_TAKE && this.oldest && this.oldest.fullAt <= now; i++) this.drop(this.oldest);
  }

  private drop(bucket: Bucket): void {
    this.unlink(bucket);
    this.buckets.delete(bucket.key);
  }

  private unlink(bucket: Bucket): void {
    if (bucket.older) bucket.older.newer = bucket.newer;
    else if (this.oldest === bucket) this.oldest = bucket.newer;
    if (bucket.newer) bucket.newer.older = bucket.older;
    else if (this.newest === bucket) this.newest = bucket.older;
    bucket.older = bucket.newer = undefined;
  }
}
