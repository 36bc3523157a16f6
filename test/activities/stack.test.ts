/**
 * The docker and gateway activities against a real compose stack with a unique project name:
 * composeUp waits for health, the checks pass on it (health, liveness, an SDK round trip over every
 * front, discovery, hardening), a deliberately unhardened container is reported, and composeDown
 * with removeVolumes leaves nothing of the project.
 */
import {
  collectLogs,
  composeDown,
  composeUp,
  gatewayHealth,
  healthStatus,
  inspectHardening,
  killReplicaAndMeasureRecovery,
  mcpRoundTrip,
  registerServer,
  requestTracing,
  resolveServers,
  validateCompose,
} from '../../activities';
import type { StepInput } from '../../pipeline/types';
import { docker, requireEngineAndImages, SERVER_IMAGE, sh, COMPOSE_SH, TAG, uniqueName } from '../containers/support/docker';

jest.setTimeout(240_000);

const project = uniqueName('mcpfleet-test');
const input = (params: Record<string, unknown> = {}): StepInput => ({
  runId: 'test',
  phase: 'docker-compose',
  verb: 'deploy',
  target: project,
  params: { gatewayPort: 0, temporalUiPort: 0, tag: TAG, ...params },
  previous: {},
});

async function leftovers(name: string): Promise<string[]> {
  const label = `label=com.docker.compose.project=${name}`;
  const out = await Promise.all([
    docker('ps', '-a', '-q', '--filter', label),
    docker('network', 'ls', '-q', '--filter', label),
    docker('volume', 'ls', '-q', '--filter', label),
  ]);
  return out.join('\n').split('\n').filter(Boolean);
}

