/**
 * `npm run bench:failover` (also scripts/failover-test.sh): what losing a replica costs, on real
 * parts. (1) Three replicas of a server in containers (mcp-fleet/mcp-server, the memory bridge)
 * behind one gateway, as backends of one server reached through a session pool; several clients
 * call a read-only tool in a loop; one replica is killed (docker kill). (2) Two gateway processes
 * behind haproxy (haproxy/mcp-lb.cfg) sharing sessions in Redis; 2025 sessions and 2026-07-28
 * clients call in a loop; one gateway is killed (SIGKILL); twice, with the tool listed as safe for
 * haproxy to repeat on the other replica and not. For each: failed calls, and the
 * recovery time (from the kill to the last failed call; 0 when none failed). Then the health
 * endpoint: /health/readiness latency against /health/liveness (the baseline) in the same run, and
 * the pool's reuse. Everything it starts is stopped on exit, on error and on Ctrl-C.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { connectGateway } from '../gateway/client/connect';
import { connectModernGateway } from '../gateway/client/connect-modern';
import { Load, type LoadClient } from '../gateway/client/load';
import { parseConfig } from '../gateway/config/load';
import { startGateway } from '../gateway/gateway';
import { createLogger } from '../gateway/log';
import { docker, requireEngineAndImages, SERVER_IMAGE, TEST_LABEL, uniqueName } from '../test/containers/support/docker';
import { spawnGateway } from '../test/helpers/gateway-process';
import { startHaproxy } from '../test/helpers/load-balancers';
import { freePort } from '../test/helpers/ports';
import { ensureLoadBalancerTools, startRedis } from '../test/helpers/redis';
import { scripted } from '../test/helpers/scripted';
import { waitFor } from '../test/helpers/wait';
import { terminating } from '../gateway/termination';
import { Cleanup } from './cleanup';
import { sweepLabelled } from './docker-sweep';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const BEFORE_MS = Number(process.env.BENCH_BEFORE_MS ?? 3_000);
const AFTER_MS = Number(process.env.BENCH_AFTER_MS ?? 10_000);
const HEALTH_PROBES = Number(process.env.BENCH_HEALTH_PROBES ?? 2_000);
const ADMIN_TOKEN = randomUUID() + randomUUID();
const KEY = `bench-${randomUUID()}`;
/** The key the bridges take (their bridge.yaml authenticates clients with UPSTREAM_TOKEN). */
const UPSTREAM_TOKEN = `bench-upstream-${randomUUID()}`;

interface Outcome {
  calls: number;
  failed: number;
  recoveryMs: number;
}

