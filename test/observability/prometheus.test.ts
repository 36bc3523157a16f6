/**
 * The fleet's Prometheus files with the real Prometheus (Debian's, scripts/ci-prometheus.sh):
 * promtool checks the scrape config and the rules and runs the rules' unit tests; then a real
 * Prometheus scrapes a running gateway, a gateway metric is read back through its HTTP API, and an
 * alert of the rules as written (their `for` shortened) fires when a server's only backend is down.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { ROOT } from '../containers/support/docker';
import { runForeground, type Foreground } from '../helpers/foreground';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { freePort } from '../helpers/ports';
import { processesWithMarker, waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';

const DIR = join(ROOT, 'prometheus');

function promtool(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('the Prometheus files', () => {
  beforeAll(() => execFileSync('bash', [join(ROOT, 'scripts', 'ci-prometheus.sh')], { stdio: 'inherit' }));

  it('pass promtool: the scrape config, the rules, and the rules’ unit tests', () => {
    expect(promtool('check', 'config', join(DIR, 'mcp-metrics.yml'))).toMatchObject({ code: 0 });
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

  beforeAll(async () => {
    execFileSync('bash', [join(ROOT, 'scripts', 'ci-prometheus.sh')], { stdio: 'inherit' });
    dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-prom-'));
    gate = join(dir, 'server-down');
    gw = await startTestGateway(
      {
        servers: {
          s: scripted(marker, ['--tools', 'echo', '--exit-if-exists', gate], { healthCheck: { intervalMs: 500, timeoutMs: 500 } }),
        },
      },
      marker,
    );
    // the shipped config and rules, pointed at this gateway, scraped and evaluated every second, with every `for` at 0s
    const config = parse(readFileSync(join(DIR, 'mcp-metrics.yml'), 'utf8'));
    config.global.scrape_interval = '1s';
    config.global.evaluation_interval = '1s';
    config.scrape_configs[0].static_configs[0].targets = [new URL(gw.url).host];
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
    rmSync(dir, { recursive: true, force: true });
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('reads the gateway’s request counter back through Prometheus’ API', async () => {
    const client = await connectClient(gw, 'streamable-http');
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
    expect(await query('up{job="mcp-gateway"}')).toEqual([expect.objectContaining({ value: [expect.any(Number), '1'] })]);
  });

  it('fires McpServerDown once the server’s only backend is down', async () => {
    expect((await query('ALERTS{alertname="McpServerDown"}')).length).toBe(0);
    // the server process dies and cannot start again: its one backend stays down
    writeFileSync(gate, 'down');
    for (const pid of processesWithMarker(marker)) process.kill(pid, 'SIGKILL');
    const firing = await waitFor(
      async () => {
        const res = (await (await fetch(`${api}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
        return res.data.alerts.find((a) => a.labels.alertname === 'McpServerDown' && a.state === 'firing');
      },
      'McpServerDown to fire',
      30_000,
      250,
    );
    expect(firing.labels).toMatchObject({ server: 's', severity: 'critical' });
  });
});
