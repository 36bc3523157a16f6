/**
 * Runs a stdio MCP server as a child process in its own process group. Closing kills the whole
 * group (so `npx` grandchildren die too), and stderr is passed line by line to the gateway's log,
 * with the call it can be attributed to (stderr-attribution.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Logger } from 'pino';
import { encodeLine } from '../protocol/line-framing';
import type { JsonRpcMessage } from '../protocol/jsonrpc';
import type { MessageTransport } from '../protocol/transport';
import { readLines, readStdout } from './stdio-streams';
import { CallsInFlight } from './stderr-attribution';
import { FleetError } from '../protocol/errors';
import type { LiveStrings } from '../config/secrets/live';
import type { MessageLimits } from '../protocol/json-limits';

export interface ProcessTransportOptions {
  command: string;
  args: string[];
  env: Readonly<Record<string, string>>;
  /**
   * The env when it holds secrets: read at start instead of `env`, and a rotation stops the
   * process, so that its owner starts it again with the new value.
   */
  liveEnv?: LiveStrings;
  cwd?: string;
  log: Logger;
  /** How long SIGTERM may take before the group gets SIGKILL (default 2000 ms). */
  killGraceMs?: number;
  /** The server's name, for the errors its refused messages become. */
  server?: string;
  /** What the gateway takes from the server's stdout (default: DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_DEPTH). */
  limits?: MessageLimits;
}

export class ProcessTransport implements MessageTransport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JsonRpcMessage) => void;
  onactivity?: () => void;

  private child: ChildProcess | undefined;
  private closed = false;
  private finishedOnce = false;
  private exited: Promise<void> = Promise.resolve();
  private stopFollowing: (() => void) | undefined;
  private readonly inFlight = new CallsInFlight();

  constructor(private readonly options: ProcessTransportOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): Promise<void> {
    const { command, args, cwd, log, liveEnv } = this.options;
    const env = liveEnv?.current() ?? this.options.env;
    this.stopFollowing = liveEnv?.onChange(() => {
      log.info({ pid: this.child?.pid }, 'a secret in its env rotated; restarting the server process');
      void this.close();
    });
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, {
        cwd,
        // Like the SDK: only variables that are safe to inherit, plus the server's own.
        env: { ...getDefaultEnvironment(), ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true, // its own process group, so the whole tree can be signalled at once
      });
      this.child = child;
      this.exited = new Promise((done) => {
        child.once('close', () => done());
        child.once('error', () => done());
      });
      readStdout(
        child.stdout,
        log,
        (m) => {
          this.inFlight.received(m);
          this.onmessage?.(m);
        },
        this.options.server ?? command,
        this.options.limits,
        () => this.onactivity?.(),
      );
      readLines(child.stderr, (line) => log.info({ stream: 'stderr', ...this.inFlight.fields() }, line));
      child.stdin.on('error', (err) => this.onerror?.(err));
      child.once('spawn', () => resolve());
      child.once('error', (err) => {
        const error = new FleetError('UPSTREAM_UNAVAILABLE', `cannot start "${command}": ${err.message}`, { cause: err });
        if (!this.closed) this.onerror?.(error);
        reject(error);
        this.finish();
      });
      child.once('exit', (code, signal) => {
        if (!this.closed) log.warn({ code, signal }, 'server process exited');
        this.finish();
      });
    });
  }

  /**
   * Messages sent in one event-loop turn reach the child in one write: under load a write per
   * message costs a syscall and a wake-up of the child each. Each send settles with its write.
   */
  send(message: JsonRpcMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || this.closed || !stdin.writable) {
      return Promise.reject(new FleetError('UPSTREAM_UNAVAILABLE', 'server process is not running'));
    }
    this.inFlight.sent(message);
    return new Promise((resolve, reject) => {
      if (this.queued.length === 0) setImmediate(() => this.flush());
      this.queued.push(encodeLine(message));
      this.waiting.push({ resolve, reject });
    });
  }

  private queued: string[] = [];
  private waiting: { resolve: () => void; reject: (err: Error) => void }[] = [];

  private flush(): void {
    if (this.queued.length === 0) return;
    const data = this.queued.length === 1 ? this.queued[0] : this.queued.join('');
    const waiting = this.waiting;
    this.queued = [];
    this.waiting = [];
    const stdin = this.child?.stdin;
    if (!stdin || !stdin.writable) {
      const error = new FleetError('UPSTREAM_UNAVAILABLE', 'server process is not running');
      for (const w of waiting) w.reject(error);
      return;
    }
    stdin.write(data, (err) => {
      for (const w of waiting) {
        if (err) w.reject(err);
        else w.resolve();
      }
    });
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child || child.pid === undefined) return this.finish();
    if (!this.closed) {
      this.closed = true;
      this.flush(); // what was sent before close still reaches the server
      child.stdin?.end();
    }
    killGroup(child.pid, 'SIGTERM');
    const grace = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), this.options.killGraceMs ?? 2000);
    await this.exited;
    clearTimeout(grace);
    // The direct child is gone; anything it left in its group goes now.
    killGroup(child.pid, 'SIGKILL');
    this.finish();
  }

  private finish(): void {
    if (this.finishedOnce) return;
    this.finishedOnce = true;
    this.closed = true;
    this.stopFollowing?.();
    if (this.child?.pid !== undefined) killGroup(this.child.pid, 'SIGKILL');
    this.onclose?.();
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone, which is what we want
  }
}
