/**
 * The debugging-tools and health-monitoring steps that exercise the observability tools, against a
 * real gateway with client authentication on: the debug stream shows the step's own call, the
 * sessions route its own session, the registry/upstreams/health routes every configured server;
 * a real Prometheus (Debian's) with the shipped config and rules scraping that gateway has the
 * rules loaded and the gateway target up. Each fails for real: a call that cannot be made, a
 * refused admin token, a server the gateway lacks, a Prometheus without the rules and with its
 * gateway target down, and no Prometheus at all (the message says how to deploy the profile).
 * The new steps also run as a phase in a real worker on a real Temporal dev server.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { adminInventory, alertRules, debugStreamCall, sessionsListed } from '../../activities';
import { PipelineClient } from '../../pipeline/client';
import { stepsFor } from '../../pipeline/phases';
import { startPipelineWorker } from '../../pipeline/worker';
import type { StepInput } from '../../pipeline/types';
import { ROOT } from '../containers/support/docker';
import { runForeground, type Foreground } from '../helpers/foreground';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { freePort } from '../helpers/ports';
import { waitForNoProcesses } from '../helpers/processes';
import { scripted } from '../helpers/scripted';
import { testSecret } from '../helpers/secret-values';
import { processesMentioning, startTestTemporal } from '../pipeline/temporal';

jest.setTimeout(180_000);

const ADMIN_TOKEN = testSecret(`debug-phase-admin-${randomUUID()}`);
const CLIENT_KEY = testSecret(`debug-phase-client-${randomUUID()}`);
const marker = newMarker();
let gw: TestGateway;
let dir: string;
const prometheuses: Foreground[] = [];

const input = (params: Record<string, unknown>, phase: StepInput['phase'] = 'debugging-tools'): StepInput => ({
  runId: 'r1',
  phase,
  verb: phase === 'debugging-tools' ? 'enhance' : 'deploy',
  params: { url: gw.url, servers: ['s', 't'], ...params },
  previous: {},
});

beforeAll(async () => {
  process.env.MCP_FLEET_ADMIN_TOKEN = ADMIN_TOKEN;
  process.env.MCP_FLEET_CLIENT_KEY = CLIENT_KEY;
  dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-debug-phase-'));
  gw = await startTestGateway(
    {
      auth: { apiKeys: { keys: [{ name: 'worker', key: CLIENT_KEY }] } },
      admin: { token: ADMIN_TOKEN },
      servers: { s: scripted(marker, ['--tools', 'echo']), t: scripted(marker, ['--tools', 'echo']) },
    },
    marker,
  );
});

afterAll(async () => {
  for (const p of prometheuses) await p.stop();
  await gw?.stop();
  rmSync(dir, { recursive: true, force: true });
  delete process.env.MCP_FLEET_ADMIN_TOKEN;
  delete process.env.MCP_FLEET_CLIENT_KEY;
  expect(await waitForNoProcesses(marker)).toEqual([]);
});

describe('debugging-tools', () => {
  test('debugStreamCall finds its own tool call in the debug stream, by request id and trace', async () => {
    const r = await debugStreamCall(input({}));
    expect(r.outcome).toBe('passed');
    expect(r.summary).toMatch(
      /^GET \/admin\/debug\/stream showed the step's call of [st]__echo \(X-Request-Id mcp-fleet-debug-[0-9a-f-]{36}, trace [0-9a-f]{32}\): call\.start and call\.end of [st]\/primary, ok in [\d.]+ ms$/,
    );
    const { requestId, traceId } = r.details as { requestId: string; traceId: string };
    // the gateway's own log has the call under the step's ids
    expect(gw.logs.find((l) => l.msg === 'call' && l.trace === traceId)).toMatchObject({ requestId });
  });

  test('debugStreamCall fails when its call cannot be made, and on a refused admin token', async () => {
    const r = await debugStreamCall(input({ tool: 'nope__missing' }));
    expect(r.outcome).toBe('failed');
    expect(r.summary).toMatch(
      /^the step's tool call through http:\/\/127\.0\.0\.1:\d+\/mcp failed \(.*\), so the debug stream had nothing of its own to show$/,
    );
    process.env.MCP_FLEET_ADMIN_TOKEN = 'wrong-token';
    try {
      await expect(debugStreamCall(input({}))).rejects.toThrow(
        /^GET \/admin\/debug\/stream\?requestId=.* answered 401: the bearer credential is not valid: send an API key; the worker's MCP_FLEET_ADMIN_TOKEN must equal/,
      );
    } finally {
      process.env.MCP_FLEET_ADMIN_TOKEN = ADMIN_TOKEN;
    }
  });

  test('sessionsListed finds its own session by its short id, under its principal too, and not once it closed', async () => {
    const r = await sessionsListed(input({}));
    expect(r.summary).toMatch(
      /^GET \/admin\/sessions listed the step's own session [0-9a-f-]{8}… \(mcp-fleet-sessions-[0-9a-f]{8}, api-key:worker, streamable-http \d{4}-\d{2}-\d{2}\), also under its principal's filter, and not once it closed$/,
    );
    expect(r.outcome).toBe('passed');
    expect(gw.sessions.count).toBe(0);
  });

  test('sessionsListed fails on a gateway without the admin API', async () => {
    const plain = await startTestGateway(
      { auth: { apiKeys: { keys: [{ name: 'worker', key: CLIENT_KEY }] } }, servers: { s: scripted(marker, ['--tools', 'echo']) } },
      marker,
    );
    try {
      await expect(sessionsListed({ ...input({}), params: { url: plain.url } })).rejects.toThrow(
        /^GET \/admin\/sessions\?front=streamable-http answered 404: admin API disabled/,
      );
      expect(plain.sessions.count).toBe(0);
    } finally {
      await plain.stop();
    }
  });

  test('adminInventory: every configured server is in the registry, the upstreams and readiness; a server the gateway lacks fails naming it', async () => {
    const r = await adminInventory(input({}));
    expect(r).toMatchObject({
      outcome: 'passed',
      summary: 'registry, upstreams and health answer for all 2 configured servers: s ready (primary ready); t ready (primary ready)',
    });
    const config = join(dir, 'gateway.yaml');
    writeFileSync(config, stringify({ servers: { s: {}, t: {}, ghost: {} } }));
    const missing = await adminInventory({ ...input({}), params: { url: gw.url, config } });
    expect(missing).toMatchObject({
      outcome: 'failed',
      summary: 'GET /admin/servers has no ghost; no upstream (backend) answers for ghost; GET /health/readiness (ready) has no ghost (configured: s, t, ghost)',
    });
  });
});

describe('health-monitoring: alertRules', () => {
  /** A real Prometheus with the shipped config pointed at `target`, scraping every second; `rules` false leaves the rule files out. */
  async function prometheus(name: string, target: string, rules: boolean): Promise<string> {
    const config = parse(readFileSync(join(ROOT, 'prometheus', 'mcp-metrics.yml'), 'utf8'));
    config.global.scrape_interval = '1s';
    config.global.evaluation_interval = '1s';
    config.scrape_configs[0].static_configs[0].targets = [target];
    config.scrape_configs[0].authorization.credentials_file = join(dir, 'admin-token');
    // the pipeline worker's job has no worker here
    config.scrape_configs = config.scrape_configs.slice(0, 1);
    writeFileSync(join(dir, 'admin-token'), ADMIN_TOKEN);
    config.rule_files = rules ? [join(ROOT, 'prometheus', 'mcp-rules.yml')] : [];
    delete config.alerting;
    writeFileSync(join(dir, `${name}.yml`), stringify(config));
    const port = await freePort();
    prometheuses.push(
      await runForeground(
        'prometheus',
        [`--config.file=${join(dir, `${name}.yml`)}`, `--storage.tsdb.path=${join(dir, `${name}-data`)}`, `--web.listen-address=127.0.0.1:${port}`],
        port,
      ),
    );
    return `http://127.0.0.1:${port}`;
  }

  beforeAll(() => execFileSync('bash', [join(ROOT, 'scripts', 'ci-prometheus.sh')], { stdio: 'inherit' }));

  test('passes with the shipped rules loaded and the gateway target up', async () => {
    const url = await prometheus('good', new URL(gw.url).host, true);
    const r = await alertRules(input({ prometheusUrl: url }, 'health-monitoring'));
    expect(r.summary).toMatch(
      new RegExp(
        `^Prometheus at ${url} has loaded all \\d+ rules the gateway ships \\(mcp-fleet-recording: \\d+, mcp-fleet-alerts: \\d+\\) and scrapes the gateway: ${new URL(gw.url).host} up$`,
      ),
    );
    expect(r.outcome).toBe('passed');
  });

  test('fails when the rules are not loaded and the gateway target is down', async () => {
    const closed = await freePort();
    const url = await prometheus('bad', `127.0.0.1:${closed}`, false);
    const r = await alertRules(input({ prometheusUrl: url, scrapeWaitSec: 20 }, 'health-monitoring'));
    expect(r.outcome).toBe('failed');
    expect(r.summary).toMatch(
      new RegExp(
        `^Prometheus at ${url}: (\\d+) of the \\1 shipped rules are not loaded: mcp-fleet-recording/.*McpGatewayDown.*; its mcp-gateway target is not up: 127\\.0\\.0\\.1:${closed} down \\(.*\\)$`,
      ),
    );
  });

  test('fails without a Prometheus, saying how to deploy the observability profile', async () => {
    const project = `obsphase-none-${randomUUID().slice(0, 8)}`;
    const r = await alertRules({ ...input({}, 'health-monitoring'), target: project, params: {} });
    expect(r.outcome).toBe('failed');
    expect(r.summary).toMatch(/^no Prometheus to read the alert rules from: /);
    expect(r.summary).toContain(
      `Deploy the observability profile: set COMPOSE_PROFILES=observability where the worker runs and run --phase health-monitoring --deploy again (or: docker compose -p ${project} --profile observability up -d prometheus)`,
    );
  });
});

test('the new debugging-tools steps run as a phase in a real worker on a real Temporal dev server', async () => {
  const temporal = await startTestTemporal();
  const worker = await startPipelineWorker({ temporal, taskQueue: 'test-debug-phase' });
  const client = await PipelineClient.connect(temporal, 'test-debug-phase');
  try {
    const steps = stepsFor('debugging-tools', 'enhance').filter((s) => ['debug-stream', 'admin-sessions', 'admin-inventory'].includes(s.id));
    expect(steps).toHaveLength(3);
    const h = await client.start({ phase: 'debugging-tools', verb: 'enhance', params: { url: gw.url, servers: ['s', 't'] } }, steps);
    const result = await client.result(h.workflowId);
    expect(result.steps.map((s) => [s.id, s.outcome])).toEqual([
      ['debug-stream', 'passed'],
      ['admin-sessions', 'passed'],
      ['admin-inventory', 'passed'],
    ]);
    expect(result.status).toBe('passed');
  } finally {
    await client.close();
    await worker.stop();
    await temporal.stop();
  }
  expect(processesMentioning(temporal.dir)).toEqual([]);
});
