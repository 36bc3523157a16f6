/**
 * What the gateway's admin API reports about routing: every server has a ready backend that gets
 * traffic (service-mesh), and its upstream pools reuse their sessions and stay within their bounds
 * (connection-fabric).
 */
import type { StepInput, StepResult } from '../pipeline/types';
import { AdminApi, type ServerInfo } from './admin';
import { connect, needsNoArguments } from './gateway';

export async function routingWeights(input: StepInput): Promise<StepResult> {
  const api = await AdminApi.of(input);
  const { servers } = await api.servers();
  const routes = Object.fromEntries(servers.map((s) => [s.name, Object.fromEntries(s.backends.map((b) => [b.id, { weight: b.weight, state: b.state }]))]));
  const stranded = servers.filter((s) => !s.backends.some((b) => b.state === 'ready' && b.weight > 0)).map((s) => s.name);
  const line = servers
    .map((s) => `${s.name} (${s.backends.map((b) => `${b.id}=${b.weight}${b.state === 'ready' ? '' : ` ${b.state}`}`).join(', ')})`)
    .join('; ');
  if (stranded.length)
    return { outcome: 'failed', summary: `no ready backend with weight > 0 for ${stranded.join(', ')}: ${line}`, details: { routes, stranded } };
  return { outcome: 'passed', summary: `${servers.length} servers routed: ${line}`, details: { routes } };
}

/** Calls the traffic-shift check sends at each split. */
const SHIFT_CALLS = 20;
/** The id of the backend the check adds for the time it runs. */
const SHIFT_BACKEND = 'mesh-check';

/**
 * service-mesh: traffic really follows the weights. On the first shared server reached over HTTP
 * that offers a read-only tool, the check adds a second backend to the same upstream (a session of
 * its own), sends calls at 50/50 and then at 100/0, and reads from the gateway's statistics where
 * each call went; the backend is removed again whatever happens. A gateway with no such server has
 * nothing to shift, and the step fails.
 */
export async function trafficShift(input: StepInput): Promise<StepResult> {
  const api = await AdminApi.of(input);
  const { servers } = await api.servers();
  const connection = await connect(api.base, 'streamable-http', 'mcp-fleet-mesh-check');
  try {
    const { tools } = await connection.client.listTools();
    const candidates = servers.flatMap((s) => {
      const primary = s.backends.find((b) => b.id === 'primary');
      const tool = tools.find((t) => s.tools.includes(t.name) && t.annotations?.readOnlyHint === true && needsNoArguments(t));
      return s.mode === 'shared' && primary?.state === 'ready' && /^https?:/.test(primary.target) && tool ? [{ server: s, primary, tool }] : [];
    });
    const chosen = candidates[0];
    if (!chosen) {
      return {
        outcome: 'failed',
        summary: 'nothing to shift: no shared server reached over HTTP offers a read-only tool without arguments',
        details: { servers: servers.map((s) => s.name) },
      };
    }
    const { server, primary, tool } = chosen;
    const share = async (weights: Record<string, number>): Promise<Record<string, number>> => {
      await api.setWeights(server.name, weights);
      const before = (await api.stats(60)).servers[server.name] ?? {};
      for (let i = 0; i < SHIFT_CALLS; i++) await connection.client.callTool({ name: tool.name, arguments: {} });
      const after = (await api.stats(60)).servers[server.name] ?? {};
      return Object.fromEntries(Object.keys(weights).map((id) => [id, (after[id]?.calls ?? 0) - (before[id]?.calls ?? 0)]));
    };
    await api.addBackend(server.name, { id: SHIFT_BACKEND, weight: 0, url: primary.target });
    try {
      const even = await share({ primary: 50, [SHIFT_BACKEND]: 50 });
      const all = await share({ primary: 100, [SHIFT_BACKEND]: 0 });
      const details = { server: server.name, tool: tool.name, even, all };
      const line = `${server.name}: 50/50 sent ${even.primary}/${even[SHIFT_BACKEND]}, 100/0 sent ${all.primary}/${all[SHIFT_BACKEND]} (${tool.name})`;
      // smooth weighted round-robin alternates: an even split is exact, give or take the first pick
      const evenOk = Math.abs(even.primary - even[SHIFT_BACKEND]) <= 2 && even.primary + even[SHIFT_BACKEND] === SHIFT_CALLS;
      const allOk = all.primary === SHIFT_CALLS && all[SHIFT_BACKEND] === 0;
      if (!evenOk || !allOk) return { outcome: 'failed', summary: `traffic did not follow the weights: ${line}`, details };
      return { outcome: 'passed', summary: line, details };
    } finally {
      await api.removeBackend(server.name, SHIFT_BACKEND);
      await api.setWeights(server.name, { primary: primary.weight });
    }
  } finally {
    await connection.close();
  }
}

