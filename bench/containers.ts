/**
 * `npm run bench:containers`: cold start to MCP-ready and memory per container, on the real engine,
 * for each image and way of running it. Cold start runs from `docker run` until a real MCP
 * initialize is answered (over stdio for the wrapper, over HTTP for the bridge and the gateway);
 * memory is `docker stats` of the container right after initialize and tools/list. Then the compose
 * stack's steady state: memory per service after BENCH_CALLS tool calls through the gateway and a
 * pause; the stack's start until healthy, per service (bench/stack-startup.ts); and the warm pool's
 * hand-out time against a cold start (bench/warm-pool.ts). Prints
 * medians (and min/max) over BENCH_RUNS runs (default 5). Needs the images from `npm run docker:build`.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComposeProject, docker, GATEWAY_IMAGE, requireEngineAndImages, SERVER_IMAGE, TEST_LABEL, uniqueName } from '../test/containers/support/docker';
import { terminating } from '../gateway/termination';
import { Cleanup } from './cleanup';
import { sweepLabelled } from './docker-sweep';
import { spread } from './stats';
import { benchStackStartup } from './stack-startup';
import { benchWarmPool } from './warm-pool';
import { connectHttp } from '../test/containers/support/mcp';
import { memoryOf, watchPeaks } from './container-memory';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const cleanup = new Cleanup();
const benchId = uniqueName('bench');
const LABEL = `${TEST_LABEL}=${benchId}`;
/** The key every HTTP case is called with: the bridges and the gateway refuse unauthenticated callers. */
const TOKEN = randomBytes(24).toString('base64url');
const HARDENED = [
  '--init',
  '--read-only',
  '--tmpfs',
  '/tmp',
  '--cap-drop',
  'ALL',
  '--security-opt',
  'no-new-privileges',
  '--memory',
  '256m',
  '--pids-limit',
  '128',
];
const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
};

interface Sample {
  readyMs: number;
  /** `docker run -d` returned (engine create + start); absent for `docker run -i`. */
  startedMs?: number;
  memMiB: number;
}

/** stdio: `docker run -i` the wrapper; initialize is written at once and timed to its response line. */
async function stdioSample(server: string): Promise<Sample> {
  const name = uniqueName(`bench-stdio-${server}`);
  cleanup.refuseWhenStopping(name);
  const t0 = performance.now();
  const child = spawn(
    'docker',
    ['run', '-i', '--rm', '--name', name, '--label', LABEL, '--network', 'none', ...HARDENED, SERVER_IMAGE, 'mcp-stdio-wrapper.sh', server],
    {
      stdio: ['pipe', 'pipe', 'ignore'],
    },
  );
  const lines = lineReader(child.stdout);
  child.stdin.write(JSON.stringify(INITIALIZE) + '\n');
  const first = await lines.next(30_000);
  const readyMs = performance.now() - t0;
  if (!first.includes('"result"')) throw new Error(`${server}: unexpected answer to initialize: ${first}`);
  child.stdin.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n');
  child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) + '\n');
  await lines.next(30_000);
  const memMiB = await memoryOf(name);
  child.stdin.end();
  await new Promise((r) => child.once('close', r));
  return { readyMs, memMiB };
}

/** HTTP: `docker run -d -p 127.0.0.1::8080`, then initialize (with the bench's key) until answered. */
async function httpSample(image: string, args: string[], env: Record<string, string>, network?: string): Promise<Sample> {
  const name = uniqueName('bench-http');
  cleanup.refuseWhenStopping(name);
  const t0 = performance.now();
  const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  const netArgs = network ? ['--network', network] : [];
  await docker('run', '-d', '--name', name, '--label', LABEL, '-p', '127.0.0.1::8080', ...netArgs, ...HARDENED, ...envArgs, ...args, image);
  const startedMs = performance.now() - t0;
  const port = (await docker('port', name, '8080/tcp')).split('\n')[0].split(':').pop();
  const url = `http://127.0.0.1:${port}/mcp`;
  let session: string | null;
  for (;;) {
    try {
      // A request on a socket the engine's port proxy dropped can stay pending with nothing else
      // keeping the process alive (a run exited 0 mid-way, containers left): this timer does, and
      // ends it (AbortSignal.timeout's timer would not: it is unref'd).
      const stuck = new AbortController();
      const stuckTimer = setTimeout(() => stuck.abort(new DOMException('initialize timed out', 'TimeoutError')), 10_000);
      const [res, body] = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(INITIALIZE),
        signal: stuck.signal,
      })
        .then(async (r) => [r, await r.text()] as const)
        .finally(() => clearTimeout(stuckTimer));
      if (res.ok && body.includes('"result"')) {
        session = res.headers.get('mcp-session-id');
        break;
      }
      // answered, but not with a result: waiting would only hide why
      if (res.status !== 502 && res.status !== 503) throw new Error(`${image}: initialize answered HTTP ${res.status}: ${body.slice(0, 300)}`);
    } catch (err) {
      // fetch failed (not listening yet) or timed out: try again
      if (!(err instanceof TypeError) && (err as Error).name !== 'TimeoutError') throw err;
    }
    if (performance.now() - t0 > 60_000) throw new Error(`${image}: no answer to initialize within 60 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const readyMs = performance.now() - t0;
  const headers = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    authorization: `Bearer ${TOKEN}`,
    'mcp-session-id': session ?? '',
    'mcp-protocol-version': '2025-06-18',
  };
  await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) }).then((r) => r.text());
  await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) }).then((r) => r.text());
  const memMiB = await memoryOf(name);
  await fetch(url, { method: 'DELETE', headers }).catch(() => undefined);
  await docker('rm', '-f', name);
  return { readyMs, startedMs, memMiB };
}

function lineReader(stream: NodeJS.ReadableStream): { next(timeoutMs: number): Promise<string> } {
  let buffer = '';
  const waiting: ((line: string) => void)[] = [];
  const ready: string[] = [];
  stream.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      const w = waiting.shift();
      if (w) w(line);
      else ready.push(line);
    }
  });
  return {
    next: (timeoutMs) =>
      ready.length > 0
        ? Promise.resolve(ready.shift()!)
        : new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no line on stdout within ${timeoutMs} ms`)), timeoutMs);
            waiting.push((line) => {
              clearTimeout(timer);
              resolve(line);
            });
          }),
  };
}

