/**
 * Heap snapshots and CPU profiles of the running gateway, for the admin API (role admin:debug: a
 * heap snapshot holds everything in memory, credentials included). One at a time: each stalls the
 * event loop (a snapshot while V8 writes it, a profile only slightly) and a second would only add
 * to that. The formats are V8's own, which Chrome DevTools reads.
 */
import { Session } from 'node:inspector/promises';
import type { Readable } from 'node:stream';
import { getHeapSnapshot } from 'node:v8';
import { FleetError } from '../protocol/errors';

export class Profiler {
  private busy: string | undefined;

  /** A heap snapshot as a stream of its JSON; the profiler is busy until the stream ends or is dropped. */
  heapSnapshot(): Readable {
    this.take('a heap snapshot');
    const stream = getHeapSnapshot();
    stream.once('close', () => (this.busy = undefined));
    return stream;
  }

  /** Samples the CPU for `seconds`, then returns the profile (`.cpuprofile` JSON). */
  async cpuProfile(seconds: number): Promise<object> {
    this.take('a CPU profile');
    const session = new Session();
    try {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      const { profile } = await session.post('Profiler.stop');
      return profile;
    } finally {
      session.disconnect();
      this.busy = undefined;
    }
  }

  private take(what: string): void {
    if (this.busy) throw new FleetError('CONFLICT', `${this.busy} is being taken; ask again once it is done`);
    this.busy = what;
  }
}
