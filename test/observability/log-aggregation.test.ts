/**
 * Log aggregation through Docker's own fluentd logging driver (the real forward protocol) into a
 * real aggregator: the collector of scripts/install-log-aggregator.sh with fluentd/log-aggregator.yaml
 * (fluentd itself cannot be installed here). A bridge container's pino JSON lines arrive with their
 * fields and the driver's tag, a request's X-Request-Id included, and a line that is not JSON as it
 * was written; the options of
 * docker/logging-driver.json are the ones used; a down aggregator does not stop a container with
 * fluentd-async (and does without it); docker-compose.logging.yml gives every service the driver.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { connectGateway, type GatewayConnection } from '../../gateway/client/connect';
import { ComposeProject, docker, requireEngineAndImages, ROOT, sh, SERVER_IMAGE, TEST_LABEL, uniqueName } from '../containers/support/docker';
import { startLogAggregator, type AggregatedLine, type LogAggregator } from '../helpers/log-aggregator';
import { freePort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';

jest.setTimeout(120_000);

const RUN = uniqueName('logagg');
/** docker/logging-driver.json: the daemon-wide setting users copy; its options are the test's. */
const DRIVER = JSON.parse(readFileSync(join(ROOT, 'docker', 'logging-driver.json'), 'utf8')) as { 'log-driver': string; 'log-opts': Record<string, string> };
let aggregator: LogAggregator;

/** `--log-driver` and `--log-opt`s from docker/logging-driver.json, with the address and tag given. */
function driverArgs(address: string, tag: string): string[] {
  const opts = { ...DRIVER['log-opts'], 'fluentd-address': address, tag };
  return ['--log-driver', DRIVER['log-driver'], ...Object.entries(opts).flatMap(([k, v]) => ['--log-opt', `${k}=${v}`])];
}

beforeAll(async () => {
  await requireEngineAndImages([SERVER_IMAGE]);
  aggregator = await startLogAggregator();
});

afterAll(async () => {
  const left = await removeOurContainers();
  await aggregator?.close();
  expect(left).toEqual([]);
  expect(existsSync(aggregator.dir)).toBe(false);
  expect(existsSync(`/proc/${aggregator.pid}`)).toBe(false); // killed and reaped
});

test('docker/logging-driver.json is the fluentd driver, async, tagged mcp-fleet.<container name>', () => {
  expect(DRIVER).toEqual({
    'log-driver': 'fluentd',
    'log-opts': { 'fluentd-address': '127.0.0.1:24224', 'fluentd-async': 'true', tag: 'mcp-fleet.{{.Name}}' },
  });
});

test("a bridge container's JSON log lines arrive in the aggregate with their fields, tag and the request's X-Request-Id", async () => {
  const name = `${RUN}-bridge`;
  const token = randomBytes(24).toString('hex');
  const identity = ['--name', name, '--label', `${TEST_LABEL}=${RUN}`];
  const bridge = ['-e', `UPSTREAM_TOKEN=${token}`, '-p', '127.0.0.1::8080'];
  await docker('run', '-d', ...identity, ...bridge, ...driverArgs(aggregator.address, `mcp-fleet.${name}`), SERVER_IMAGE);
  const ofContainer = () => aggregator.lines().filter((l) => l.containerName === `/${name}`);

  const started = await waitFor(() => ofContainer().find((l) => l.fields?.msg === 'gateway listening'), 'the bridge to log that it listens, in the aggregate');
  expect(started).toMatchObject({ tag: `mcp-fleet.${name}`, source: 'stderr', fields: { service: 'mcp-gateway', level: 30 } });
  expect(started.containerId).toMatch(/^[0-9a-f]{64}$/);

  const address = (await docker('port', name, '8080/tcp')).trim().split('\n')[0];
  const requestId = `logagg-${randomBytes(6).toString('hex')}`;
  const connection: GatewayConnection = await connectGateway(`http://${address}`, 'streamable-http', {
    name: 'log-aggregation-test',
    headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId },
  });
  try {
    await connection.client.callTool({ name: 'read_graph', arguments: {} });
  } finally {
    await connection.close();
  }
  const call = await waitFor(
    () => ofContainer().find((l) => l.fields?.requestId === requestId && l.fields?.msg === 'call'),
    `the call line with requestId ${requestId}`,
  );
  expect(call.fields).toMatchObject({ service: 'mcp-gateway', level: 30, method: 'tools/call', server: 'server' });
  // every line of the container is one record, each the JSON the bridge wrote
  const gatewayLines = ofContainer().filter((l: AggregatedLine) => l.fields?.service === 'mcp-gateway');
  expect(gatewayLines.length).toBeGreaterThan(2);
  expect(gatewayLines.every((l) => typeof l.fields?.msg === 'string' && typeof l.fields?.time === 'string')).toBe(true);
});

