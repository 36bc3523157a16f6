/**
 * What the gateway's admin API reports about routing: every server has a ready backend that gets
 * traffic (service-mesh), and the per-session container pools stay within their bounds
 * (connection-fabric).
 */
import type { StepInput, StepResult } from '../pipeline/types';
import { AdminApi } from './admin';

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

export async function poolStatistics(input: StepInput): Promise<StepResult> {
  const api = await AdminApi.of(input);
  const { pools } = await api.pools();
  if (pools.length === 0)
    return { outcome: 'passed', summary: 'the gateway runs no per-session container pools (every server is shared or remote)', details: { pools } };
  const over = pools.filter((p) => p.warm + p.busy > p.max).map((p) => `${p.server}/${p.backend} holds ${p.warm + p.busy} > max ${p.max}`);
  const line = pools.map((p) => `${p.server}/${p.backend}: ${p.busy} busy, ${p.warm} warm, max ${p.max}, ${p.waiting} waiting`).join('; ');
  if (over.length) return { outcome: 'failed', summary: `pools over their bound: ${over.join('; ')}`, details: { pools } };
  return { outcome: 'passed', summary: line, details: { pools } };
}
