/**
 * The CLI as users run it (the compiled script, spawned) against a real dev server started by the
 * test. Its own worker is off (--no-worker): this test's worker serves the real task queue with
 * stand-in activities under the real names, so the phase definitions are the real ones.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgress } from '../../activities/compose';
import { runCommand } from '../../activities/runtime';
import { PipelineClient } from '../../pipeline/client';
import type { StepInput, StepResult } from '../../pipeline/types';
import { startPipelineWorker, type PipelineWorker } from '../../pipeline/worker';
import { freePort } from '../helpers/ports';
import { processesMentioning, startTestTemporal, type TestTemporal } from './temporal';

jest.setTimeout(180_000);

const ROOT = join(__dirname, '../..');
const SCRIPT = join(ROOT, 'run-pipeline-claude-interactive');
let failRoundTrip = false;
/** Where the stand-in image build waits for the test's go-ahead, one file per image. */
let buildGate = '';
// logs like scripts/docker-build.sh, and builds the next image once the test has seen this one
const BUILD_SCRIPT =
  'for image in gateway mcp-server; do echo "docker-build: building mcp-fleet/$image (dev) on node:24-slim" >&2; until [ -e "$1/$image" ]; do sleep 0.05; done; done';

const passed = (summary: string): StepResult => ({ outcome: 'passed', summary });
const activities = {
  async resolveServers(): Promise<StepResult> {
    return passed('3 servers resolved');
  },
  async mcpRoundTrip(input: StepInput): Promise<StepResult> {
    if (failRoundTrip) return { outcome: 'failed', summary: `no answer over ${String(input.params.transports)}`, details: { hint: 'start the gateway' } };
    return passed('round trip ok');
  },
  async poolStatistics(): Promise<StepResult> {
    return { outcome: 'not-available', summary: 'not available: pool statistics' };
  },
  async buildImages(): Promise<StepResult> {
    // the real progress path (runCommand reads the command's lines into heartbeats) over a stand-in command
    const r = await runCommand('bash', ['-c', BUILD_SCRIPT, 'build', buildGate], 'building the mcp-fleet images', { progress: buildProgress });
    return r.code === 0 ? passed('built 2 images') : { outcome: 'failed', summary: r.stderr };
  },
  async validateCompose(): Promise<StepResult> {
    return passed('compose files resolve');
  },
  async gatewayHealth(): Promise<StepResult> {
    return passed('gateway is live');
  },
  async composeUp(): Promise<StepResult> {
    return passed('stack up');
  },
  async composeDown(): Promise<StepResult> {
    return passed('stack down');
  },
  async healthStatus(): Promise<StepResult> {
    return passed('healthy');
  },
  async killReplicaAndMeasureRecovery(): Promise<StepResult> {
    return passed('recovered');
  },
  async killGatewayReplicaAndMeasureRecovery(): Promise<StepResult> {
    return passed('recovered behind the load balancer');
  },
};

let temporal: TestTemporal;
let worker: PipelineWorker;

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/pipeline/cli.js'))) throw new Error('dist/pipeline/cli.js is missing: run `npm run build` first');
  temporal = await startTestTemporal();
  worker = await startPipelineWorker({ temporal, activities });
});

