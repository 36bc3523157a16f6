/**
 * A cap on how many of something may exist at once, counted per key: sessions in total (one key),
 * connections per front (the front's name), a per-session server's upstreams (the server's name);
 * a cap per principal is one more instance keyed by principal id. Taking a slot beyond the cap
 * throws LIMIT_REACHED naming what is full and the setting that bounds it.
 */
import { FleetError } from './errors';

export class KeyedCap {
  private readonly counts = new Map<string, number>();

  /** `what`: the things counted, for the refusal ("client sessions"); `setting`: the config key that sets `limit`. */
  constructor(
    private readonly limit: number | ((key: string) => number),
    private readonly what: (key: string) => string,
    private readonly setting: (key: string) => string,
  ) {}

  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** Takes one slot of `key`, or throws LIMIT_REACHED; the function it returns gives the slot back (once). */
  take(key: string): () => void {
    const limit = typeof this.limit === 'number' ? this.limit : this.limit(key);
    const n = this.count(key);
    if (n >= limit) throw new FleetError('LIMIT_REACHED', `too many ${this.what(key)}: the limit is ${limit} (${this.setting(key)}); try again later`);
    this.counts.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.count(key) - 1;
      if (left > 0) this.counts.set(key, left);
      else this.counts.delete(key);
    };
  }
}
