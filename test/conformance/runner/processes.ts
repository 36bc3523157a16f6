/**
 * Owns every process the conformance runner starts. Each child leads its own process group, and
 * stopping it also ends what it started: the whole group first, then any descendant that moved to
 * a group of its own (a gateway may start its upstream servers detached). Descendants are found in
 * /proc before the signal, because once their parent dies they are re-parented and untraceable.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const GRACE_MS = 3_000;
const POLL_MS = 50;

interface ProcInfo {
  pid: number;
  ppid: number;
  /** Start time in clock ticks since boot: tells a live descendant from a later process that reused its pid. */
  startTime: string;
  zombie: boolean;
}

export class ProcessSet {
  private readonly children = new Set<ChildProcess>();

  spawn(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn(command, args, { ...options, detached: true });
    this.children.add(child);
    // A spawn failure (ENOENT) arrives as 'error'; without a listener it would crash the runner.
    child.on('error', () => undefined);
    return child;
  }

  /** SIGTERM to the child's group and stray descendants, SIGKILL to whatever is left after `graceMs`. */
  async stop(child: ChildProcess, graceMs = GRACE_MS): Promise<void> {
    if (!this.children.delete(child) || child.pid === undefined) return;
    const pid = child.pid;
    const strays = descendantsOf(pid);
    signalGroup(pid, 'SIGTERM');
    for (const stray of strays) signalPid(stray, 'SIGTERM');

    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && (isRunning(child) || strays.some(isAlive))) await sleep(POLL_MS);
    signalGroup(pid, 'SIGKILL');
    for (const stray of strays.filter(isAlive)) signalPid(stray, 'SIGKILL');
    while (isRunning(child)) await sleep(POLL_MS);
  }

  /** Stops every child, newest first: a client before the server it talks to. */
  async stopAll(): Promise<void> {
    for (const child of [...this.children].reverse()) await this.stop(child);
  }

  /** Last resort for process 'exit', where nothing asynchronous runs: SIGKILL everything at once. */
  killAllNow(): void {
    for (const child of this.children) {
      if (child.pid === undefined) continue;
      const strays = descendantsOf(child.pid);
      signalGroup(child.pid, 'SIGKILL');
      for (const stray of strays) signalPid(stray, 'SIGKILL');
    }
    this.children.clear();
  }
}

/** Resolves with the exit code, or the signal name, once the child has exited. */
export function waitForExit(child: ChildProcess): Promise<number | NodeJS.Signals> {
  if (!isRunning(child)) return Promise.resolve(child.exitCode ?? child.signalCode ?? -1);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
    child.once('error', () => resolve(-1));
  });
}

function isRunning(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

function signalPid(proc: ProcInfo, signal: NodeJS.Signals): void {
  if (isAlive(proc)) {
    try {
      process.kill(proc.pid, signal);
    } catch {
      // ESRCH: it exited between the check and the signal.
    }
  }
}

function isAlive(proc: ProcInfo): boolean {
  const now = readProc(proc.pid);
  return now !== undefined && now.startTime === proc.startTime && !now.zombie;
}

/** Every live descendant of `root`, from /proc; empty where /proc does not exist. */
function descendantsOf(root: number): ProcInfo[] {
  if (!existsSync('/proc')) return [];
  const all = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProc(Number(name)))
    .filter((proc): proc is ProcInfo => proc !== undefined);
  const found: ProcInfo[] = [];
  const frontier = [root];
  while (frontier.length > 0) {
    const parent = frontier.pop();
    for (const proc of all) {
      if (proc.ppid === parent && !proc.zombie) {
        found.push(proc);
        frontier.push(proc.pid);
      }
    }
  }
  return found;
}

function readProc(pid: number): ProcInfo | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces; fields after it are plain.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pid, ppid: Number(fields[1]), startTime: fields[19] ?? '', zombie: fields[0] === 'Z' };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
