/**
 * The fleet's Prometheus files with the real Prometheus (Debian's, scripts/ci-prometheus.sh):
 * promtool checks the scrape config and the rules and runs the rules' unit tests; then a real
 * Prometheus scrapes a running gateway, a gateway metric is read back through its HTTP API, and an
 * alert of the rules as written (their `for` shortened) fires when a server's only backend is down,
 * and another when a second gateway serves a certificate that expires within a day; every query of
 * the Grafana dashboard runs there and names only metrics that exist.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { ROOT } from '../containers/support/docker';
import { generateCerts } from '../helpers/certs';
import { runForeground, type Foreground } from '../helpers/foreground';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { freePort } from '../helpers/ports';
import { processesWithMarker, waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';

const DIR = join(ROOT, 'prometheus');

interface DashboardJson {
  panels: { title: string; targets?: { expr: string }[] }[];
  templating: { list: { query?: string | { query: string } }[] };
}

/** The metric and recording-rule names a PromQL (or Grafana label_values) expression reads. */
function metricNames(expr: string): string[] {
  return [...new Set([...expr.matchAll(/\b(?:[a-z_]+:)?mcp_gateway_[a-z0-9_]+(?::[a-z0-9_]+)*/g)].map((m) => m[0]))];
}

/** A histogram's or summary's series name without its _bucket, _sum or _count. */
function baseName(name: string): string {
  return name.replace(/_(bucket|sum|count)$/, '');
}

