/**
 * high-availability on a real prod stack (filesystem × 2 reached over WebSocket, each replica a
 * backend of the gateways (a DNS replica set), two gateway
 * replicas behind haproxy): under load from four clients through the published port, one activity
 * kills the filesystem replica that serves the gateway, the other a gateway replica; each reports
 * calls, failed calls and the time until every client's calls succeed again. composeDown -v leaves
 * nothing.
 */
import { composeDown, composeUp, killGatewayReplicaAndMeasureRecovery, killReplicaAndMeasureRecovery } from '../../activities';
import type { StepInput } from '../../pipeline/types';
import { COMPOSE_SH, docker, requireEngineAndImages, sh, TAG, uniqueName } from '../containers/support/docker';

jest.setTimeout(300_000);

const project = uniqueName('mcpfleet-test');
const input = (params: Record<string, unknown> = {}): StepInput => ({
  runId: 'test',
  phase: 'high-availability',
  verb: 'configure',
  target: project,
  params: { gatewayPort: 0, tag: TAG, override: 'prod', ...params },
  previous: {},
});

async function leftovers(): Promise<string[]> {
  const label = `label=com.docker.compose.project=${project}`;
  const out = await Promise.all([
    docker('ps', '-a', '-q', '--filter', label),
    docker('network', 'ls', '-q', '--filter', label),
    docker('volume', 'ls', '-q', '--filter', label),
  ]);
  return out.join('\n').split('\n').filter(Boolean);
}

describe('killReplicaAndMeasureRecovery on the prod stack', () => {
  beforeAll(async () => {
    await requireEngineAndImages();
    const up = await composeUp(input());
    if (up.outcome !== 'passed') throw new Error(up.summary);
  });

  afterAll(async () => {
    const down = await composeDown(input({ removeVolumes: true }));
    if ((await leftovers()).length) {
      await sh(COMPOSE_SH, ['-p', project, '-f', 'docker-compose.yml', '-f', 'docker-compose.prod.yml', 'down', '-v', '--remove-orphans', '--timeout', '5'], {
        env: { ...process.env, MCP_FLEET_TAG: TAG },
      });
    }
    expect(down.outcome).toBe('passed');
    expect(await leftovers()).toEqual([]);
  });

  async function running(service: string): Promise<string[]> {
    const ids = (await docker('ps', '-q', '--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.service=${service}`))
      .split('\n')
      .filter(Boolean);
    return Promise.all(ids.map(async (id) => (await docker('inspect', '--format', '{{.Name}}', id)).trim().replace(/^\//, '')));
  }

  /** The load's figures every kill reports: four clients, each of which called and was answered again. */
  function expectLoadFigures(details: Record<string, unknown>): void {
    expect(details).toMatchObject({ clients: 4, calls: expect.any(Number), failedCalls: expect.any(Number), recoveryMs: expect.any(Number) });
    const perClient = details.perClient as { calls: number; failedCalls: number }[];
    expect(perClient).toHaveLength(4);
    for (const c of perClient) expect(c.calls).toBeGreaterThan(c.failedCalls);
    expect(perClient.reduce((n, c) => n + c.calls, 0)).toBe(details.calls);
    expect(perClient.reduce((n, c) => n + c.failedCalls, 0)).toBe(details.failedCalls);
  }

  it('kills the serving filesystem replica under load and reports calls, failed calls and recovery through the gateway', async () => {
    const before = await running('filesystem');
    expect(before).toHaveLength(2);

    const r = await killReplicaAndMeasureRecovery(input({ service: 'filesystem' }));
    expect(r.outcome).toBe('passed');
    expect(r.details).toMatchObject({
      service: 'filesystem',
      replicas: 2,
      chosenBy: 'established connection on port 8080',
      tool: expect.stringMatching(/^filesystem__/),
      // a read: the gateway retries it on the other replica (a DNS replica set), so none fails
      retriedByGateway: true,
      maxFailedCalls: 0,
      failedCalls: 0,
    });
    expectLoadFigures(r.details!);
    expect(r.summary).toMatch(/; 0 of \d+ calls from 4 clients failed; every client answered again after \d+ ms$/);
    // the victim is one of the two replicas
    expect(before).toContain(r.details!.killed);
    console.log(`failover: ${r.summary}`);
  });

  it('kills a gateway replica behind haproxy under load; 2025 sessions and 2026 clients are answered again', async () => {
    const before = [...(await running('gateway-1')), ...(await running('gateway-2'))];
    expect(before).toHaveLength(2);

    const r = await killGatewayReplicaAndMeasureRecovery(input());
    expect(r.outcome).toBe('passed');
    expect(r.details).toMatchObject({
      replicas: 2,
      sessions: 2,
      stateless: 2,
      // a read haproxy may send again to the other replica (mcp-idempotent-tools.lst): none fails
      repeatedByBalancer: true,
      maxFailedCalls: 0,
      failedCalls: 0,
      tool: expect.stringMatching(/^filesystem__/),
    });
    expect(before).toContain(r.details!.killed);
    // the killed replica held at least one of the load's 2025 sessions, which was answered again
    expect(r.details!.sessionsOnKilled).toBeGreaterThanOrEqual(1);
    expectLoadFigures(r.details!);
    expect(r.summary).toMatch(/\d+ of \d+ calls from 4 clients failed; every client answered again after \d+ ms$/);
    console.log(`gateway failover: ${r.summary}`);
  });

  it('fails the gateway kill on a stack without two gateway replicas', async () => {
    const r = await killGatewayReplicaAndMeasureRecovery({ ...input(), target: uniqueName('mcpfleet-none') });
    expect(r.outcome).toBe('failed');
    expect(r.details).toMatchObject({ replicas: 0 });
    expect(r.summary).toContain('killing one needs at least 2');
  });
});
