/**
 * Child processes for the benchmark: each runs in its own process group (so stopping it stops
 * whatever it started), carries a marker variable (so a final sweep can find any survivor), and
 * is ready when a given line appears on its stderr or, for a program whose log is not ours to rely
 * on, when a probe says so.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/** Every process the benchmark starts, directly or through the gateway, has this variable set to the run's marker. */
export const MARKER_VAR = 'MCP_FLEET_BENCH_RUN';

export interface GroupProcess {
  readonly pid: number;
  /** SIGTERM to the group, SIGKILL after `graceMs` (default 5000); resolves when the child has exited. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines it wrote to stderr, for error messages. */
  tail(): string;
}

export interface SpawnOptions {
  env: Record<string, string>;
  marker: string;
  /** Ready when a stderr line matches this RegExp, or when this probe (polled while the process runs) answers true. */
  ready: RegExp | (() => Promise<boolean>);
  readyTimeoutMs?: number;
}

/** Polling interval of a readiness probe. */
const PROBE_INTERVAL_MS = 50;

/** Starts `command` in its own process group and waits until it is ready. */
export function spawnGroup(command: string, args: string[], options: SpawnOptions): Promise<GroupProcess> {
  const child = spawn(command, args, {
    env: { ...process.env, ...options.env, [MARKER_VAR]: options.marker },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  const lines: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const tail = () => lines.slice(-20).join('\n');
  const stop = async (graceMs = 5000) => {
    if (child.pid === undefined) return;
    if (child.exitCode === null && child.signalCode === null) {
      killGroup(child.pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    killGroup(child.pid, 'SIGKILL'); // anything it left behind in its group
  };

  return new Promise((resolve, reject) => {
    let isReady = false;
    let failed = false;
    const fail = (why: string) => {
      failed = true;
      clearTimeout(timer);
      void stop(0);
      reject(new Error(`${command} ${args.join(' ')}: ${why}\n${tail()}`));
    };
    const becomeReady = () => {
      isReady = true;
      clearTimeout(timer);
      resolve({ pid: child.pid!, stop, tail });
    };
    const { ready } = options;
    const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
    const timer = setTimeout(
      () => fail(`${ready instanceof RegExp ? `no ready line ${ready}` : 'readiness probe not passed'} within ${readyTimeoutMs} ms`),
      readyTimeoutMs,
    );
    if (!(ready instanceof RegExp)) {
      void (async () => {
        while (!failed && !isReady) {
          if (await ready().catch(() => false)) return becomeReady();
          await new Promise((r) => setTimeout(r, PROBE_INTERVAL_MS));
        }
      })();
    }
    let pending = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (lines.length > 200) lines.splice(0, 100);
        if (!isReady && ready instanceof RegExp && ready.test(line)) becomeReady();
      }
    });
    child.once('error', (err) => fail(err.message));
    child.once('exit', (code, signal) => {
      if (!isReady) fail(`exited (code ${code}, signal ${signal}) before it was ready`);
    });
  });
}

export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already
  }
}

/** Resolves once `pid` is gone; SIGKILLs it if it is still there after `graceMs`. */
export async function waitForExit(pid: number, graceMs = 5000): Promise<void> {
  const killAt = Date.now() + graceMs;
  const giveUpAt = killAt + 2000;
  while (isAlive(pid) && Date.now() < giveUpAt) {
    if (Date.now() >= killAt) killPid(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: gone already
  }
}

/** SIGKILLs every process that carries the marker and waits until they are gone; returns how many there were. */
export async function killMarked(marker: string): Promise<number> {
  const needle = `${MARKER_VAR}=${marker}`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(needle)) pids.push(Number(entry));
    } catch {
      // it ended while we looked, or is not ours to read
    }
  }
  for (const pid of pids) killPid(pid, 'SIGKILL');
  await Promise.all(pids.map((pid) => waitForExit(pid, 0)));
  return pids.length;
}

/** CPU time (user + system) a process has used so far, in seconds, from /proc. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at field 3; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** USER_HZ is 100 on every Linux x86_64 build this project runs on. */
const CLOCK_TICKS_PER_SECOND = 100;