function promtool(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('the Prometheus files', () => {
  beforeAll(() => execFileSync('bash', [join(ROOT, 'scripts', 'ci-prometheus.sh')], { stdio: 'inherit' }));

  it('pass promtool: the scrape config, the rules, and the rules’ unit tests', () => {
    // --syntax-only: the credentials file (/run/secrets/admin_token) exists only in the stack; the real Prometheus below loads the whole config
    expect(promtool('check', 'config', '--syntax-only', join(DIR, 'mcp-metrics.yml'))).toMatchObject({ code: 0 });
    expect(promtool('check', 'rules', join(DIR, 'mcp-rules.yml'))).toMatchObject({ code: 0 });
    const tests = promtool('test', 'rules', join(DIR, 'mcp-rules.test.yml'));
    expect(tests.out).toContain('SUCCESS');
    expect(tests.code).toBe(0);
  });

  it('are checked for real: a broken rule and a wrong expectation fail promtool', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-prom-'));
    try {
      writeFileSync(join(dir, 'bad.yml'), 'groups:\n  - name: g\n    rules:\n      - alert: X\n        expr: sum by (server (x)\n');
      expect(promtool('check', 'rules', join(dir, 'bad.yml')).code).not.toBe(0);
      // the real rules against a test that expects McpServerDown while the backend is up
      writeFileSync(join(dir, 'mcp-rules.yml'), readFileSync(join(DIR, 'mcp-rules.yml')));
      writeFileSync(
        join(dir, 'wrong.test.yml'),
        stringify({
          rule_files: ['mcp-rules.yml'],
          tests: [
            {
              interval: '1m',
              input_series: [{ series: 'mcp_gateway_upstream_up{server="a",backend="primary"}', values: '1 1 1' }],
              alert_rule_test: [{ eval_time: '2m', alertname: 'McpServerDown', exp_alerts: [{ exp_labels: { severity: 'critical', server: 'a' } }] }],
            },
          ],
        }),
      );
      const wrong = promtool('test', 'rules', join(dir, 'wrong.test.yml'));
      expect(wrong.code).not.toBe(0);
      expect(wrong.out).toContain('McpServerDown');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a real Prometheus scraping a gateway', () => {
  const marker = newMarker();
  let gw: TestGateway;
  // HTTPS with a certificate valid for a day; its /metrics on a plain management listener (its server
  // marked apart, so that taking the first gateway's server down leaves it alone)
  let expiring: TestGateway;
  const expiringMarker = newMarker();
  let prometheus: Foreground | undefined;
  let dir: string;
  let api: string;
  // the scripted server starts only while this file is absent: the test takes its one backend down by creating it
  let gate: string;

  const query = async (expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
    const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (body.status !== 'success') throw new Error(`query ${expr}: ${JSON.stringify(body)}`);
    return body.data.result;
  };

  /** The alert's labels once Prometheus has it firing. */
  const firingAlert = (name: string) =>
    waitFor(
      async () => {
        const res = (await (await fetch(`${api}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
        return res.data.alerts.find((a) => a.labels.alertname === name && a.state === 'firing');
      },
      `${name} to fire`,
      30_000,
      250,
    );

  beforeAll(async () => {
    execFileSync('bash', [join(ROOT, 'scripts', 'ci-prometheus.sh')], { stdio: 'inherit' });
    dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-prom-'));
    gate = join(dir, 'server-down');
    gw = await startTestGateway(
      {
        servers: {
          // a breaker, so that the dashboard's breaker panels have a backend to show
          s: scripted(marker, ['--tools', 'echo', '--exit-if-exists', gate], { healthCheck: { intervalMs: 500, timeoutMs: 500 }, breaker: { consecutive: 5 } }),
        },
      },
      marker,
    );
    const certs = await generateCerts(join(dir, 'certs'), { days: 1 });
    expiring = await startTestGateway(
      {
        tls: { certFile: certs.serverCert, keyFile: certs.serverKey },
        management: { listen: '127.0.0.1:0' },
        servers: { e: scripted(expiringMarker, ['--tools', 'echo']) },
      },
      expiringMarker,
    );
    // the shipped config and rules, pointed at this gateway, scraped and evaluated every second, with every `for` at 0s
    const config = parse(readFileSync(join(DIR, 'mcp-metrics.yml'), 'utf8'));
    config.global.scrape_interval = '1s';
    config.global.evaluation_interval = '1s';
    config.scrape_configs[0].static_configs[0].targets = [new URL(gw.url).host, new URL(expiring.managementUrl!).host];
    // the shipped bearer credentials, from a file of the test's (these gateways serve /metrics without asking)
    config.scrape_configs[0].authorization.credentials_file = join(dir, 'admin-token');
    writeFileSync(join(dir, 'admin-token'), 'test-admin-token');
    config.rule_files = [join(dir, 'mcp-rules.yml')];
    delete config.alerting;
    writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
    writeFileSync(join(dir, 'mcp-rules.yml'), readFileSync(join(DIR, 'mcp-rules.yml'), 'utf8').replace(/^(\s+)for: .*$/gm, '$1for: 0s'));
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    prometheus = await runForeground(
      'prometheus',
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      port,
    );
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await gw?.stop();
    await expiring?.stop();
    rmSync(dir, { recursive: true, force: true });
    expect(await waitForNoProcesses(marker)).toEqual([]);
    expect(await waitForNoProcesses(expiringMarker)).toEqual([]);
  });

  it('reads the gateway’s request counter back through Prometheus’ API', async () => {
    const client = await connectClient(gw, 'streamable-http');
    await waitFor(async () => (await client.listTools()).tools.some((t) => t.name === 's__echo'), 'the server to be up');
    for (let i = 0; i < 3; i++) await client.callTool({ name: 's__echo', arguments: {} });
    await disconnect(client);
    const samples = await waitFor(
      async () => {
        const r = await query('sum(mcp_gateway_requests_total{server="s",method="tools/call",outcome="ok"})');
        return r.length === 1 && r[0].value[1] === '3' ? r : undefined;
      },
      'Prometheus to have scraped 3 calls',
      30_000,
      250,
    );
    expect(samples[0].value[1]).toBe('3');
    expect(await query(`up{job="mcp-gateway",instance="${new URL(gw.url).host}"}`)).toEqual([expect.objectContaining({ value: [expect.any(Number), '1'] })]);
  });

  it('answers every query of the Grafana dashboard, which names only metrics the gateway exports or the rules record', async () => {
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'grafana', 'mcp-fleet-dashboard.json'), 'utf8')) as DashboardJson;
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    const exported = new Set([...(await (await fetch(`${gw.url}/metrics`)).text()).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    const recorded = new Set(
      (parse(readFileSync(join(DIR, 'mcp-rules.yml'), 'utf8')) as { groups: { rules: { record?: string }[] }[] }).groups.flatMap((g) =>
        g.rules.flatMap((r) => r.record ?? []),
      ),
    );
    const unknown = (expr: string) => metricNames(expr).filter((name) => !(name.includes(':') ? recorded.has(name) : exported.has(baseName(name))));
    // the check itself can fail
    expect(unknown('rate(mcp_gateway_no_such_total[5m]) + server:mcp_gateway_nothing:rate5m')).toEqual([
      'mcp_gateway_no_such_total',
      'server:mcp_gateway_nothing:rate5m',
    ]);
    const variables = dashboard.templating.list.flatMap((v) => (typeof v.query === 'object' ? [v.query.query] : []));
    for (const expr of [...exprs, ...variables]) expect({ expr, unknown: unknown(expr) }).toEqual({ expr, unknown: [] });
    // each query as Prometheus runs it, the dashboard's variable at "All"
    for (const expr of exprs) {
      const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(expr.replaceAll('$server', '.*'))}`);
      expect({ expr, status: res.status }).toEqual({ expr, status: 200 });
    }
    const bad = await fetch(`${api}/api/v1/query?query=${encodeURIComponent('sum by (server (mcp_gateway_sessions)')}`);
    expect(bad.status).toBe(400);
  });

  it("shows each backend's circuit breaker: its state (0 closed) and its openings, from the gateway's breaker series", async () => {
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'grafana', 'mcp-fleet-dashboard.json'), 'utf8')) as DashboardJson;
    const panel = (title: string) => dashboard.panels.find((p) => p.title === title)!.targets![0].expr.replaceAll('$server', 's');
    const state = panel('Circuit breaker state');
    const openings = panel('Circuit breaker openings (15 min)');
    expect([state, openings].flatMap(metricNames)).toEqual(['mcp_gateway_breaker_state', 'mcp_gateway_breaker_opened']);
    const read = (expr: string) =>
      waitFor(
        async () => {
          const r = await query(expr);
          return r.length > 0 ? r.map((s) => ({ server: s.metric.server, backend: s.metric.backend, value: s.value[1] })) : undefined;
        },
        `Prometheus to answer ${expr}`,
        30_000,
        250,
      );
    expect(await read(state)).toEqual([{ server: 's', backend: 'primary', value: '0' }]);
    expect(await read(openings)).toEqual([{ server: 's', backend: 'primary', value: '0' }]);
  });

  it('fires McpServerDown once the server’s only backend is down', async () => {
    expect((await query('ALERTS{alertname="McpServerDown"}')).length).toBe(0);
    // the server process dies and cannot start again: its one backend stays down
    writeFileSync(gate, 'down');
    for (const pid of processesWithMarker(marker)) process.kill(pid, 'SIGKILL');
    const firing = await firingAlert('McpServerDown');
    expect(firing.labels).toMatchObject({ server: 's', severity: 'critical' });
  });

  it('fires McpCertificateExpiryImminent for a certificate that expires within a day', async () => {
    const firing = await firingAlert('McpCertificateExpiryImminent');
    expect(firing.labels).toMatchObject({ role: 'server', name: 'public', severity: 'critical', instance: new URL(expiring.managementUrl!).host });
  });
});
