/**
 * Slows down guessing: after `limit` failed authentications from one address within a window,
 * that address is refused (429) until the window ends. Bounded: it tracks at most `maxAddresses`
 * addresses, forgetting the oldest window first, so a flood from many addresses costs memory of
 * a fixed size.
 */
import { FleetError } from '../protocol/errors';

export class FailureThrottle {
  private readonly windows = new Map<string, { start: number; failures: number }>();

  constructor(
    private readonly limit = 10,
    private readonly windowMs = 60_000,
    private readonly maxAddresses = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws RATE_LIMITED while `address` has failed too often. */
  check(address: string): void {
    const w = this.current(address);
    if (w && w.failures >= this.limit) {
      const retryAfterMs = w.start + this.windowMs - this.now();
      throw new FleetError('RATE_LIMITED', `too many failed authentications from this address; try again in ${Math.ceil(retryAfterMs / 1000)} s`, {
        data: { retryAfterMs },
      });
    }
  }

  failed(address: string): void {
    const w = this.current(address) ?? { start: this.now(), failures: 0 };
    w.failures++;
    this.windows.delete(address);
    if (this.windows.size >= this.maxAddresses) this.windows.delete(this.windows.keys().next().value!);
    this.windows.set(address, w);
  }

  private current(address: string): { start: number; failures: number } | undefined {
    const w = this.windows.get(address);
    if (w && w.start + this.windowMs <= this.now()) {
      this.windows.delete(address);
      return undefined;
    }
    return w;
  }
}
