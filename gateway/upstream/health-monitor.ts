/**
 * The health checks of one backend, across its reconnects. Active: every `intervalMs` after the
 * previous check settled, one `ping` (to a 2026-07-28 server the connection sends
 * `server/discover` instead) that must be answered within `timeoutMs`. Passive: every request
 * the gateway forwards is evidence too, answered or timed out. What the evidence means is
 * health-state.ts's job; this module gathers it and acts on the one verdict that needs action: a
 * backend found down has its connection given up, so that the supervisor reconnects it.
 *
 * A server busy answering is never taken for dead: while a request waits, anything it receives
 * from the server (a message, or a chunk of one) makes the wait a success, and a server silent
 * while it works (reading a big file before it writes) is degraded by the first missed ping but
 * down only after `unhealthyThreshold` misses in a row.
 */
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/schema';
import type { RequestOutcome, UpstreamConnection } from './connection';
import { HealthTracker, type HealthChange, type HealthReport, type HealthState } from './health-state';

export type HealthCheckSettings = ServerConfig['healthCheck'];

export class HealthMonitor {
  private readonly tracker: HealthTracker;
  private conn: UpstreamConnection | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly settings: HealthCheckSettings,
    private readonly log: Logger,
  ) {
    this.tracker = new HealthTracker(settings, (change) => this.logChange(change));
  }

  get state(): HealthState {
    return this.tracker.state;
  }

  get report(): HealthReport {
    return this.tracker.report;
  }

  /** A connection opened: healthy, and checked from now on. */
  attach(conn: UpstreamConnection): void {
    clearTimeout(this.timer);
    this.conn = conn;
    this.tracker.connected();
    this.schedule(conn);
  }

  /** The connection is gone (or could not be opened): down, for `reason`, until the next one. */
  detach(reason: string): void {
    clearTimeout(this.timer);
    this.conn = undefined;
    this.tracker.disconnected(reason);
  }

  /** A request on `conn` settled (the connection's `settled` event). */
  observe(outcome: RequestOutcome, conn: UpstreamConnection): void {
    if (conn !== this.conn) return; // initialize and the probe come before attach; a lost connection's stragglers after
    if (outcome.answered) return this.tracker.success('answering');
    if (!outcome.quiet) return this.tracker.success(`busy: ${outcome.method} waited past its timeout while the server kept sending`);
    if (!this.tracker.failure(outcome.error, outcome.sentAt, outcome.at)) return;
    const { consecutiveFailures } = this.tracker.report;
    void conn.lose(new Error(`health check failed: ${consecutiveFailures} requests in a row got no answer and no traffic (last: ${outcome.error})`));
  }

  private schedule(conn: UpstreamConnection): void {
    const { intervalMs, timeoutMs } = this.settings;
    if (intervalMs === 0) return;
    this.timer = setTimeout(() => {
      if (conn !== this.conn || !conn.isOpen) return;
      // Its outcome reaches observe() through the connection, like any request's; the next check waits for it.
      void conn
        .request('ping', undefined, { timeoutMs })
        .response.catch(() => {})
        .then(() => {
          if (conn === this.conn) this.schedule(conn);
        });
    }, intervalMs);
    this.timer.unref();
  }

  /** Changes the checks made are logged here; those of connecting and losing connections are the supervisor's to log. */
  private logChange({ from, to, cause, report }: HealthChange): void {
    if (cause !== 'check') return;
    const fields = { from, to, reason: report.reason, consecutiveFailures: report.consecutiveFailures, consecutiveSuccesses: report.consecutiveSuccesses };
    if (to === 'healthy') this.log.info(fields, 'backend health changed');
    else this.log.warn(fields, 'backend health changed');
  }
}
