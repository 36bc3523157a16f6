/**
 * The pipeline as compose services (docker-compose.yml: `temporal`, and `pipeline`, the pipeline MCP
 * server with its worker behind a stdio→HTTP bridge) on the real engine, driven the way an MCP
 * client drives it: the official SDK client on the gateway's published port calls `pipeline__*`
 * tools. A phase that needs no engine runs to a passing verdict (its steps reach the gateway
 * inside the stack); a step that needs the engine fails at once with the message that says why,
 * also after its approval gate was answered through the gateway; a blue/green rollout of a server
 * runs from the MCP client through the gateway's admin API; runs outlive a re-created temporal container (named volume). With docker-compose.pipeline-engine.yml
 * the audit runs inside the stack and reports the socket mount, and debugging-tools --enhance
 * passes against the stack it runs in. `down -v` leaves nothing.
 */
import { statSync } from 'node:fs';
import { ComposeProject, docker, inspect, requireEngineAndImages } from './support/docker';
import { connectHttp, text, type HttpClient } from './support/mcp';
import { waitFor } from '../helpers/wait';

jest.setTimeout(240_000);

type ToolResult = { isError?: boolean; structuredContent?: any; content: { type: string; text: string }[] };

/** A compose project brought up for a describe block, and an SDK session with its gateway that drives the pipeline. */
function pipelineStack(project: ComposeProject) {
  let session: HttpClient;

  beforeAll(async () => {
    await requireEngineAndImages();
    await project.up();
    await project.waitHealthy(150_000);
    session = await connectHttp(await project.gatewayAddress());
  });

  afterAll(async () => {
    await session?.close();
    await project.down();
    expect(await project.leftovers()).toEqual([]);
  });

  const call = async (name: string, args: Record<string, unknown> = {}) => (await session.client.callTool({ name, arguments: args })) as unknown as ToolResult;

  async function start(phase: string, verb: string, extra: Record<string, unknown> = {}): Promise<string> {
    const started = await call('pipeline__run_phase', { phase, verb, ...extra });
    expect({ isError: started.isError, text: started.isError ? text(started) : '' }).toEqual({ isError: undefined, text: '' });
    return started.structuredContent.workflowId as string;
  }

  /** run_status, polled until the run has its result. */
  function finished(workflowId: string): Promise<any> {
    return waitFor(
      async () => {
        const s = await call('pipeline__run_status', { workflow_id: workflowId });
        return s.structuredContent?.result ? s.structuredContent : undefined;
      },
      `run ${workflowId} to finish`,
      120_000,
      500,
    );
  }

  return { session: () => session, call, start, finished };
}