afterAll(async () => {
  await worker?.stop();
  await temporal?.stop();
  expect(processesMentioning(temporal.dir)).toEqual([]);
});

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; a run that hangs is killed after 60 s so a failing test cannot leak it. */
function cli(args: string[], opts: { env?: Record<string, string>; onOutput?: (text: string) => void } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(SCRIPT, args, { cwd: temporal.dir, env: { ...process.env, TEMPORAL_ADDRESS: '', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', () => clearTimeout(timer));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => ((stdout += d.toString()), opts.onOutput?.(stdout + stderr)));
    child.stderr.on('data', (d: Buffer) => ((stderr += d.toString()), opts.onOutput?.(stdout + stderr)));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const against = () => ['--temporal-address', temporal.address, '--no-worker'];
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop() as string) as Record<string, any>;

test('--json: the last stdout line is the run, passed with a not-available step listed as such; exit 0', async () => {
  failRoundTrip = false;
  const r = await cli(['--phase', 'connection-fabric', '--build', '--json', ...against()]);
  expect(r.code).toBe(0);
  const doc = lastJson(r.stdout);
  expect(doc.status).toBe('passed');
  expect(doc.workflowId).toMatch(/^mcp-fleet-connection-fabric-build-\d{8}-\d{6}-\d{3}$/);
  expect(doc.steps.map((s: { id: string; outcome: string }) => [s.id, s.outcome])).toEqual([
    ['resolve-servers', 'passed'],
    ['round-trip-websocket', 'passed'],
    ['pool-statistics', 'not-available'],
  ]);
  for (const s of doc.steps) expect(typeof s.durationMs).toBe('number');
  // progress lines (with durations) went to stderr, so stdout is only the document
  expect(r.stdout.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/✓ resolve-servers\s+passed\s+\d+(ms|\.\ds)/);
});

test('a long step shows what it does as it goes (which image, how long so far); --json stays quiet', async () => {
  buildGate = mkdtempSync(join(tmpdir(), 'mcp-fleet-build-gate-'));
  try {
    // one run followed twice: by the --json command that started it and by `watch` for a person
    let watching: Promise<Ran> | undefined;
    const release = (text: string) => {
      for (const image of ['gateway', 'mcp-server'])
        if (new RegExp(`building the mcp-fleet images: building mcp-fleet/${image} .*\\(\\d+s\\)`).test(text)) writeFileSync(join(buildGate, image), '');
    };
    const run = await cli(['--phase', 'docker-compose', '--deploy', '--yes', '--json', ...against()], {
      onOutput(text) {
        const id = /docker-compose --deploy: (\S+)/.exec(text)?.[1];
        if (id && !watching) watching = cli(['watch', id, ...against()], { onOutput: release });
      },
    });
    const watched = await watching!;
    expect(run.code).toBe(0);
    expect(watched.code).toBe(0);
    const lines = watched.stdout.split('\n');
    const shown = (image: string) => lines.findIndex((l) => l.includes(`building mcp-fleet/${image}`));
    // in order, under the step's running line and before its end
    expect(shown('gateway')).toBeGreaterThan(lines.findIndex((l) => /… build-images\s+running/.test(l)));
    expect(shown('mcp-server')).toBeGreaterThan(shown('gateway'));
    expect(lines.findIndex((l) => /✓ build-images\s+passed/.test(l))).toBeGreaterThan(shown('mcp-server'));
    expect(run.stdout + run.stderr).not.toContain('building mcp-fleet/');
    expect(lastJson(run.stdout).status).toBe('passed');
  } finally {
    rmSync(buildGate, { recursive: true, force: true });
  }
});

test('--phase all: one parent run with a child run per phase, each followed; status and watch read the sweep', async () => {
  const r = await cli(['--phase', 'all', '--validate', '--json', ...against()]);
  expect(r.code).toBe(0);
  const doc = lastJson(r.stdout);
  expect(doc.status).toBe('passed');
  expect(doc.workflowId).toMatch(/^mcp-fleet-all-validate-\d{8}-\d{6}-\d{3}$/);
  expect(doc.runs.map((run: { phase: string; workflowId: string; status: string }) => [run.phase, run.workflowId, run.status])).toEqual([
    ['docker-compose', `${doc.workflowId}--docker-compose`, 'passed'],
    ['mcp-transport', `${doc.workflowId}--mcp-transport`, 'passed'],
  ]);
  expect(doc.steps.map((s: { phase: string; id: string }) => `${s.phase}/${s.id}`)).toEqual([
    'docker-compose/validate-compose',
    'mcp-transport/gateway-live',
    'mcp-transport/round-trip-all',
  ]);
  // the children belong to the parent in Temporal's own records
  const client = await PipelineClient.connect(temporal);
  try {
    for (const run of doc.runs) {
      const d = await client.client.workflow.getHandle(run.workflowId).describe();
      expect(d.parentExecution?.workflowId).toBe(doc.workflowId);
    }
  } finally {
    await client.close();
  }
  const status = await cli(['status', doc.workflowId, '--json', '--temporal-address', temporal.address]);
  expect(lastJson(status.stdout)).toEqual({
    status: 'ok',
    workflowId: doc.workflowId,
    done: doc.runs.map((run: { workflowId: string }) => ({ workflowId: run.workflowId, status: 'passed' })),
  });
  const watch = await cli(['watch', doc.workflowId, '--json', ...against()]);
  expect(watch.code).toBe(0);
  expect(lastJson(watch.stdout)).toMatchObject({ status: 'passed', workflowId: doc.workflowId, workflowIds: doc.workflowIds });
});

test('a failed step: exit 1, the JSON names the step, the reason and what to do', async () => {
  failRoundTrip = true;
  const r = await cli(['--phase', 'connection-fabric', '--build', '--json', ...against()]);
  failRoundTrip = false;
  expect(r.code).toBe(1);
  const doc = lastJson(r.stdout);
  expect(doc.status).toBe('failed');
  expect(doc.failure).toEqual({ step: 'round-trip-websocket', reason: 'no answer over websocket', hint: 'start the gateway' });
  expect(r.stderr).toContain('what to do: start the gateway');
});

test('gates without a TTY tell the user to run `approve ID`, and `approve ID` lets the run go on', async () => {
  // high-availability --configure has three gates: compose-up, kill-replica and kill-gateway-replica.
  let id: string | undefined;
  const approvals: Promise<Ran>[] = [];
  const run = await cli(['--phase', 'high-availability', '--configure', ...against()], {
    onOutput(text) {
      const asks = [...text.matchAll(/run `run-pipeline-claude-interactive approve ([^`\s]+)`/g)];
      while (approvals.length < asks.length) {
        id = asks[approvals.length][1];
        approvals.push(cli(['approve', id, '--temporal-address', temporal.address]));
      }
    },
  });
  expect(approvals).toHaveLength(3);
  const answers = await Promise.all(approvals);
  expect(answers.map((a) => a.code)).toEqual([0, 0, 0]);
  expect(answers.map((a) => a.stdout.trim())).toEqual([
    `approved compose-up of ${id}`,
    `approved kill-replica of ${id}`,
    `approved kill-gateway-replica of ${id}`,
  ]);
  expect(run.code).toBe(0);
  expect(run.stdout).toContain('high-availability --configure: PASSED');
  const status = await cli(['status', id!, '--json', '--temporal-address', temporal.address]);
  expect(lastJson(status.stdout)).toMatchObject({ status: 'passed', workflowId: id });
});

test.each([
  [['--phase', 'nope', '--validate'], /unknown phase "nope"; phases: docker-compose/],
  [['--phase', 'docker-compose', '--audit'], /phase docker-compose has no --audit .* it has: --validate --deploy/],
  [['--phase', 'docker-compose'], /give exactly one verb/],
  [['--phase', 'docker-compose', '--validate', '--bogus'], /Unknown argument: bogus/],
  [['--phase', 'service-mesh', '--deploy'], /--server \(params.server\): .*--backend \(params.backend\)/],
  [['--phase', 'service-mesh', '--deploy', '--server', 'memory', '--backend', '{"url": '], /--backend is not valid JSON/],
  [
    ['--phase', 'service-mesh', '--deploy', '--server', 'memory', '--backend', '/nonexistent/v2.yaml'],
    /--backend file \/nonexistent\/v2.yaml cannot be read: ENOENT/,
  ],
  [
    ['--phase', 'service-mesh', '--deploy', '--server', 'memory', '--backend', '{"url": "http://x/mcp"}', '--steps', '50,20'],
    /--steps \(params.percents\): increasing percentages ending at 100/,
  ],
])('bad input %j: one clear message, exit 2', async (args, message) => {
  const r = await cli([...args, ...against()]);
  expect(r.code).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(message);
});

test('unreachable Temporal: one clear message, exit 2', async () => {
  const port = await freePort();
  const r = await cli(['--phase', 'service-discovery', '--test', '--json', '--temporal-address', `127.0.0.1:${port}`]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(new RegExp(`Temporal at 127.0.0.1:${port} .*unreachable`));
  expect(lastJson(r.stdout)).toMatchObject({ status: 'error', code: 'TEMPORAL_UNREACHABLE' });
});

test('missing Docker for a phase that needs it: one clear message, exit 2', async () => {
  const port = await freePort();
  const r = await cli(['--phase', 'docker-compose', '--validate', '--temporal-address', temporal.address], { env: { DOCKER_HOST: `tcp://127.0.0.1:${port}` } });
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/needs a Docker engine and none answers/);
});

test('approve when no worker serves the run: a clear message after a bounded wait, exit 2 (never a hang)', async () => {
  const orphan = await PipelineClient.connect(temporal, 'no-worker-here');
  try {
    const h = await orphan.start({ phase: 'docker-compose', verb: 'deploy' }, [{ id: 'a', title: 'a', activity: 'composeUp', approval: 'go?' }]);
    const r = await cli(['approve', h.workflowId, '--temporal-address', temporal.address]);
    // together, so that another exit shows what the CLI said
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: expect.stringMatching(/no worker answered within 20s/) });
    await h.terminate('test done');
  } finally {
    await orphan.close();
  }
});

test('on a terminal the CLI asks at each gate: yes goes on, no rejects and rolls back', async () => {
  // `script` gives the CLI a pseudo-terminal, so stdin.isTTY is true as for a person.
  const command = [SCRIPT, '--phase', 'high-availability', '--configure', ...against()].join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: temporal.dir, stdio: ['pipe', 'pipe', 'pipe'] });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  let text = '';
  let answered = 0;
  child.stdout.on('data', (d: Buffer) => {
    text += d.toString();
    const asks = text.match(/\[y\/N\]/g)?.length ?? 0;
    while (answered < asks) child.stdin.write(answered++ === 0 ? 'y\n' : 'n\n');
  });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  clearTimeout(timer);
  expect(answered).toBe(2);
  expect(code).toBe(1);
  expect(text).toContain('approve: Deploy the production stack (prod override, replicas) [y/N]');
  expect(text).toMatch(/↺ compose-up\s+compensated/);
  expect(text).toContain('failed at kill-replica: rejected by cli: declined at the prompt');
});