test('a line that is not JSON arrives as it was written, with no fields, tagged and with its stream', async () => {
  const name = `${RUN}-plain`;
  const line = `plain text ${randomBytes(4).toString('hex')} {not json`;
  const r = await sh('docker', [
    'run',
    '--name',
    name,
    '--label',
    `${TEST_LABEL}=${RUN}`,
    ...driverArgs(aggregator.address, 'mcp-fleet.plain'),
    '--entrypoint',
    'sh',
    SERVER_IMAGE,
    '-c',
    `echo '${line}' >&2`,
  ]);
  expect(r.code).toBe(0);
  const found = await waitFor(() => aggregator.lines().find((l) => l.containerName === `/${name}`), 'the plain line in the aggregate');
  expect(found).toMatchObject({ tag: 'mcp-fleet.plain', source: 'stderr', log: line });
  expect(found.fields).toBeUndefined();
});

test('with fluentd-async a down aggregator does not stop a container; without it the container does not start', async () => {
  const nobody = `127.0.0.1:${await freePort()}`;
  const run = (opts: string[]) =>
    sh('docker', [
      'run',
      '--rm',
      '--label',
      `${TEST_LABEL}=${RUN}`,
      '--log-driver',
      'fluentd',
      '--log-opt',
      `fluentd-address=${nobody}`,
      ...opts,
      '--entrypoint',
      'sh',
      SERVER_IMAGE,
      '-c',
      'echo written',
    ]);
  const async = await run(['--log-opt', 'fluentd-async=true']);
  expect(async.code).toBe(0);
  const blocking = await run(['--log-opt', 'fluentd-retry-wait=10ms', '--log-opt', 'fluentd-max-retries=1']);
  expect(blocking.code).not.toBe(0);
  expect(blocking.stderr).toMatch(/connection refused|dial tcp/i);
});

test('docker-compose.logging.yml sends every service of the stack to the aggregator, tagged mcp-fleet.<service>', async () => {
  const project = new ComposeProject(
    ['docker-compose.yml', 'docker-compose.logging.yml'],
    { MCP_FLEET_LOG_FORWARD_ADDRESS: aggregator.address },
    'mcpfleet-logcfg',
  );
  const r = await project.compose('config');
  expect(r.stderr).not.toMatch(/error/i);
  expect(r.code).toBe(0);
  const services = parseYaml(r.stdout).services as Record<string, { logging?: { driver: string; options: Record<string, string> } }>;
  expect(Object.keys(services).length).toBeGreaterThan(5);
  for (const [name, service] of Object.entries(services))
    expect([name, service.logging]).toEqual([
      name,
      { driver: 'fluentd', options: { 'fluentd-address': aggregator.address, 'fluentd-async': 'true', tag: `mcp-fleet.${name}` } },
    ]);
});

/** Removes this run's containers; returns those still there. */
async function removeOurContainers(): Promise<string[]> {
  const ids = () => docker('ps', '-aq', '--filter', `label=${TEST_LABEL}=${RUN}`).then((out) => out.split('\n').filter(Boolean));
  const found = await ids();
  if (found.length > 0) await docker('rm', '-f', ...found);
  return ids();
}