/**
 * The compose stack after a workload: memory per service (docker stats), idle and after calls, and
 * the peak of readings taken back to back from `compose up` until after the calls.
 */
async function stackMemory(calls: number): Promise<{ service: string; idleMiB: number; loadedMiB: number; peakMiB: number }[]> {
  const project = new ComposeProject(['docker-compose.yml'], {}, 'mcpfleet-bench');
  cleanup.refuseWhenStopping(`compose project ${project.name}`);
  const down = cleanup.add(`compose project ${project.name}`, () => project.down());
  const peaks = watchPeaks(project.name);
  const stopPeaks = cleanup.add('memory readings', async () => void (await peaks.stop()));
  try {
    await project.up();
    await project.waitHealthy();
    const services = ['gateway', 'memory', 'filesystem', 'pipeline', 'pipeline-worker', 'temporal'];
    const ids = await Promise.all(services.map((s) => project.container(s)));
    await new Promise((r) => setTimeout(r, 5_000));
    const idle = await Promise.all(ids.map(memoryOf));
    const session = await connectHttp(await project.gatewayAddress(), 'bench');
    try {
      for (let i = 0; i < calls; i++) {
        await session.client.callTool({
          name: 'memory__create_entities',
          arguments: { entities: [{ name: `e${i % 50}`, entityType: 'bench', observations: [`call ${i}`] }] },
        });
        await session.client.callTool({ name: 'filesystem__write_file', arguments: { path: `/data/f${i % 20}.txt`, content: `call ${i}` } });
        if (i % 10 === 0) await session.client.callTool({ name: 'memory__read_graph', arguments: {} });
      }
    } finally {
      await session.close();
    }
    await new Promise((r) => setTimeout(r, 5_000));
    const loaded = await Promise.all(ids.map(memoryOf));
    const peak = await peaks.stop();
    return services.map((service, i) => ({ service, idleMiB: idle[i], loadedMiB: loaded[i], peakMiB: Math.max(peak.get(service) ?? 0, idle[i], loaded[i]) }));
  } finally {
    await stopPeaks();
    await down();
  }
}

