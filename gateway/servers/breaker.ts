/**
 * One backend's circuit breaker (`servers.X.breaker`), cockatiel's CircuitBreakerPolicy underneath:
 * it counts upstream faults only (the gateway gave up on the request: transport lost, server gone,
 * timed out), so a tool's isError result or a JSON-RPC error that a live server answered never
 * opens it. Balancing asks `admits` before it picks the backend: closed admits, open does not until
 * `halfOpenAfterMs` passed, and then admits exactly the one request that probes it (half-open
 * admits no other until the probe decided).
 */
import {
  BrokenCircuitError,
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  IsolatedCircuitError,
  SamplingBreaker,
  circuitBreaker,
  handleWhen,
} from 'cockatiel';
import type { BreakerSettings } from '../config/resilience-schema';
import { FleetError } from '../protocol/errors';

export type BreakerState = 'closed' | 'open' | 'half-open';

export const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open'];

/** The breaker as the admin API, readiness and the metrics report it. */
export interface BreakerReport {
  state: BreakerState;
  /** Times it opened since the backend was made. */
  opened: number;
  /** While open: how long until a request may probe the backend. */
  retryAfterMs?: number;
  /** What opened it last. */
  lastFault?: string;
}

/** The gateway gave up on the request because of its upstream: the faults a breaker counts (and a retry may route around). */
export function isUpstreamFault(err: unknown): boolean {
  return err instanceof FleetError && (err.code === 'UPSTREAM_UNAVAILABLE' || err.code === 'UPSTREAM_TIMEOUT');
}

export class BackendBreaker {
  private readonly policy: CircuitBreakerPolicy;
  private openedAt = 0;
  private opens = 0;

  constructor(
    private readonly settings: BreakerSettings,
    onChange: (state: BreakerState) => void = () => {},
  ) {
    const breaker =
      settings.sampling === undefined
        ? new ConsecutiveBreaker(settings.consecutive ?? 1)
        : new SamplingBreaker({ threshold: settings.sampling.threshold, duration: settings.sampling.windowMs, minimumRps: settings.sampling.minimumRps });
    this.policy = circuitBreaker(handleWhen(isUpstreamFault), { breaker, halfOpenAfter: settings.halfOpenAfterMs });
    this.policy.onBreak(() => {
      this.openedAt = Date.now();
      this.opens++;
    });
    this.policy.onStateChange((s) => onChange(stateName(s)));
  }

  get state(): BreakerState {
    return stateName(this.policy.state);
  }

  /** Whether a new request may go to the backend now (when open, the first after halfOpenAfterMs becomes the probe). */
  get admits(): boolean {
    const s = this.policy.state;
    return s === CircuitState.Closed || (s === CircuitState.Open && this.retryAfterMs === 0);
  }

  /** How long until an open breaker lets a probe through; 0 when it admits or is half-open. */
  get retryAfterMs(): number {
    if (this.policy.state !== CircuitState.Open) return 0;
    return Math.max(0, this.openedAt + this.settings.halfOpenAfterMs - Date.now());
  }

  get report(): BreakerReport {
    const fault = this.policy.lastFailure;
    const lastFault = fault && 'error' in fault ? (fault.error as Error).message : undefined;
    const wait = this.retryAfterMs;
    return { state: this.state, opened: this.opens, ...(wait > 0 ? { retryAfterMs: wait } : {}), ...(lastFault ? { lastFault } : {}) };
  }

  /** Runs one request through the breaker; an open one throws CIRCUIT_OPEN without running it. */
  async run<T>(request: () => Promise<T>, backend: string): Promise<T> {
    try {
      return await this.policy.execute(request);
    } catch (err) {
      if (err instanceof BrokenCircuitError || err instanceof IsolatedCircuitError)
        throw new FleetError('CIRCUIT_OPEN', `backend "${backend}" has an open circuit breaker`, { data: { backend, retryAfterMs: this.retryAfterMs } });
      throw err;
    }
  }
}

function stateName(s: CircuitState): BreakerState {
  return s === CircuitState.Closed ? 'closed' : s === CircuitState.HalfOpen ? 'half-open' : 'open';
}
