/**
 * Containers for one per-session docker server: a bounded set, with a few kept started ahead of
 * sessions so a new session does not wait for a cold start. Never more than `pool.max` exist at
 * once (warm, starting and in use together); a session that finds the pool full waits for a
 * container to be released, up to `pool.acquireTimeoutMs`.
 */
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { DockerServerConfig } from '../config/schema';
import { FleetError } from '../protocol/errors';
import { DockerTransport } from './docker-transport';

interface Waiter {
  resolve: (t: DockerTransport) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class ContainerPool {
  private readonly warm: DockerTransport[] = [];
  private live = 0;
  private starting = 0;
  private failures = 0;
  private refillTimer: NodeJS.Timeout | undefined;
  private readonly waiters: Waiter[] = [];
  /** Warm containers still starting: stop() waits for them so none outlives the pool. */
  private readonly launching = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly docker: Docker,
    private readonly server: DockerServerConfig,
    private readonly instance: string,
    private readonly log: Logger,
  ) {}

  /** Containers that exist now: warm, starting and in use. */
  get size(): number {
    return this.live;
  }

  get warmCount(): number {
    return this.warm.length;
  }

  /** Containers serving a session. */
  get busyCount(): number {
    return this.live - this.warm.length - this.starting;
  }

  /** Sessions queued for a container because the pool is full. */
  get waitingCount(): number {
    return this.waiters.length;
  }

  get max(): number {
    return this.server.pool.max;
  }

  /** Starts filling the warm set. */
  start(): void {
    this.fill();
  }

  /** A started container for a session; it returns to nobody: closing it ends it and frees its place. */
  async acquire(): Promise<DockerTransport> {
    if (this.stopped) throw new FleetError('SHUTTING_DOWN', `container pool of server "${this.server.name}" is stopped`);
    const ready = this.warm.shift();
    if (ready) {
      this.fill();
      return ready;
    }
    if (this.live < this.server.pool.max) return this.launch();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(
          this.waiters.findIndex((w) => w.timer === timer),
          1,
        );
        reject(
          new FleetError(
            'UPSTREAM_UNAVAILABLE',
            `all ${this.server.pool.max} containers of server "${this.server.name}" are in use (pool.max); waited ${this.server.pool.acquireTimeoutMs} ms`,
          ),
        );
      }, this.server.pool.acquireTimeoutMs);
      this.waiters.push({ resolve, reject, timer });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.refillTimer);
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new FleetError('SHUTTING_DOWN', `container pool of server "${this.server.name}" is stopped`));
    }
    await Promise.all(this.launching);
    await Promise.all(this.warm.splice(0).map((t) => t.close()));
  }

  private async launch(): Promise<DockerTransport> {
    this.live++;
    const transport = new DockerTransport(
      this.docker,
      this.server.docker,
      { instance: this.instance, server: this.server.name },
      this.log,
      () => this.released(transport),
      this.server.limits,
      this.server.liveEnv,
    );
    try {
      await transport.start();
      this.failures = 0;
      return transport;
    } catch (err) {
      this.failures++;
      throw err;
    }
  }

  /** A container ended (session over, crash, or a warm one died): its place goes to a waiter or the warm set. */
  private released(transport: DockerTransport): void {
    this.live--;
    const i = this.warm.indexOf(transport);
    if (i !== -1) {
      this.warm.splice(i, 1);
      this.failures++; // a warm container that dies unclaimed is a failing image: refill with backoff
    }
    const waiter = this.waiters.shift();
    if (waiter && !this.stopped) {
      clearTimeout(waiter.timer);
      this.launch().then(waiter.resolve, waiter.reject);
    }
    this.fill();
  }

  private fill(): void {
    if (this.stopped || this.refillTimer) return;
    const wanted = this.server.pool.warm - this.warm.length - this.starting;
    if (wanted <= 0 || this.live >= this.server.pool.max) return;
    const { initialDelayMs, maxDelayMs, factor } = this.server.restart;
    const delay = this.failures === 0 ? 0 : Math.min(maxDelayMs, initialDelayMs * factor ** (this.failures - 1));
    this.refillTimer = setTimeout(() => {
      this.refillTimer = undefined;
      if (this.stopped || this.live >= this.server.pool.max) return;
      this.starting++;
      const job: Promise<void> = this.launch()
        .then(async (t) => {
          await whenAnswering(t, this.server.pool.acquireTimeoutMs);
          if (this.stopped) {
            await t.close();
            return;
          }
          const waiter = this.waiters.shift(); // a session queued while this one was starting gets it
          if (!waiter) return void this.warm.push(t);
          clearTimeout(waiter.timer);
          waiter.resolve(t);
        })
        .catch((err: Error) => this.log.warn({ err: err.message }, 'cannot start a warm container'))
        .finally(() => {
          this.starting--;
          this.launching.delete(job);
          this.fill();
        });
      this.launching.add(job);
    }, delay);
  }
}

const PROBE_ID = 'fleet-warm-probe';

/**
 * A started container is not yet a ready server (its runtime still boots): a warm one is handed
 * out only after it answered a ping. Any answer counts, an error included (some servers refuse
 * requests before initialize); the probe's reply never reaches the session's connection.
 */
function whenAnswering(t: DockerTransport, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`warm container did not answer a ping within ${timeoutMs} ms`)), timeoutMs);
    const done = (err?: Error) => {
      clearTimeout(timer);
      t.onmessage = undefined;
      if (err) {
        void t.close();
        reject(err);
      } else resolve();
    };
    t.onmessage = (m) => {
      if (m.id === PROBE_ID) done();
    };
    t.send({ jsonrpc: '2.0', id: PROBE_ID, method: 'ping' }).catch((err: Error) => done(err));
  });
}
