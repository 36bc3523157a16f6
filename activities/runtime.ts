/**
 * What every activity shares: the Temporal activity context when there is one (heartbeats and
 * cancellation), so the same functions also run outside a worker (tests, scripts); FleetErrors as
 * Temporal failures; the checkout root; and child processes that heartbeat while they run and die
 * when the activity is cancelled.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ApplicationFailure, asyncLocalStorage } from '@temporalio/activity';
import { FleetError, type FleetErrorCode } from '../gateway/protocol/errors';

/** A FleetError as the failure Temporal records: type = its code, non-retryable unless the code table says a retry can help. */
export function toApplicationFailure(err: FleetError): ApplicationFailure {
  return ApplicationFailure.create(err.toFailureOptions());
}

/** The failure to throw for code: says what failed and what to do; `details` become the failure's first detail. */
export function failure(code: FleetErrorCode, message: string, details?: Record<string, unknown>): ApplicationFailure {
  return toApplicationFailure(new FleetError(code, message, details ? { data: details } : {}));
}

/** Heartbeats when running inside a Temporal activity; a no-op elsewhere. */
export function heartbeat(details?: unknown): void {
  asyncLocalStorage.getStore()?.heartbeat(details);
}

/** The activity's cancellation signal, or undefined outside a worker. */
export function cancellation(): AbortSignal | undefined {
  return asyncLocalStorage.getStore()?.cancellationSignal;
}

/** Throws when the activity was cancelled (between steps of a long loop). */
export function throwIfCancelled(what: string): void {
  const signal = cancellation();
  if (signal?.aborted) throw failure('CANCELLED', `${what} was cancelled`);
}

/**
 * Runs fn while heartbeating `what` every 5 s: a step's heartbeat timeout can be shorter than the
 * work (the workflow gives 60 s steps a 15 s heartbeat timeout).
 */
export async function withHeartbeat<T>(what: string | (() => string), fn: () => Promise<T>): Promise<T> {
  const details = typeof what === 'string' ? () => what : what;
  heartbeat(details());
  const beat = setInterval(() => heartbeat(details()), 5_000);
  try {
    return await fn();
  } finally {
    clearInterval(beat);
  }
}

/** Sleeps, heartbeating, and wakes early (throwing) on cancellation. */
export async function pause(ms: number, what: string): Promise<void> {
  heartbeat(what);
  const signal = cancellation();
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
  throwIfCancelled(what);
}

/** The checkout: MCP_FLEET_ROOT, else the nearest directory above this file with docker-compose.yml (works from dist/ too). */
export function checkoutRoot(): string {
  if (process.env.MCP_FLEET_ROOT) return process.env.MCP_FLEET_ROOT;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'docker-compose.yml')) && existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw failure('BAD_INPUT', `no mcp-fleet checkout (docker-compose.yml) above ${__dirname}; set MCP_FLEET_ROOT`);
  }
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command in the checkout, heartbeating every few seconds with `what`; killed (TERM) when
 * the activity is cancelled. Resolves with the exit code instead of throwing on a non-zero exit.
 * `progress` reads each line the command prints (stdout and stderr) and may return what it says
 * the command is doing now: the heartbeat becomes `what: that`, at once, so a user watching the
 * run sees it (the CLI prints heartbeat details).
 */
export async function runCommand(
  file: string,
  args: string[],
  what: string,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; progress?: (line: string) => string | undefined } = {},
): Promise<CommandResult> {
  const signal = cancellation();
  let now = what;
  const read = options.progress;
  const onOutput = (chunk: Buffer | string) => {
    for (const line of chunk.toString().split('\n')) {
      const doing = line.trim() ? read?.(line.trim()) : undefined;
      if (doing !== undefined && `${what}: ${doing}` !== now) heartbeat((now = `${what}: ${doing}`));
    }
  };
  return withHeartbeat(
    () => now,
    () =>
      new Promise<CommandResult>((resolve, reject) => {
        const child = execFile(
          file,
          args,
          { cwd: checkoutRoot(), env: options.env ?? process.env, timeout: options.timeoutMs ?? 600_000, maxBuffer: 64 * 1024 * 1024, signal },
          (err, stdout, stderr) => {
            if (!err) return resolve({ code: 0, stdout, stderr });
            const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: string };
            if (e.name === 'AbortError') return reject(failure('CANCELLED', `${what} was cancelled`));
            if (e.code === 'ENOENT') return reject(failure('BAD_INPUT', `${what}: ${file} is not installed or not on PATH`));
            const note = e.killed || e.signal ? ` (killed: ${e.signal ?? 'timeout'})` : '';
            resolve({ code: typeof e.code === 'number' ? e.code : 1, stdout, stderr: `${stderr}${note}` });
          },
        );
        if (read) {
          child.stdout?.on('data', onOutput);
          child.stderr?.on('data', onOutput);
        }
      }),
  );
}

/** The last lines of a command's stderr, for a message. */
export function tail(text: string, lines = 8): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}