/** Runs a load, kills something BEFORE_MS in, and keeps the load AFTER_MS longer. */
async function killUnderLoad(clients: LoadClient[], kill: () => Promise<void>): Promise<Outcome> {
  const load = new Load(clients);
  await new Promise((r) => setTimeout(r, BEFORE_MS));
  const killedAt = performance.now();
  await kill();
  await new Promise((r) => setTimeout(r, AFTER_MS));
  await load.stop();
  const figures = load.figures(killedAt);
  return { calls: figures.calls, failed: figures.failedCalls, recoveryMs: figures.lastFailureMs };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function probe(url: string): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < HEALTH_PROBES; i++) {
    const t0 = performance.now();
    await fetch(url).then((r) => r.text());
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

async function serverReplicas(cleanup: Cleanup, label: string): Promise<string> {
  const ports: number[] = [];
  const names: string[] = [];
  for (let i = 0; i < 3; i++) {
    const name = uniqueName(`bench-failover-${i}`);
    cleanup.refuseWhenStopping(`container ${name}`);
    cleanup.add(`container ${name}`, () => docker('rm', '-f', name).then(() => undefined));
    await docker(
      'run',
      '-d',
      '--name',
      name,
      '--label',
      label,
      '-p',
      '127.0.0.1::8080',
      '-e',
      'MCP_SERVER=memory',
      '-e',
      `UPSTREAM_TOKEN=${UPSTREAM_TOKEN}`,
      SERVER_IMAGE,
    );
    ports.push(Number((await docker('port', name, '8080/tcp')).split('\n')[0].split(':').pop()));
    names.push(name);
  }
  const doc = {
    listen: '127.0.0.1:0',
    admin: { token: ADMIN_TOKEN, register: { urls: ['http://127.0.0.1:*/mcp'] } },
    log: { level: 'warn', calls: false },
    servers: {
      mem: {
        url: `http://127.0.0.1:${ports[0]}/mcp`,
        protocol: '2025-11-25',
        headers: { authorization: `Bearer ${UPSTREAM_TOKEN}` },
        pool: { min: 1, max: 4, maxConcurrent: 4 },
        healthCheck: { intervalMs: 500, timeoutMs: 500, unhealthyThreshold: 1 },
        restart: { initialDelayMs: 200, maxDelayMs: 2_000 },
        // a call caught on the killed replica is retried on another (read_graph reads only), and
        // the dead one's breaker takes it out of picking until a probe finds it back
        retry: { attempts: 2, backoff: { initialMs: 20, maxMs: 200 }, idempotentTools: ['read_graph'] },
        breaker: { consecutive: 2, halfOpenAfterMs: 2_000 },
      },
    },
  };
  const gw = await startGateway(parseConfig(doc, 'bench:failover'), { log: createLogger('warn') });
  cleanup.add('gateway', () => gw.stop());
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  for (let i = 1; i < 3; i++) {
    const res = await fetch(`${gw.url}/admin/servers/mem/backends`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ id: `replica-${i}`, weight: 100, url: `http://127.0.0.1:${ports[i]}/mcp` }),
    });
    if (!res.ok) throw new Error(`adding replica ${i}: ${res.status} ${await res.text()}`);
  }
  // the load starts once every replica serves: a container's published port accepts before its
  // bridge listens, so the first connections may be reset, which is start-up, not failover
  await waitFor(
    async () => {
      const body = (await (await fetch(`${gw.url}/admin/servers`, { headers: admin })).json()) as { servers: { backends: { state: string }[] }[] };
      return body.servers[0].backends.length === 3 && body.servers[0].backends.every((b) => b.state === 'ready');
    },
    'the three replicas to serve',
    60_000,
  );
  const connections = await Promise.all(Array.from({ length: CLIENTS }, () => connectGateway(gw.url!, 'streamable-http')));
  cleanup.add('clients', () => Promise.all(connections.map((c) => c.close().catch(() => {}))).then(() => undefined));
  const clients = connections.map((c) => ({ call: () => c.client.callTool({ name: 'mem__read_graph', arguments: {} }) }));
  const result = await killUnderLoad(clients, () => docker('kill', names[1]).then(() => undefined));
  const health = { readiness: await probe(`${gw.url}/health/readiness`), liveness: await probe(`${gw.url}/health/liveness`) };
  const servers = (await (await fetch(`${gw.url}/admin/servers`, { headers: admin })).json()) as {
    servers: { backends: { id: string; pool?: { efficiency: number; reused: number; created: number } }[] }[];
  };
  const pools = servers.servers[0].backends.flatMap((b) =>
    b.pool ? [`${b.id} ${(b.pool.efficiency * 100).toFixed(1)}% (${b.pool.reused} reused, ${b.pool.created} opened)`] : [],
  );
  return [
    `| server replica killed (3 containers, ${CLIENTS} clients, read_graph) | ${result.calls} | ${result.failed} | ${result.recoveryMs.toFixed(0)} ms |`,
    '',
    `Health endpoint over ${HEALTH_PROBES} sequential probes: readiness p50 ${health.readiness.p50.toFixed(2)} ms, p99 ${health.readiness.p99.toFixed(2)} ms; ` +
      `liveness (baseline) p50 ${health.liveness.p50.toFixed(2)} ms, p99 ${health.liveness.p99.toFixed(2)} ms; readiness/liveness p99 ${(health.readiness.p99 / health.liveness.p99).toFixed(2)}x.`,
    `Pool reuse per backend: ${pools.join('; ')}.`,
  ].join('\n');
}