describe('the pipeline service through the stack gateway', () => {
  const project = new ComposeProject();
  const { session: current, call, start, finished } = pipelineStack(project);
  let passedRun: string;

  it('offers the pipeline tools through the gateway as soon as the stack is healthy, and lists the phases', async () => {
    const { tools } = await current().client.listTools();
    expect(
      tools
        .map((t) => t.name)
        .filter((n) => n.startsWith('pipeline__'))
        .sort(),
    ).toEqual(['pipeline__approve_gate', 'pipeline__list_phases', 'pipeline__run_phase', 'pipeline__run_status']);
    const phases = await call('pipeline__list_phases');
    expect(phases.structuredContent.phases).toHaveLength(10);
    expect(phases.structuredContent.phases).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'mcp-transport', verbs: ['implement', 'validate'] })]),
    );
  });

  it('runs phases that need no engine to a passing verdict, reaching the gateway inside the stack', async () => {
    passedRun = await start('mcp-transport', 'validate');
    const transport = await finished(passedRun);
    expect(transport.workflowStatus).toBe('COMPLETED');
    expect(transport.result.status).toBe('passed');
    expect(transport.result.steps.map((s: { id: string; outcome: string }) => [s.id, s.outcome])).toEqual([
      ['gateway-live', 'passed'],
      ['round-trip-all', 'passed'],
    ]);
    expect(transport.result.steps[1].summary).toBe('listed and called tools over streamable-http, sse, websocket at http://gateway:8080');

    const discovery = await finished(await start('service-discovery', 'test'));
    expect(discovery.result.status).toBe('passed');
    expect(discovery.result.steps[1].details.servers).toEqual({ memory: expect.any(Number), filesystem: expect.any(Number), pipeline: 4 });
    // the in-stack worker holds the admin token (the admin_token secret) and registers a server at runtime
    expect(discovery.result.steps[2]).toMatchObject({ id: 'register-server', outcome: 'passed' });
    expect(discovery.result.steps[2].summary).toMatch(
      /^registered discovery-probe at runtime: \d+ tools resolved, discovery-probe__\S+ answered; deregistered, its tools gone$/,
    );
  });

  it('fails a step that needs the Docker engine at once, saying this worker has none and how to give it one', async () => {
    const audit = await finished(await start('security-hardening', 'audit'));
    expect(audit.result.status).toBe('failed');
    expect(audit.result.failure.step).toBe('inspect-hardening');
    expect(audit.result.failure.reason).toMatch(/^the Docker engine is not reachable from this worker \(\/var\/run\/docker\.sock: connect ENOENT/);
    expect(audit.result.failure.reason).toContain('docker-compose.pipeline-engine.yml');
    expect(audit.result.steps[0]).toMatchObject({ id: 'inspect-hardening', outcome: 'failed' });
  });

  it('waits at an approval gate until approve_gate answers through the gateway; the approved step needs the engine and says so', async () => {
    const id = await start('health-monitoring', 'deploy');
    const waiting = await waitFor(
      async () => {
        const s = await call('pipeline__run_status', { workflow_id: id });
        return s.structuredContent?.state === 'awaiting-approval' ? s.structuredContent : undefined;
      },
      'the run to wait at its gate',
      60_000,
      500,
    );
    expect(waiting.gate).toMatchObject({ stepId: 'compose-up' });
    const answered = await call('pipeline__approve_gate', { workflow_id: id, approve: true });
    expect(answered.structuredContent).toMatchObject({ answered: 'approved', gate: { stepId: 'compose-up' } });
    const done = await finished(id);
    expect(done.result.failure).toMatchObject({ step: 'compose-up', reason: expect.stringContaining('the Docker engine is not reachable from this worker') });
  });

  it('rolls out a new version of a server from an MCP client: blue/green through the gateway admin API, promoted', async () => {
    // the "new version" is a second backend on the filesystem bridge: the rollout moves all traffic to it
    const id = await start('service-mesh', 'deploy', {
      approve_all: true,
      params: { server: 'filesystem', backend: { url: 'http://filesystem:8080/mcp' }, version: 'v2', strategy: 'blue-green', bakeSec: 1 },
    });
    const rollout = await finished(id);
    expect(rollout.result.steps.map((s: { id: string; outcome: string }) => [s.id, s.outcome])).toEqual([
      ['add-version', 'passed'],
      ['switch', 'passed'],
      ['promote', 'passed'],
    ]);
    expect(rollout.result.steps[1].summary).toMatch(/^100 % on v2: \d+ calls, error rate 0\.0 %, p95 \d+ ms/);
    // the gateway now serves filesystem from v2 alone, and its tools still answer
    const listed = await current().client.callTool({ name: 'filesystem__list_allowed_directories', arguments: {} });
    expect(listed.isError).toBeFalsy();
  });

  it('answers bad input with a tool error that names the valid choices', async () => {
    const unknownPhase = await call('pipeline__run_phase', { phase: 'no-such-phase', verb: 'validate' });
    expect(unknownPhase.isError).toBe(true);
    expect(text(unknownPhase)).toMatch(/^unknown phase "no-such-phase"; phases: docker-compose, /);
    const unknownRun = await call('pipeline__run_status', { workflow_id: 'mcp-fleet-no-such-run' });
    expect(unknownRun.isError).toBe(true);
    expect(text(unknownRun)).toContain('mcp-fleet-no-such-run');
  });

  it('keeps runs in the temporal-data volume: a re-created temporal container still knows them, and new runs work', async () => {
    const before = await project.container('temporal');
    expect((await inspect(before)).State.Health.Status).toBe('healthy');
    expect(await docker('exec', before, 'ls', '/data')).toMatch(/^temporal\.db$/m);

    expect((await project.compose('up', '-d', '--force-recreate', '--no-deps', 'temporal')).code).toBe(0);
    const after = await project.container('temporal');
    expect(after).not.toBe(before);
    await waitFor(async () => (await inspect(after)).State.Health?.Status === 'healthy', 'the new temporal container to be healthy', 90_000, 500);

    const kept = await waitFor(
      async () => {
        const s = await call('pipeline__run_status', { workflow_id: passedRun });
        return s.structuredContent?.result ? s.structuredContent : undefined;
      },
      'run_status of the earlier run after the re-creation',
      60_000,
      500,
    );
    expect(kept).toMatchObject({ workflowStatus: 'COMPLETED', result: { status: 'passed' } });
    // the worker reconnected to the new container
    expect((await finished(await start('mcp-transport', 'validate'))).result.status).toBe('passed');
  });
});

describe('with docker-compose.pipeline-engine.yml (the host engine, a deliberate exception)', () => {
  const project = new ComposeProject(['docker-compose.yml', 'docker-compose.pipeline-engine.yml'], {
    DOCKER_GID: String(statSync('/var/run/docker.sock').gid),
  });
  const { start, finished } = pipelineStack(project);

  it('runs the audit inside the stack, and the audit reports the socket mount as its one finding', async () => {
    const audit = await finished(await start('security-hardening', 'audit', { target: project.name }));
    expect(audit.result.steps[0].summary).toMatch(new RegExp(`^1 hardening findings in ${project.name}: `));
    expect(audit.result.steps[0].details.findings).toEqual([
      { subject: expect.stringMatching(/pipeline/), rule: 'mounts no Docker engine socket (root on the host)', found: 'bind /var/run/docker.sock' },
    ]);
    expect(audit.result.status).toBe('failed');
  });

  it('runs debugging-tools --enhance inside the stack against the stack itself, every step passing', async () => {
    const run = await finished(await start('debugging-tools', 'enhance', { target: project.name }));
    const steps = run.result.steps as { id: string; outcome: string; summary: string }[];
    expect({ status: run.result.status, failed: steps.filter((s) => s.outcome !== 'passed') }).toEqual({ status: 'passed', failed: [] });
    expect(steps.map((s) => s.id)).toEqual(['stack-healthy', 'gateway-live', 'collect-logs', 'tracing', 'debug-stream', 'admin-sessions', 'admin-inventory']);
    // the trace crossed the stack's gateway and a server's bridge, found in their container logs
    expect(steps.find((s) => s.id === 'tracing')!.summary).toMatch(/^trace [0-9a-f]{32} of \S+: client → \S+gateway\S* \(.+\) → \S+/);
  });
});
