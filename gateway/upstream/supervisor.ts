/**
 * Keeps one upstream session alive: connects, and when the session is lost (crash, network,
 * refused initialize, health checks that found it down) reconnects with exponential backoff until
 * stopped. Its health monitor (health-monitor.ts) watches every connection it opens. Owners learn of each
 * transition through `up` and `down`, and can always read the current connection. With
 * `protocol: auto` the first connection probes which generation the server speaks; the verdict
 * holds for every reconnect after it and, kept in the EraMemory it is given, for every other
 * supervisor of the same backend (a per-session server's sessions), so a backend is probed once.
 */
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/schema';
import type { Era } from '../protocol/eras';
import type { MessageTransport } from '../protocol/transport';
import { UpstreamConnection, type InitializeParams, type UpstreamEvents } from './connection';
import { fixedEra } from './era-probe';
import { HealthMonitor } from './health-monitor';

export interface SupervisorHooks {
  up(conn: UpstreamConnection): void | Promise<void>;
  down(conn: UpstreamConnection | undefined, error: Error): void;
}

export type UpstreamState = 'connecting' | 'up' | 'backoff' | 'stopped';

/** Where the era a probe found is kept beyond one supervisor (for every connection to the same backend). */
export interface EraMemory {
  get(): Era | undefined;
  set(era: Era): void;
}

export class UpstreamSupervisor {
  private conn: UpstreamConnection | undefined;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private stateValue: UpstreamState = 'connecting';
  private firstAttempt: Promise<void> | undefined;
  lastError: Error | undefined;
  /** Connections made, connections lost after they were up (a crash, an exit, a dropped socket), attempts that failed. */
  readonly counts = { connected: 0, lost: 0, failed: 0 };
  /** The generation the server speaks: configured, or learnt by the first probe. */
  private eraValue: Era | undefined;
  /** Healthy, degraded or down: what balancing and readiness go by. */
  readonly health: HealthMonitor;

  constructor(
    readonly server: ServerConfig,
    private readonly connectTransport: () => Promise<MessageTransport>,
    private readonly initParams: () => InitializeParams,
    private readonly events: Omit<UpstreamEvents, 'closed' | 'settled'>,
    private readonly hooks: SupervisorHooks,
    private readonly log: Logger,
    private readonly memory?: EraMemory,
  ) {
    this.eraValue = fixedEra(server.protocol) ?? memory?.get();
    this.health = new HealthMonitor(server.healthCheck, log);
  }

  /** undefined until a probe told (protocol: auto). */
  get era(): Era | undefined {
    return this.eraValue;
  }

  get state(): UpstreamState {
    return this.stateValue;
  }

  /** The live connection, or undefined while the server is down. */
  get connection(): UpstreamConnection | undefined {
    return this.conn?.isOpen ? this.conn : undefined;
  }

  /** Starts connecting; resolves after the first attempt, whether it succeeded or not. */
  start(): Promise<void> {
    this.firstAttempt ??= this.connect();
    return this.firstAttempt;
  }

  async stop(): Promise<void> {
    this.stateValue = 'stopped';
    clearTimeout(this.retryTimer);
    this.health.detach('stopped');
    const conn = this.conn;
    this.conn = undefined;
    await conn?.close();
  }

  private async connect(): Promise<void> {
    if (this.stateValue === 'stopped') return;
    this.stateValue = 'connecting';
    let conn: UpstreamConnection | undefined;
    try {
      const transport = await this.connectTransport();
      conn = new UpstreamConnection(
        this.server.name,
        transport,
        { ...this.events, closed: (c, reason) => this.lost(c, reason), settled: (outcome, c) => this.health.observe(outcome, c) },
        this.log,
      );
      this.conn = conn;
      await conn.open(this.initParams(), {
        timeoutMs: this.server.requestTimeoutMs,
        era: this.eraValue,
        probeTimeoutMs: this.server.probeTimeoutMs,
        learnt: (era, why) => this.learnt(era, why),
      });
    } catch (err) {
      if (this.conn === conn) this.conn = undefined;
      this.fail(err as Error);
      return;
    }
    if ((this.stateValue as UpstreamState) === 'stopped') {
      await conn.close();
      return;
    }
    this.attempt = 0;
    this.lastError = undefined;
    this.stateValue = 'up';
    this.counts.connected++;
    this.health.attach(conn);
    const info = conn.init.serverInfo;
    this.log.info({ serverInfo: info, protocolVersion: conn.init.protocolVersion, era: conn.era }, 'server connected');
    await this.hooks.up(conn);
  }

  private learnt(era: Era, why: string): void {
    if (this.eraValue !== undefined) return;
    this.eraValue = era;
    this.memory?.set(era);
    this.log.info({ era, why }, era === 'modern' ? 'server speaks 2026-07-28' : 'server speaks 2025 (initialize)');
  }

  private lost(conn: UpstreamConnection, reason: Error | undefined): void {
    if (conn !== this.conn || this.stateValue === 'stopped' || this.stateValue === 'connecting') return;
    this.conn = undefined;
    this.counts.lost++;
    const error = reason ?? new Error('connection closed');
    this.health.detach(error.message);
    this.hooks.down(conn, error);
    this.fail(error, conn);
  }

  private fail(error: Error, conn?: UpstreamConnection): void {
    if (this.stateValue === 'stopped') return;
    this.lastError = error;
    this.health.detach(error.message);
    if (!conn) {
      this.counts.failed++;
      this.hooks.down(undefined, error);
    }
    const { initialDelayMs, maxDelayMs, factor } = this.server.restart;
    const base = Math.min(maxDelayMs, initialDelayMs * factor ** this.attempt);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4)); // jitter, so a fleet does not retry in lockstep
    this.attempt++;
    this.stateValue = 'backoff';
    this.log.warn({ err: error.message, retryInMs: delay, attempt: this.attempt }, 'server unavailable; will retry');
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }
}
