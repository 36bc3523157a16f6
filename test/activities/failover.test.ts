/**
 * high-availability on a real prod stack (filesystem × 2, reached over WebSocket): the activity
 * kills the replica that serves the gateway and measures until filesystem calls through the
 * gateway succeed again; composeDown -v leaves nothing.
 */
import { composeDown, composeUp, killReplicaAndMeasureRecovery } from '../../activities';
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

  it('kills the serving filesystem replica and reports the recovery time of calls through the gateway', async () => {
    const before = (
      await docker('ps', '-q', '--filter', `label=com.docker.compose.project=${project}`, '--filter', 'label=com.docker.compose.service=filesystem')
    )
      .split('\n')
      .filter(Boolean);
    expect(before).toHaveLength(2);

    const r = await killReplicaAndMeasureRecovery(input({ service: 'filesystem' }));
    expect(r.outcome).toBe('passed');
    expect(r.details).toMatchObject({
      service: 'filesystem',
      replicas: 2,
      chosenBy: 'established connection on port 8080',
      tool: expect.stringMatching(/^filesystem__/),
    });
    expect(r.details!.recoveryMs).toEqual(expect.any(Number));
    expect(r.summary).toMatch(/answered again after \d+ ms$/);

    // the victim is one of the two replicas, and calls kept working in the activity's own session
    const names = await Promise.all(before.map(async (id) => (await docker('inspect', '--format', '{{.Name}}', id)).trim().replace(/^\//, '')));
    expect(names).toContain(r.details!.killed);
    console.log(`failover: ${r.summary}`);
  });
});
