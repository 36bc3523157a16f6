/**
 * The compose stack with its `observability` profile on the real engine: mcp-fleet/prometheus
 * (the shipped prometheus/mcp-metrics.yml and mcp-rules.yml) scrapes the gateway with the admin
 * token and the pipeline worker's metrics endpoint; a tool call through the gateway shows up in
 * Prometheus' HTTP API, on its loopback-only published port. Without the profile no Prometheus
 * starts (test/containers/stack.test.ts counts the containers). health-monitoring's alert-rules
 * step finds this Prometheus by the project's published port and passes.
 */
import { alertRules } from '../../activities';
import { ComposeProject, inspect, requireEngineAndImages, GATEWAY_IMAGE, SERVER_IMAGE, TEMPORAL_IMAGE, TAG } from './support/docker';
import { connectHttp, type HttpClient } from './support/mcp';
import { waitFor } from '../helpers/wait';

jest.setTimeout(240_000);

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

describe('compose stack with the observability profile', () => {
  const project = new ComposeProject(['docker-compose.yml'], { COMPOSE_PROFILES: 'observability', PROMETHEUS_PORT: '0' });
  let session: HttpClient;
  let api: string;

  /** An instant query through Prometheus' HTTP API. */
  async function query(expr: string): Promise<Sample[]> {
    const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; data?: { result: Sample[] }; error?: string };
    if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
    return body.data!.result;
  }

  beforeAll(async () => {
    await requireEngineAndImages([GATEWAY_IMAGE, SERVER_IMAGE, TEMPORAL_IMAGE, `mcp-fleet/prometheus:${TAG}`]);
    await project.up();
    await project.waitHealthy();
    session = await connectHttp(await project.gatewayAddress());
    api = `http://${await project.published('prometheus', 9090)}`;
  });

  afterAll(async () => {
    await session?.close();
    await project.down();
    expect(await project.leftovers()).toEqual([]);
  });

  it('publishes Prometheus on loopback only and runs it hardened with the admin token as a secret', async () => {
    const c = await inspect(await project.container('prometheus'));
    expect(c.NetworkSettings.Ports['9090/tcp'].map((b: { HostIp: string }) => b.HostIp)).toEqual(['127.0.0.1']);
    expect(Object.keys(c.NetworkSettings.Networks).sort()).toEqual([`${project.name}_backend`, `${project.name}_observability-ui`]);
    expect(c.Config.User).toBe('10001:10001');
    expect(c.HostConfig.ReadonlyRootfs).toBe(true);
    expect(c.Mounts.map((m: { Destination: string }) => m.Destination)).toEqual(expect.arrayContaining(['/prometheus', '/run/secrets/admin_token']));
  });

  it('scrapes the gateway (authenticated) and the pipeline worker, and a call through the gateway shows up', async () => {
    const up = await waitFor(
      async () => {
        const r = await query('up');
        const byJob = Object.fromEntries(r.map((s) => [s.metric.job, s.value[1]]));
        return byJob['mcp-gateway'] === '1' && byJob['mcp-pipeline-worker'] === '1' ? byJob : undefined;
      },
      'Prometheus to scrape both jobs successfully',
      90_000,
      1_000,
    );
    expect(up).toMatchObject({ 'mcp-gateway': '1', 'mcp-pipeline-worker': '1' });

    const listed = await session.client.callTool({ name: 'memory__read_graph', arguments: {} });
    expect(listed.isError).toBeFalsy();
    const calls = await waitFor(
      async () => {
        const r = await query('sum(mcp_gateway_requests_total{method="tools/call"})');
        return r.length && Number(r[0].value[1]) >= 1 ? Number(r[0].value[1]) : undefined;
      },
      'the tools/call counter to reach Prometheus',
      60_000,
      1_000,
    );
    expect(calls).toBeGreaterThanOrEqual(1);
    // the fleet's rules are loaded: the recording and alert groups of mcp-rules.yml
    const rules = (await (await fetch(`${api}/api/v1/rules`)).json()) as { data: { groups: { file: string }[] } };
    expect(rules.data.groups.length).toBeGreaterThan(0);
    expect(rules.data.groups.every((g) => g.file === '/etc/prometheus/mcp-rules.yml')).toBe(true);
  });

  it("passes health-monitoring's alert-rules step, which finds the profile's Prometheus by the project's published port", async () => {
    const r = await alertRules({ runId: 'r1', phase: 'health-monitoring', verb: 'deploy', target: project.name, params: { scrapeWaitSec: 90 }, previous: {} });
    expect(r.summary).toMatch(
      /^Prometheus at http:\/\/127\.0\.0\.1:\d+ has loaded all \d+ rules the gateway ships .* and scrapes the gateway: gateway:8080 up$/,
    );
    expect(r).toMatchObject({ outcome: 'passed', details: { found: `the prometheus service of ${project.name}` } });
  });
});
