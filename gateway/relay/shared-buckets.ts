/**
 * Rate-limit buckets shared by the gateway replicas (a Redis bucket store), with the replica's own
 * buckets as the fallback: while the shared store cannot answer, each replica limits on its own
 * (the rules still hold per replica, and no request waits for, or fails on, a store that may not
 * come back). Each outage is logged once, when it starts and when it ends.
 */
import type { Logger } from 'pino';
import { MemoryBuckets, type BucketLimit, type BucketStore } from './token-buckets';

export interface RemoteBuckets {
  take(key: string, limit: BucketLimit): Promise<number>;
  giveBack(key: string, limit: BucketLimit): Promise<void>;
}

export class SharedBuckets implements BucketStore {
  private readonly local: MemoryBuckets;
  private down = false;

  constructor(
    private readonly remote: RemoteBuckets,
    maxLocalBuckets: number,
    private readonly log: Logger,
  ) {
    this.local = new MemoryBuckets(maxLocalBuckets);
  }

  async take(key: string, limit: BucketLimit): Promise<number> {
    try {
      const wait = await this.remote.take(key, limit);
      this.recovered();
      return wait;
    } catch (err) {
      this.failed(err as Error);
      return this.local.take(key, limit);
    }
  }

  async giveBack(key: string, limit: BucketLimit): Promise<void> {
    try {
      await this.remote.giveBack(key, limit);
    } catch (err) {
      this.failed(err as Error);
      this.local.giveBack(key, limit);
    }
  }

  private failed(err: Error): void {
    if (!this.down) this.log.warn({ err: err.message }, 'shared rate limits unavailable: this replica limits on its own until the store is back');
    this.down = true;
  }

  private recovered(): void {
    if (this.down) this.log.info('shared rate limits back');
    this.down = false;
  }
}
