/**
 * A gateway process loads dockerode, the OpenTelemetry SDK and OTLP exporter, and @redis/client
 * only when its config needs them (issue 13, memory per container; figures in docs/benchmarks.md).
 * Seen from outside the gateway's code: a node process that runs the built gateway (dist/) through
 * its public start function and reports which of those packages its require cache holds. Each one,
 * once loaded, works: a docker server that a reload adds (the first one) serves its tools, traces
 * reach a real Jaeger, the store connects to a real Redis, and Docker-label discovery watches.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connectGateway, type GatewayConnection } from '../../gateway/client/connect';
import { ROOT } from '../containers/support/docker';
import { requireCurrentBuild } from '../helpers/dist';
import { ensureScriptedImage, waitForNoContainers } from '../helpers/docker';
import { newMarker } from '../helpers/gateway';
import { LogCapture } from '../helpers/log-lines';
import { startDevJaeger, type DevJaeger } from '../helpers/jaeger';
import { waitForNoProcesses } from '../helpers/processes';
import { startRedis, type Redis } from '../helpers/redis';
import { scripted } from '../helpers/scripted';
import { waitFor } from '../helpers/wait';

/** The packages a default config must not load, by the directory name under node_modules. */
const WATCHED = ['dockerode', '@opentelemetry/sdk-trace', '@opentelemetry/exporter-trace-otlp-proto', '@redis/client'];

/**
 * Run as `node -e PROBE DIST CONFIG_FILE`: starts the gateway as the CLI does (the file watched and
 * reloaded), says `{url, loaded}` once it listens and `{loaded}` for each line on stdin; at the end
 * of stdin it stops the gateway, says `{stopped}` and must then exit by itself (nothing left open).
 */
const PROBE = `
const [dist, file] = process.argv.slice(1);
const { loadConfigFile } = require(dist + '/gateway/config/load.js');
const { startGateway } = require(dist + '/gateway/gateway.js');
const { createLogger } = require(dist + '/gateway/log.js');
const watched = ${JSON.stringify(WATCHED)};
const loaded = () => watched.filter((m) => Object.keys(require.cache).some((f) => f.includes('/node_modules/' + m + '/')));
const say = (o) => process.stdout.write(JSON.stringify({ ...o, loaded: loaded() }) + '\\n');
(async () => {
  const log = createLogger('info');
  const overrides = { listen: '127.0.0.1:0' };
  const { config } = await loadConfigFile(file, overrides, { log });
  const gw = await startGateway(config, { log, configFile: { path: file, overrides } });
  say({ url: gw.url });
  for await (const _ of require('node:readline').createInterface({ input: process.stdin })) say({});
  await gw.stop();
  say({ stopped: true });
})().catch((err) => {
  process.stderr.write(err.stack + '\\n');
  process.exitCode = 1;
});
`;

interface Probe {
  url: string;
  /** The gateway's JSON log lines as they arrive. */
  log: LogCapture;
  /** Which of WATCHED the process has loaded now. */
  loaded(): Promise<string[]>;
  /** Rewrites the config file (in one rename, as an editor saves it); the gateway reloads it. */
  rewrite(doc: unknown): void;
  /** Stops the gateway; resolves with the process's exit code once it exited by itself. */
  stop(): Promise<number | null>;
}