/**
 * The gateway kill, with `s__echo` listed as safe to repeat in haproxy's mcp-idempotent-tools.lst
 * (`repeatable`: a call in flight on the killed replica is sent to the other) or not (it fails).
 */
async function gatewayReplicas(cleanup: Cleanup, marker: string, repeatable: boolean): Promise<string> {
  ensureLoadBalancerTools();
  const redis = await startRedis();
  cleanup.add('redis', () => redis.stop());
  const ports = [await freePort(), await freePort()];
  const doc = {
    auth: { apiKeys: { keys: [{ name: 'bench', key: KEY }] } },
    store: { redis: { url: redis.url } },
    stateless: { stateKeys: [{ id: 'k1', secret: randomUUID() + randomUUID() }] },
    // info: the replica says when it listens (spawnGateway waits for that line)
    log: { level: 'info', calls: false },
    servers: { s: scripted(marker, ['--tools', 'echo']) },
  };
  const replicas: { child: ChildProcess; dir: string }[] = [];
  for (const port of ports) {
    const r = await spawnGateway(doc, marker, { listen: `127.0.0.1:${port}` });
    replicas.push(r);
    cleanup.add(`gateway replica ${port}`, () => {
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM');
      rmSync(r.dir, { recursive: true, force: true });
    });
  }
  const lb = await startHaproxy(ports, { idempotentTools: repeatable ? ['s__echo'] : [] });
  cleanup.add('haproxy', () => lb.stop());
  const headers = { authorization: `Bearer ${KEY}` };
  const legacy = await Promise.all(Array.from({ length: CLIENTS / 2 }, () => connectGateway(lb.url, 'streamable-http', { headers })));
  const modern = await Promise.all(Array.from({ length: CLIENTS / 2 }, () => connectModernGateway(lb.url, { headers })));
  cleanup.add('clients', () => Promise.all([...legacy, ...modern].map((c) => c.close().catch(() => {}))).then(() => undefined));
  const clients = [
    ...legacy.map((c) => ({ call: () => c.client.callTool({ name: 's__echo', arguments: {} }) })),
    ...modern.map((c) => ({ call: () => c.client.callTool({ name: 's__echo', arguments: {} }) })),
  ];
  const result = await killUnderLoad(clients, async () => void replicas[0].child.kill('SIGKILL'));
  const what = `gateway replica killed behind haproxy (2 replicas, ${CLIENTS / 2} sessions + ${CLIENTS / 2} stateless clients, echo ${repeatable ? 'listed' : 'not listed'} as safe to repeat)`;
  return `| ${what} | ${result.calls} | ${result.failed} | ${result.recoveryMs.toFixed(0)} ms |`;
}

async function main(): Promise<number> {
  const cleanup = new Cleanup();
  const benchId = uniqueName('bench-failover');
  const label = `${TEST_LABEL}=${benchId}`;
  cleanup.onTermination('bench:failover');
  // registered first, so it runs last: a container a signal caught half-created goes too
  cleanup.add(`containers labelled ${label}`, () => sweepLabelled(label));
  process.stderr.write(`bench:failover: run ${benchId}; its containers carry the label ${label}\n`);
  try {
    await requireEngineAndImages([SERVER_IMAGE]);
    process.stdout.write(
      `## bench:failover (${new Date().toISOString().slice(0, 10)}): ${BEFORE_MS / 1000} s of load, a kill, ${AFTER_MS / 1000} s more\n\n| what | calls | failed | recovery |\n|---|---|---|---|\n`,
    );
    const servers = await serverReplicas(cleanup, label);
    const gateways = [await gatewayReplicas(cleanup, `${benchId}-repeated`, true), await gatewayReplicas(cleanup, `${benchId}-not-repeated`, false)].join('\n');
    const [row, ...rest] = servers.split('\n');
    process.stdout.write(`${row}\n${gateways}\n${rest.join('\n')}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`bench:failover failed: ${(err as Error).stack ?? err}\n`);
    return 1;
  } finally {
    await cleanup.runAll();
  }
}

// after a signal, its cleanup exits (128 + signo), not the benchmark's own end
void main().then((code) => terminating() || process.exit(code));