describe('activities on a real compose stack', () => {
  beforeAll(async () => {
    await requireEngineAndImages();
  });

  afterAll(async () => {
    // whatever a failed test left: the test owns the project
    if ((await leftovers(project)).length)
      await sh(COMPOSE_SH, ['-p', project, '-f', 'docker-compose.yml', 'down', '-v', '--remove-orphans', '--timeout', '5']);
    expect(await leftovers(project)).toEqual([]);
  });

  it('composeUp with an image that does not exist fails, non-retryable, naming the image and creating nothing', async () => {
    const other = uniqueName('mcpfleet-test');
    await expect(composeUp({ ...input({ tag: 'no-such-tag' }), target: other })).rejects.toMatchObject({
      type: 'IMAGE_MISSING',
      nonRetryable: true,
      message: expect.stringContaining("needs image 'mcp-fleet/mcp-server:no-such-tag'"),
    });
    expect(await leftovers(other)).toEqual([]);
    expect(await validateCompose({ ...input({ tag: 'no-such-tag' }), target: other })).toMatchObject({
      outcome: 'failed',
      summary: expect.stringContaining('images are missing: mcp-fleet/gateway:no-such-tag, mcp-fleet/mcp-server:no-such-tag, mcp-fleet/temporal:no-such-tag'),
    });
  });

  it('validateCompose resolves the files and finds the images', async () => {
    const r = await validateCompose(input());
    expect(r).toMatchObject({ outcome: 'passed', summary: 'compose config is valid; 3 images present' });
  });

  it('validateCompose resolves the dev and prod overrides, and names the file compose rejects', async () => {
    expect(await validateCompose(input({ override: 'dev' }))).toMatchObject({ outcome: 'passed' });
    expect(await validateCompose(input({ override: 'prod' }))).toMatchObject({ outcome: 'passed' });
    const bad = await validateCompose(input({ files: ['docker-compose.yml', 'no-such-override.yml'] }));
    expect(bad).toMatchObject({ outcome: 'failed', summary: expect.stringContaining('no-such-override.yml') });
  });

  it('composeUp brings the stack up and returns once every container is healthy', async () => {
    const r = await composeUp(input());
    expect(r.outcome).toBe('passed');
    expect(r.summary).toBe(`${project} is up: 6 containers healthy`);
    const containers = r.details!.containers as { service: string; health: string }[];
    expect(containers.map((c) => c.service).sort()).toEqual(['filesystem', 'gateway', 'memory', 'pipeline', 'pipeline-worker', 'temporal']);
    expect(containers.every((c) => c.health === 'healthy')).toBe(true);
  });

  it('healthStatus and gatewayHealth pass, on the port the project published', async () => {
    expect((await healthStatus(input())).outcome).toBe('passed');
    const live = await gatewayHealth(input());
    expect(live.outcome).toBe('passed');
    expect(live.details!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(live.details!.url).not.toBe('http://127.0.0.1:8080');
  });

  it('mcpRoundTrip lists and calls a tool over Streamable HTTP, SSE and WebSocket', async () => {
    const r = await mcpRoundTrip(input({ call: { name: 'memory__read_graph' } }));
    expect(r.summary).toContain('listed and called tools over streamable-http, sse, websocket');
    expect(r.outcome).toBe('passed');
    const fronts = r.details!.fronts as { front: string; ok: boolean; called: string; tools: number }[];
    expect(fronts.map((f) => [f.front, f.ok, f.called])).toEqual([
      ['streamable-http', true, 'memory__read_graph'],
      ['sse', true, 'memory__read_graph'],
      ['websocket', true, 'memory__read_graph'],
    ]);
    expect(fronts.every((f) => f.tools > 10)).toBe(true);
    // without params.call: the first tool that needs no arguments
    expect((await mcpRoundTrip(input({ transports: ['websocket'] }))).outcome).toBe('passed');
  });

  it('resolveServers finds tools of every server in the gateway config, and fails for one it lacks', async () => {
    const r = await resolveServers(input());
    expect(r.outcome).toBe('passed');
    expect(Object.keys(r.details!.servers as object).sort()).toEqual(['filesystem', 'memory', 'pipeline']);
    const missing = await resolveServers(input({ servers: ['memory', 'search'] }));
    expect(missing).toMatchObject({ outcome: 'failed', summary: expect.stringContaining('the gateway offers no tools from search') });
  });

  it('inspectHardening passes on the stack and lists the findings of an unhardened container', async () => {
    const clean = await inspectHardening(input());
    expect(clean.details!.findings).toEqual([]);
    expect(clean.outcome).toBe('passed');
    // compose v1 creates every network of the file, the observability profile's too
    expect(clean.summary).toBe(`6 containers and 4 networks of ${project} meet every hardening rule`);

    // a container created (not started) in the project without any hardening
    const id = (
      await docker(
        'create',
        '--label',
        `com.docker.compose.project=${project}`,
        '--label',
        'com.docker.compose.service=rogue',
        '--user',
        '0',
        '--network',
        `${project}_frontend`,
        SERVER_IMAGE,
      )
    ).trim();
    try {
      const dirty = await inspectHardening(input());
      expect(dirty.outcome).toBe('failed');
      const rules = (dirty.details!.findings as { subject: string; rule: string }[]).map((f) => f.rule);
      expect(rules).toEqual(
        expect.arrayContaining([
          'runs as a non-root user',
          'drops all capabilities (cap_drop: ALL)',
          'sets no-new-privileges',
          'has a read-only root filesystem',
          'has a memory limit',
          'only the gateway is on a network with a route out',
        ]),
      );
      expect(dirty.summary).toMatch(/^\d+ hardening findings in /);
    } finally {
      await docker('rm', '-f', id);
    }
  });

  it('collectLogs reads every container log and finds each service log copy in the log volume', async () => {
    const r = await collectLogs(input({ tail: 50 }));
    expect(r.outcome).toBe('passed');
    const containers = r.details!.containers as Record<string, { lines: number; errors: number }>;
    expect(Object.keys(containers)).toHaveLength(6);
    expect(Object.values(containers).every((c) => c.lines > 0)).toBe(true);
    const files = r.details!.logFiles as string[];
    for (const service of ['gateway', 'memory', 'filesystem', 'pipeline', 'pipeline-worker', 'temporal'])
      expect(files.some((f) => new RegExp(`^${service}-[0-9a-f]+\\.log$`).test(f))).toBe(true);
    expect(r.summary).toMatch(
      new RegExp(`^read the logs of 6 containers of ${project}: \\d+ errors, \\d+ warnings in the last 50 lines each; 6 log files in /var/log/mcp-fleet$`),
    );
  });

  it('registerServer registers a server at runtime through the admin API, resolves and calls it, and deregisters it', async () => {
    const r = await registerServer(input());
    expect(r.summary).toMatch(/^registered discovery-probe at runtime: \d+ tools resolved, discovery-probe__\S+ answered; deregistered, its tools gone$/);
    expect(r.outcome).toBe('passed');
    // a name the gateway already has is refused before anything changes
    await expect(registerServer(input({ register: { name: 'memory', url: 'http://memory:8080/mcp' } }))).rejects.toMatchObject({
      type: 'BAD_INPUT',
      message: expect.stringContaining('already has a server memory'),
    });
  });

  it('requestTracing follows one tool call from the client through the gateway to the server’s bridge, by its trace id', async () => {
    const r = await requestTracing(input({ tool: 'memory__read_graph' }));
    expect(r.outcome).toBe('passed');
    expect(r.details!.chain).toEqual(
      [`${project}_gateway_1`, `${project}_memory_1`].map((n) => expect.stringMatching(new RegExp(`^${n.replace(/_/g, '[_-]')}$`))),
    );
    expect(r.summary).toMatch(
      new RegExp(
        `^trace [0-9a-f]{32} of memory__read_graph: client → ${project}[_-]gateway[_-]1 \\(memory/primary, [\\d.]+ ms\\) → ${project}[_-]memory[_-]1 \\([^,]+, [\\d.]+ ms\\)$`,
      ),
    );
  });

  it('killReplicaAndMeasureRecovery refuses a service with one replica', async () => {
    const r = await killReplicaAndMeasureRecovery(input({ service: 'memory' }));
    expect(r).toMatchObject({ outcome: 'failed', summary: expect.stringContaining('has 1 running replica(s); killing one needs at least 2') });
  });

  it('composeDown -v removes every container, network and volume of the project', async () => {
    const r = await composeDown(input({ removeVolumes: true }));
    expect(r).toMatchObject({ outcome: 'passed', summary: `${project} is down, volumes removed` });
    expect(await leftovers(project)).toEqual([]);
    expect(await healthStatus(input())).toMatchObject({ outcome: 'failed', summary: expect.stringContaining(`no containers in compose project ${project}`) });
  });
});