async function startProbe(doc: unknown): Promise<Probe> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-lazy-'));
  const file = join(dir, 'gw.json');
  const rewrite = (d: unknown) => {
    writeFileSync(`${file}.new`, JSON.stringify(d));
    renameSync(`${file}.new`, file);
  };
  rewrite(doc);
  const child: ChildProcess = spawn(process.execPath, ['-e', PROBE, join(ROOT, 'dist'), file], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const log = new LogCapture();
  const other: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => log.feed(chunk, (text) => other.push(text)));
  const said = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<{ url?: string; loaded: string[]; stopped?: boolean }> => {
    const { value, done } = await said.next();
    if (done) throw new Error(`the probe ended (exit ${await exited}): ${other.slice(-5).join('\n')} ${JSON.stringify(log.lines.slice(-3))}`);
    return JSON.parse(value);
  };
  const { url } = await next();
  return {
    url: url!,
    log,
    rewrite,
    loaded: async () => {
      child.stdin!.write('\n');
      return (await next()).loaded;
    },
    stop: async () => {
      child.stdin!.end();
      expect((await next()).stopped).toBe(true);
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

async function toolNames(connection: GatewayConnection): Promise<string[]> {
  return (await connection.client.listTools()).tools.map((t) => t.name);
}

beforeAll(() => requireCurrentBuild(['gateway', 'test/fixtures']));

describe('a default config (one stdio server)', () => {
  const marker = newMarker();
  const instance = `lazy-${marker.slice(0, 8)}`;
  let image: string;
  let probe: Probe | undefined;
  let connection: GatewayConnection | undefined;

  beforeAll(() => {
    image = ensureScriptedImage();
  }, 120_000);

  afterEach(async () => {
    await connection?.close();
    if (probe) expect(await probe.stop()).toBe(0);
    probe = connection = undefined;
    expect(await waitForNoProcesses(marker)).toEqual([]);
    expect(await waitForNoContainers(instance)).toEqual([]);
  });

  it('loads none of them, and loads dockerode when a reload adds the first docker server, which then serves', async () => {
    const doc = { instance, servers: { s: scripted(marker, ['--tools', 'echo']) } };
    probe = await startProbe(doc);
    connection = await connectGateway(probe.url, 'streamable-http');
    expect(await toolNames(connection)).toEqual(['s__echo']);
    expect(await probe.loaded()).toEqual([]);

    probe.rewrite({ ...doc, servers: { ...doc.servers, box: { docker: { image, command: ['--tools', 'echo'] } } } });
    const c = connection;
    await waitFor(async () => (await toolNames(c)).includes('box__echo'), 'the docker server the reload added');
    expect(await c.client.callTool({ name: 'box__echo', arguments: {} })).toMatchObject({ content: [{ text: 'scripted:echo' }] });
    expect(await probe.loaded()).toEqual(['dockerode']);
  });
});

describe('tracing, a shared store and Docker-label discovery configured', () => {
  const marker = newMarker();
  let jaeger: DevJaeger;
  let redis: Redis;
  let probe: Probe | undefined;
  let connection: GatewayConnection | undefined;

  beforeAll(async () => {
    [jaeger, redis] = await Promise.all([startDevJaeger(), startRedis()]);
  });

  afterAll(async () => {
    await Promise.all([jaeger?.close(), redis?.stop()]);
  });

  afterEach(async () => {
    await connection?.close();
    if (probe) expect(await probe.stop()).toBe(0);
    probe = connection = undefined;
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('loads each of them at startup, and each works', async () => {
    probe = await startProbe({
      tracing: { enabled: true, endpoint: jaeger.otlpUrl, serviceName: `mcp-gateway-${marker.slice(0, 8)}` },
      store: { redis: { url: redis.url } },
      discovery: { docker: { networks: ['bridge'] } },
      servers: { s: scripted(marker, ['--tools', 'echo']) },
    });
    expect(await probe.loaded()).toEqual(WATCHED);

    connection = await connectGateway(probe.url, 'streamable-http');
    const traceId = marker.replace(/-/g, '').slice(0, 32);
    await connection.client.callTool({ name: 's__echo', arguments: {}, _meta: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    await waitFor(() => jaeger.trace(traceId), 'the call in Jaeger');
    await probe.log.waitFor((l) => l.msg === 'shared store (Redis) connected', 'the store connected');
    // the log is asynchronous: read up to the call's own line before looking for what is not there
    await probe.log.waitFor((l) => l.msg === 'call' && l.server === 's', 'the call line');
    expect(probe.log.lines.filter((l) => String(l.msg).startsWith('discovery: cannot reach'))).toEqual([]);
  });
});
