/**
 * Per-server concurrency limits (`servers.X.limits.maxConcurrent`): at most that many requests in
 * flight to a server at once, all its backends and tenants together. One more waits in a FIFO
 * queue of at most `maxQueued` for at most `queueTimeoutMs`; past either it is refused at once with
 * LIMIT_REACHED naming the setting, so shedding load never costs unbounded memory. A request
 * cancelled while it waits leaves the queue.
 */
import type { ServerConfig } from '../config/schema';
import { FleetError } from '../protocol/errors';
import type { Cancellation } from './context';

type GateLimits = ServerConfig['limits'];

/** Gives the slot back (once). */
export type Release = () => void;

/** Why a request was refused, as the metric's `limit` label says it. */
export type GateRefusal = 'maxQueued' | 'queueTimeoutMs';

interface Waiter {
  admit(release: Release): void;
}

export class ConcurrencyGate {
  private active = 0;
  /** Waiting requests, oldest first; a Set so that one that times out or is cancelled leaves in O(1). */
  private readonly waiting = new Set<Waiter>();

  constructor(
    readonly server: string,
    private limits: GateLimits,
  ) {}

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.size;
  }

  /** A slot now (its release), a promise of one once it is this request's turn, or a LIMIT_REACHED refusal. */
  enter(cancellation: Cancellation): Release | Promise<Release> {
    if (this.active < (this.limits.maxConcurrent ?? Infinity)) return this.slot();
    const { maxConcurrent, maxQueued, queueTimeoutMs } = this.limits;
    if (this.waiting.size >= maxQueued) {
      throw busy(
        this.server,
        'maxQueued',
        `${this.active} request(s) in flight (limits.maxConcurrent ${maxConcurrent}) and ${this.waiting.size} waiting (limits.maxQueued ${maxQueued})`,
      );
    }
    return new Promise<Release>((resolve, reject) => {
      const leave = (error: FleetError) => {
        this.waiting.delete(waiter);
        clearTimeout(timer);
        cancellation.whenCancelled(undefined);
        reject(error);
      };
      const waiter: Waiter = {
        admit: (release) => {
          clearTimeout(timer);
          cancellation.whenCancelled(undefined);
          resolve(release);
        },
      };
      const timer = setTimeout(
        () =>
          leave(busy(this.server, 'queueTimeoutMs', `the request waited ${queueTimeoutMs} ms for one of its ${maxConcurrent} slot(s) (limits.queueTimeoutMs)`)),
        queueTimeoutMs,
      );
      this.waiting.add(waiter);
      cancellation.whenCancelled(() => leave(new FleetError('CANCELLED', `the request was cancelled while it waited for server "${this.server}"`)));
    });
  }

  /** The server's limits changed (its config was replaced): the queue moves on under the new ones. */
  update(limits: GateLimits): void {
    if (limits === this.limits) return;
    this.limits = limits;
    this.admitWaiting();
  }

  private slot(): Release {
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.admitWaiting();
    };
  }

  private admitWaiting(): void {
    for (const waiter of this.waiting) {
      if (this.active >= (this.limits.maxConcurrent ?? Infinity)) return;
      this.waiting.delete(waiter);
      waiter.admit(this.slot());
    }
  }
}

/** One gate per server with a `maxConcurrent`, made on its first request. */
export class ConcurrencyGates {
  private readonly gates = new Map<string, ConcurrencyGate>();

  /** The gate of `server` under these limits; undefined when it has none (and never had one). */
  for(server: string, limits: GateLimits): ConcurrencyGate | undefined {
    let gate = this.gates.get(server);
    if (!gate) {
      if (limits.maxConcurrent === undefined) return undefined;
      gate = new ConcurrencyGate(server, limits);
      this.gates.set(server, gate);
    } else {
      gate.update(limits);
    }
    return gate;
  }

  /** Requests in flight and waiting, per server with a gate (the metrics' gauges). */
  status(): { server: string; inFlight: number; queued: number }[] {
    return [...this.gates.values()].map((g) => ({ server: g.server, inFlight: g.inFlight, queued: g.queued }));
  }
}

function busy(server: string, limit: GateRefusal, why: string): FleetError {
  return new FleetError('LIMIT_REACHED', `server "${server}" is busy: ${why}; try again later`, { data: { server, limit } });
}