/** Calls per pooled server, sent in bursts of this many at once: enough to make a pool grow, then reuse. */
const POOL_CALLS = 40;
const POOL_BURST = 8;
/** The seed asks more than 90% of requests to find a pooled connection ready. */
const MIN_EFFICIENCY = 0.9;

type PooledBackend = { server: string; backend: string; pool: NonNullable<ServerInfo['backends'][number]['pool']> };

/**
 * connection-fabric: the gateway's upstream pools hold within their bounds and reuse what they
 * open. Each session pool (servers.X.pool) gets bursts of read-only calls through the gateway and
 * must then show reuse of at least 90% and no refused request; per-session container pools must
 * stay within their max. A gateway with no pool at all has nothing to check, and the step fails.
 */
export async function poolStatistics(input: StepInput): Promise<StepResult> {
  const api = await AdminApi.of(input);
  const [{ servers }, { pools }] = await Promise.all([api.servers(), api.pools()]);
  const before = pooledBackends(servers);
  if (before.length === 0 && pools.length === 0) {
    return {
      outcome: 'failed',
      summary: 'nothing to check: the gateway has no upstream pool (set servers.X.pool on a shared Streamable HTTP server, or run a per-session docker server)',
      details: { servers: servers.map((s) => s.name) },
    };
  }
  const problems: string[] = [];
  const over = pools.filter((p) => p.warm + p.busy > p.max).map((p) => `${p.server}/${p.backend} holds ${p.warm + p.busy} containers > max ${p.max}`);
  problems.push(...over);
  const pooled = servers.filter((s) => before.some((b) => b.server === s.name));
  const driven = pooled.length > 0 ? await drivePools(api.base, pooled) : {};
  for (const [server, why] of Object.entries(driven)) if (why) problems.push(`${server}: ${why}`);
  const after = pooledBackends((await api.servers()).servers);
  const measured = after.map((b) => {
    const was = before.find((x) => x.server === b.server && x.backend === b.backend)?.pool;
    const reused = b.pool.reused - (was?.reused ?? 0);
    const created = b.pool.created - (was?.created ?? 0);
    const refused = b.pool.refused - (was?.refused ?? 0);
    const efficiency = reused + created === 0 ? 0 : reused / (reused + created);
    if (reused + created === 0) problems.push(`${b.server}/${b.backend}: no request went through its pool`);
    else if (efficiency < MIN_EFFICIENCY) problems.push(`${b.server}/${b.backend}: reuse ${(efficiency * 100).toFixed(1)}% < ${MIN_EFFICIENCY * 100}%`);
    if (refused > 0) problems.push(`${b.server}/${b.backend}: ${refused} requests refused by a full pool`);
    return { server: b.server, backend: b.backend, size: b.pool.size, reused, created, refused, efficiency };
  });
  const line = [
    ...measured.map((m) => `${m.server}/${m.backend}: ${m.size} sessions, reuse ${(m.efficiency * 100).toFixed(1)}% (${m.reused} reused, ${m.created} opened)`),
    ...pools.map((p) => `${p.server}/${p.backend}: ${p.busy} busy, ${p.warm} warm containers, max ${p.max}, ${p.waiting} waiting`),
  ].join('; ');
  const details = { sessionPools: measured, containerPools: pools };
  if (problems.length) return { outcome: 'failed', summary: `${problems.join('; ')} (${line})`, details };
  return { outcome: 'passed', summary: line, details };
}

function pooledBackends(servers: ServerInfo[]): PooledBackend[] {
  return servers.flatMap((s) => s.backends.flatMap((b) => (b.pool ? [{ server: s.name, backend: b.id, pool: b.pool }] : [])));
}

/**
 * Bursts of calls of a read-only tool (one needing no arguments) of each server; per server, why it
 * could not be driven. A server's tools are the names the admin API gives for it: the gateway makes
 * them (prefix, separator, collisions), so they are never rebuilt here from the server's name.
 */
async function drivePools(base: string, servers: ServerInfo[]): Promise<Record<string, string | undefined>> {
  const connection = await connect(base, 'streamable-http', 'mcp-fleet-pool-check');
  try {
    const { tools } = await connection.client.listTools();
    const out: Record<string, string | undefined> = {};
    for (const { name: server, tools: exposed } of servers) {
      const tool = tools.find((t) => exposed.includes(t.name) && t.annotations?.readOnlyHint === true && needsNoArguments(t));
      if (!tool) {
        out[server] = 'offers no read-only tool without arguments to measure its pool with';
        continue;
      }
      for (let sent = 0; sent < POOL_CALLS; sent += POOL_BURST)
        await Promise.all(Array.from({ length: POOL_BURST }, () => connection.client.callTool({ name: tool.name, arguments: {} })));
    }
    return out;
  } finally {
    await connection.close();
  }
}