async function main(): Promise<void> {
  // registered first, so it runs last: whatever a signal caught half-started goes too
  cleanup.add(`containers and networks labelled ${LABEL}`, () => sweepLabelled(LABEL));
  console.error(`bench-containers: run ${benchId}; what it starts carries the label ${LABEL}`);
  await requireEngineAndImages();
  const network = `${benchId}-net`;
  const configDir = mkdtempSync(join(tmpdir(), 'mcp-fleet-bench-'));
  cleanup.add('config directory', () => rmSync(configDir, { recursive: true, force: true }));
  chmodSync(configDir, 0o755);
  writeFileSync(
    join(configDir, 'gateway.yaml'),
    [
      'listen: 0.0.0.0:8080',
      'http: { allowedHosts: [localhost, 127.0.0.1] }',
      'auth: { apiKeys: { keys: [{ name: bench, key: "${UPSTREAM_TOKEN}" }] } }',
      'servers:',
      '  memory: { url: "http://memory:8080/mcp", headers: { Authorization: "Bearer ${UPSTREAM_TOKEN}" } }',
      '',
    ].join('\n'),
  );
  chmodSync(join(configDir, 'gateway.yaml'), 0o644);
  const results: { what: string; samples: Sample[] }[] = [];
  try {
    cleanup.refuseWhenStopping(`network ${network}`);
    await docker('network', 'create', '--label', LABEL, network);
    // the gateway's upstream: one memory bridge, up before the gateway starts
    await docker(
      'run',
      '-d',
      '--name',
      `${benchId}-memory`,
      '--label',
      LABEL,
      '--network',
      network,
      '--network-alias',
      'memory',
      ...HARDENED,
      '-e',
      'MCP_SERVER=memory',
      '-e',
      'MCP_SERVICE_HOST=memory',
      '-e',
      `UPSTREAM_TOKEN=${TOKEN}`,
      SERVER_IMAGE,
    );

    const cases: { what: string; sample: () => Promise<Sample> }[] = [
      { what: 'mcp-server, stdio: memory', sample: () => stdioSample('memory') },
      { what: 'mcp-server, stdio: filesystem', sample: () => stdioSample('filesystem') },
      { what: 'mcp-server, stdio: everything', sample: () => stdioSample('everything') },
      { what: 'mcp-server, HTTP bridge: memory', sample: () => httpSample(SERVER_IMAGE, [], { MCP_SERVER: 'memory', UPSTREAM_TOKEN: TOKEN }) },
      { what: 'mcp-server, HTTP bridge: filesystem', sample: () => httpSample(SERVER_IMAGE, [], { MCP_SERVER: 'filesystem', UPSTREAM_TOKEN: TOKEN }) },
      {
        what: 'gateway, HTTP, 1 remote upstream',
        sample: () =>
          httpSample(GATEWAY_IMAGE, ['-v', `${join(configDir, 'gateway.yaml')}:/etc/mcp-fleet/gateway.yaml:ro`], { UPSTREAM_TOKEN: TOKEN }, network),
      },
    ];
    for (const c of cases) {
      await c.sample(); // warm-up: page cache, image layers
      const samples: Sample[] = [];
      for (let i = 0; i < RUNS; i++) samples.push(await c.sample());
      results.push({ what: c.what, samples });
      const ready = spread(samples.map((s) => s.readyMs));
      console.error(`bench-containers: ${c.what}: ready in ${ready.median.toFixed(0)} ms (median of ${RUNS})`);
    }
  } finally {
    await sweepLabelled(LABEL);
  }

  const calls = Number(process.env.BENCH_CALLS ?? 300);
  const stack = await stackMemory(calls);

  const engine = (await docker('version', '--format', '{{.Server.Version}}')).trim();
  const base = (await docker('image', 'inspect', '--format', '{{index .Config.Labels "org.opencontainers.image.base.name"}}', SERVER_IMAGE)).trim();
  console.log(`\ncontainers: cold start to MCP-ready and memory, ${RUNS} runs each (after one warm-up), engine ${engine}, base ${base}`);
  console.log('| image, mode | ready (initialize answered) median [min-max] | docker run -d returned, median | memory (docker stats) median [max] |');
  console.log('|---|---|---|---|');
  for (const { what, samples } of results) {
    const ready = spread(samples.map((s) => s.readyMs));
    const started = samples[0].startedMs === undefined ? undefined : spread(samples.map((s) => s.startedMs!));
    const mem = spread(samples.map((s) => s.memMiB));
    console.log(
      `| ${what} | ${ready.median.toFixed(0)} ms [${ready.min.toFixed(0)}-${ready.max.toFixed(0)}] | ${started ? `${started.median.toFixed(0)} ms` : 'n/a (docker run -i)'} | ${mem.median.toFixed(1)} MiB [${mem.max.toFixed(1)}] |`,
    );
  }
  console.log(
    `\ncompose stack (docker-compose.yml): memory per container, idle 5 s after healthy, then 5 s after ${calls} rounds of memory + filesystem calls; peak of readings back to back from compose up on`,
  );
  console.log('| service | idle | after the calls | peak | limit |');
  console.log('|---|---|---|---|---|');
  const limits: Record<string, string> = { gateway: '256M', memory: '192M', filesystem: '192M', pipeline: '192M', 'pipeline-worker': '256M', temporal: '384M' };
  for (const s of stack)
    console.log(`| ${s.service} | ${s.idleMiB.toFixed(1)} MiB | ${s.loadedMiB.toFixed(1)} MiB | ${s.peakMiB.toFixed(1)} MiB | ${limits[s.service]} |`);
  const worstReady = Math.max(...results.map((r) => spread(r.samples.map((s) => s.readyMs)).median));
  const worstMem = Math.max(...results.map((r) => spread(r.samples.map((s) => s.memMiB)).median), ...stack.map((s) => s.peakMiB));
  await benchStackStartup(Math.min(RUNS, 3), cleanup);
  await benchWarmPool(SERVER_IMAGE, RUNS, cleanup);
  console.log(
    `\nseed targets: start < 5000 ms (aim <= 1500): worst median ${worstReady.toFixed(0)} ms; memory < 100 MB: worst ${worstMem.toFixed(1)} MiB (the stack's peak included)`,
  );
}

cleanup.onTermination('bench-containers');
main().then(
  () => finish(0),
  (err: Error) => {
    if (!cleanup.stopping) console.error(`bench-containers: ${err.message}`);
    return finish(1);
  },
);

/** Cleans up and exits, unless a signal's cleanup is under way: that one exits (128 + signo). */
async function finish(code: number): Promise<void> {
  await cleanup.runAll();
  if (!terminating()) process.exit(code);
}
