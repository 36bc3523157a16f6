/**
 * `run-pipeline-claude-interactive up` as a user runs it (the compiled script, spawned) with real
 * Docker and a real Temporal dev server: the fleet comes up healthy, the reported MCP endpoint
 * answers an SDK client, and Ctrl-C takes the stack down and stops the worker. Images come from
 * `npm run docker:build` (--no-build keeps the test from rebuilding them).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ComposeProject, requireEngineAndImages } from '../containers/support/docker';
import { connectHttp } from '../containers/support/mcp';
import { waitFor } from '../helpers/wait';
import { processesMentioning, startTestTemporal, type TestTemporal } from './temporal';

jest.setTimeout(300_000);

const SCRIPT = join(__dirname, '../..', 'run-pipeline-claude-interactive');
let temporal: TestTemporal;
const project = new ComposeProject(['docker-compose.yml'], {}, 'mcpfleet-up');

beforeAll(async () => {
  await requireEngineAndImages();
  temporal = await startTestTemporal();
});

afterAll(async () => {
  await project.down();
  expect(await project.leftovers()).toEqual([]);
  await temporal?.stop();
  expect(processesMentioning(temporal.dir)).toEqual([]);
});

function start(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; out: { stdout: string; stderr: string }; exited: Promise<number | null> } {
  // TEMPORAL_UI_PORT=0: the stack's Temporal UI on any free port, as the gateway (--gateway-port 0)
  const child = spawn(SCRIPT, args, {
    cwd: temporal.dir,
    env: { ...process.env, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_UI_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, out, exited };
}

test('up brings the fleet up, reports its endpoints, serves it, and Ctrl-C takes it down', async () => {
  const run = start(['up', '--no-build', '--target', project.name, '--gateway-port', '0', '--json']);
  try {
    await waitFor(() => run.out.stdout.trim() || run.child.exitCode !== null, 'up to report the fleet', 240_000);
    expect(run.out.stderr).not.toMatch(/FAILED/);
    const doc = JSON.parse(run.out.stdout.trim().split('\n').pop()!) as {
      status: string;
      mcpUrl: string;
      workflowId: string;
      steps: { id: string; outcome: string }[];
    };
    expect(doc.status).toBe('up');
    expect(doc.workflowId).toMatch(/^mcp-fleet-docker-compose-deploy-/);
    expect(doc.steps.map((s) => [s.id, s.outcome])).toEqual([
      ['compose-up', 'passed'],
      ['stack-healthy', 'passed'],
      ['gateway-live', 'passed'],
      ['round-trip-streamable-http', 'passed'],
    ]);
    expect(run.out.stderr).toContain('mcp-fleet is up');
    expect((doc as unknown as { stackTemporalUi: string }).stackTemporalUi).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const address = new URL(doc.mcpUrl).host;
    expect(address).toBe(await project.gatewayAddress());
    const mcp = await connectHttp(address, 'up-test');
    try {
      const { tools } = await mcp.client.listTools();
      expect(tools.some((t) => t.name.startsWith('memory__'))).toBe(true);
      expect(tools.some((t) => t.name.startsWith('filesystem__'))).toBe(true);
    } finally {
      await mcp.close();
    }
    // still serving: the process keeps running with the stack up
    expect(run.child.exitCode).toBeNull();
    expect((await project.containers()).length).toBeGreaterThan(0);
  } finally {
    run.child.kill('SIGINT');
  }
  expect(await run.exited).toBe(130);
  expect(run.out.stderr).toContain(`${project.name} is down, volumes kept`);
  expect(await project.containers()).toEqual([]);
  expect((await project.leftovers()).length).toBeGreaterThan(0); // the named volumes, kept on purpose
});

test('piped into a reader that goes away (`up 2>&1 | tee fleet.log`, then Ctrl-C), up still takes the stack down and says so in its exit code', async () => {
  // the reader, a real process at the other end of up's stdout and stderr: it exits once the
  // fleet is up, so every line up writes after that meets a closed pipe (EPIPE); it hands back what
  // it read, which shows what the long steps said as they went
  const reader = spawn(
    process.execPath,
    ['-e', `let s = ''; process.stdin.on('data', (d) => { s += d; if (s.includes('mcp-fleet is up')) process.stdout.end(s, () => process.exit(0)); });`],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let shown = '';
  reader.stdout.on('data', (d: Buffer) => (shown += d.toString()));
  const readerExited = new Promise<void>((resolve) => reader.once('close', () => resolve()));
  const child = spawn(SCRIPT, ['up', '--no-build', '--target', project.name, '--gateway-port', '0'], {
    cwd: temporal.dir,
    env: { ...process.env, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_UI_PORT: '0' },
    stdio: ['ignore', reader.stdin, reader.stdin],
  });
  reader.stdin.destroy(); // up holds the write end now; the reader alone holds the read end
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  try {
    await readerExited;
    await waitFor(async () => (await project.containers()).length > 0 || child.exitCode !== null, 'the stack to be up', 60_000);
    // up went on writing into the closed pipe ("Ctrl-C stops ..."): it must still be serving
    expect(child.exitCode).toBeNull();
    // while the stack came up, compose-up said what it was doing: containers, then the services still starting
    const lines = shown.split('\n');
    const running = lines.findIndex((l) => /… compose-up\s+running/.test(l));
    const done = lines.findIndex((l) => /✓ compose-up\s+passed/.test(l));
    const progress = lines.slice(running + 1, done).filter((l) => /^ {6}(bringing up|waiting for) /.test(l));
    expect(progress.join('\n')).toMatch(new RegExp(`waiting for ${project.name} to be healthy: still starting .*\\(\\d+s\\)`));
  } finally {
    child.kill('SIGINT');
  }
  expect(await exited).toBe(130);
  expect(await project.containers()).toEqual([]);
});

test('up without a Docker engine says so and starts nothing', async () => {
  const run = start(['up', '--no-build', '--target', project.name, '--json'], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
  expect(await run.exited).toBe(2);
  expect(run.out.stderr).toMatch(/needs a Docker engine and none answers/);
  expect(JSON.parse(run.out.stdout.trim().split('\n').pop()!)).toMatchObject({ status: 'error', code: 'DOCKER_UNAVAILABLE' });
  expect(await project.containers()).toEqual([]);
});
