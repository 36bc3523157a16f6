/**
 * The health of one backend as a small state machine with hysteresis, fed with evidence by the
 * health monitor (health-monitor.ts): healthy → degraded on the first failure, degraded → down
 * after `unhealthyThreshold` failures in a row, degraded → healthy after `healthyThreshold`
 * successes in a row. Down is also where a backend is while it has no connection; a new
 * connection (initialize answered, so the server is there) makes it healthy.
 *
 * A failure is a request the server let time out while it sent nothing at all; concurrent
 * requests that time out in the same silence are one failure, not many (a failure counts only if
 * its request was sent after the last failure was counted), so ten calls stuck together cannot
 * take a backend down at once. Pure logic: no timers, no I/O.
 */

export type HealthState = 'healthy' | 'degraded' | 'down';

export const HEALTH_STATES: readonly HealthState[] = ['healthy', 'degraded', 'down'];

export interface HealthThresholds {
  /** Failures in a row that make a backend down (its connection is then given up and reconnected). */
  unhealthyThreshold: number;
  /** Successes in a row that bring a degraded backend back to healthy. */
  healthyThreshold: number;
}

/** A backend's health as the admin API, the metrics and readiness report it. */
export interface HealthReport {
  state: HealthState;
  /** Why it is in that state (the last evidence that changed or confirmed it). */
  reason: string;
  /** When the last check or observed request settled (ISO 8601); absent before the first. */
  lastCheckAt?: string;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
}

export interface HealthChange {
  from: HealthState;
  to: HealthState;
  /** check: evidence from requests; connection: a connection opened or was lost. */
  cause: 'check' | 'connection';
  report: HealthReport;
}

export class HealthTracker {
  private stateValue: HealthState = 'down';
  private reasonValue = 'not connected yet';
  private lastCheck: number | undefined;
  private failures = 0;
  private successes = 0;
  /** When (monotonic ms) the last failure was counted; a request sent before then saw the same silence. */
  private lastFailureAt = -Infinity;

  constructor(
    private readonly thresholds: HealthThresholds,
    private readonly changed: (change: HealthChange) => void = () => {},
  ) {}

  get state(): HealthState {
    return this.stateValue;
  }

  get report(): HealthReport {
    return {
      state: this.stateValue,
      reason: this.reasonValue,
      ...(this.lastCheck === undefined ? {} : { lastCheckAt: new Date(this.lastCheck).toISOString() }),
      consecutiveFailures: this.failures,
      consecutiveSuccesses: this.successes,
    };
  }

  /** A connection was opened: the server answered initialize. */
  connected(): void {
    this.reset('healthy', 'connected');
  }

  /** The connection is gone (crash, lost transport, given up after failed checks). */
  disconnected(reason: string): void {
    this.reset('down', reason);
  }

  /** The server answered (a ping or any request, its errors included), or kept sending while a request waited. */
  success(reason: string, now = Date.now()): void {
    if (this.stateValue === 'down') return; // down ends with a new connection, not with late answers on the old one
    this.lastCheck = now;
    this.failures = 0;
    this.successes++;
    this.reasonValue = reason;
    if (this.stateValue === 'degraded' && this.successes >= this.thresholds.healthyThreshold) this.move('healthy', 'check');
  }

  /**
   * A request timed out with no traffic from the server since `sentAt` (monotonic ms, the clock
   * of `at`). Returns true when this failure made the backend down.
   */
  failure(reason: string, sentAt: number, at: number, now = Date.now()): boolean {
    if (this.stateValue === 'down' || sentAt < this.lastFailureAt) return false;
    this.lastFailureAt = at;
    this.lastCheck = now;
    this.successes = 0;
    this.failures++;
    this.reasonValue = reason;
    if (this.failures >= this.thresholds.unhealthyThreshold) {
      this.move('down', 'check');
      return true;
    }
    if (this.stateValue === 'healthy') this.move('degraded', 'check');
    return false;
  }

  private reset(state: HealthState, reason: string): void {
    this.reasonValue = reason;
    this.failures = 0;
    this.successes = 0;
    this.lastFailureAt = -Infinity;
    if (state !== this.stateValue) this.move(state, 'connection');
  }

  private move(to: HealthState, cause: HealthChange['cause']): void {
    const from = this.stateValue;
    this.stateValue = to;
    this.changed({ from, to, cause, report: this.report });
  }
}
