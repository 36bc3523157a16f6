/**
 * Every benchmark that starts containers, networks or processes, interrupted mid-run by SIGINT,
 * SIGTERM or SIGHUP (compiled, as `npm run bench:*` runs it), leaves nothing behind: each is
 * spawned, the test waits until what it starts exists (its labelled containers and network, or
 * its child processes), sends the signal, waits for the exit and looks for leftovers. Images come
 * from `npm run docker:build`; dist/ from `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { docker, requireEngineAndImages, TEST_LABEL } from '../containers/support/docker';
import { requireCurrentBuild } from '../helpers/dist';
import { waitFor } from '../helpers/wait';

jest.setTimeout(180_000);

const ROOT = resolve(__dirname, '../..');
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

interface Bench {
  script: string;
  args?: string[];
  env?: Record<string, string>;
  /** What it starts: `docker` resources under the run id it prints, or child processes. */
  starts: 'docker' | 'processes' | 'docker and processes';
  /** How many of its containers must exist before the signal (default 1): more lands it mid-sample. */
  containers?: number;
}

const BENCHES: Record<string, Bench> = {
  // the gateway's upstream and a first sample's container: the signal meets `docker run`s in flight
  containers: { script: 'bench/containers.js', env: { BENCH_RUNS: '1' }, starts: 'docker', containers: 2 },
  failover: { script: 'bench/failover.js', starts: 'docker and processes' },
  overhead: { script: 'bench/overhead.js', args: ['--quick', '--only', 'fast-stdio'], starts: 'processes' },
  frames: { script: 'bench/frames.js', starts: 'processes' },
  pipeline: { script: 'bench/pipeline.js', starts: 'processes' },
};

beforeAll(async () => {
  requireCurrentBuild(['bench', 'gateway', 'pipeline', 'test/helpers', 'test/containers/support']);
  await requireEngineAndImages();
});

/** Live processes below `pid` (children, grandchildren), from /proc. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z') continue;
      children.set(Number(ppid), [...(children.get(Number(ppid)) ?? []), Number(entry)]);
    } catch {
      // ended while we looked
    }
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      found.push(c);
      walk(c);
    }
  };
  walk(pid);
  return found;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

async function labelled(kind: 'ps' | 'network', label: string): Promise<string[]> {
  const args = kind === 'ps' ? ['ps', '-a', '--format', '{{.Names}}'] : ['network', 'ls', '--format', '{{.Name}}'];
  return (await docker(...args, '--filter', `label=${label}`)).split('\n').filter(Boolean);
}

function spawnBench(bench: Bench, cwd: string): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [join(ROOT, 'dist', bench.script), ...(bench.args ?? [])], {
    cwd,
    env: { ...process.env, ...bench.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  return { child, stderr: () => stderr, exited };
}

describe.each(Object.entries(BENCHES))('bench %s', (name, bench) => {
  test.each(SIGNALS)('stopped by %s mid-run, it leaves nothing behind', async (signal) => {
    const cwd = mkdtempSync(join(tmpdir(), `mcp-fleet-interrupt-${name}-`));
    const run = spawnBench(bench, cwd);
    const seen = new Set<number>();
    let label: string | undefined;
    try {
      if (bench.starts !== 'processes') {
        const id = await waitFor(() => /run (bench[\w-]+);/.exec(run.stderr())?.[1] ?? run.child.exitCode !== null, `${name} to say its run id`);
        expect(run.child.exitCode).toBeNull();
        label = `${TEST_LABEL}=${String(id)}`;
        await waitFor(
          async () => (await labelled('ps', label!)).length >= (bench.containers ?? 1) || run.child.exitCode !== null,
          `${name}'s first container`,
          120_000,
        );
      }
      if (bench.starts !== 'docker') {
        await waitFor(
          () => {
            for (const pid of descendants(run.child.pid!)) seen.add(pid);
            return seen.size > 0 || run.child.exitCode !== null;
          },
          `${name}'s first child process`,
          120_000,
        );
      }
      expect(run.child.exitCode).toBeNull();
      for (const pid of descendants(run.child.pid!)) seen.add(pid);
      run.child.kill(signal);
      expect(await run.exited).toBe(128 + constants.signals[signal]);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
      await run.exited;
      rmSync(cwd, { recursive: true, force: true });
    }
    const processesLeft = [...seen].filter(alive);
    const containersLeft = label ? await labelled('ps', label) : [];
    const networksLeft = label ? await labelled('network', label) : [];
    // a failing run must not leave its leftovers to the next test
    for (const pid of processesLeft) process.kill(pid, 'SIGKILL');
    if (containersLeft.length > 0) await docker('rm', '-f', '-v', ...containersLeft);
    if (networksLeft.length > 0) await docker('network', 'rm', ...networksLeft);
    expect(run.stderr()).toContain(`${signal}, stopping everything it started`);
    expect({ processesLeft, containersLeft, networksLeft }).toEqual({ processesLeft: [], containersLeft: [], networksLeft: [] });
  });
});
