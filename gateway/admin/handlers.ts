/**
 * What each admin route does: list, register and remove servers (service discovery), add and
 * remove backends and shift weights (canary, blue/green), and read call statistics and container
 * pools (rollout gates). Bodies are validated in bodies.ts; the answers' types are in api.ts.
 */
import { exposedTools } from '../catalog/view';
import type { CatalogViews } from '../catalog/views';
import { NO_CALLS, type CallStats } from '../metrics/call-stats';
import { FleetError } from '../protocol/errors';
import { exposedName } from '../protocol/names';
import type { ServerPlan } from '../servers/plan';
import type { ServerRegistry } from '../servers/registry';
import type { PoolEntry } from '../upstream/transports';
import type { PoolsBody, ServerSummary, ServersBody, StatsBody, WeightsBody } from './api';
import { parseBackendBody, parseServerBody, parseWeightsBody, parseWindow } from './bodies';
import type { AdminRoutes } from './router';

export interface AdminDeps {
  registry: ServerRegistry;
  views: CatalogViews;
  stats: CallStats;
  pools(): PoolEntry[];
  separator: string;
  /** True once shutdown began. */
  draining(): boolean;
}

export function adminRoutes(deps: AdminDeps): AdminRoutes {
  const { registry, stats } = deps;
  const summary = (name: string) => summarize(deps, registry.get(name));
  // an upstream started after shutdown began would outlive it
  const notDraining = () => {
    if (deps.draining()) throw new FleetError('SHUTTING_DOWN', 'the gateway is shutting down and starts no new upstreams; send this to another instance');
  };
  return {
    '/admin/servers': {
      GET: () => ({ status: 200, body: { servers: registry.servers.map((p) => summarize(deps, p)) } satisfies ServersBody }),
      POST: async (req) => {
        notDraining();
        const config = parseServerBody(await req.json());
        await registry.addServer(config);
        return { status: 201, body: summary(config.name) };
      },
    },
    '/admin/servers/:name': {
      DELETE: async ({ params }) => {
        await registry.removeServer(params.name);
        stats.forget(params.name);
        return { status: 204 };
      },
    },
    '/admin/servers/:name/backends': {
      POST: async ({ params, json }) => {
        notDraining();
        const spec = parseBackendBody(await json(), registry.get(params.name).config);
        await registry.addBackend(params.name, spec);
        return { status: 201, body: summary(params.name).backends.find((b) => b.id === spec.id) };
      },
    },
    '/admin/servers/:name/backends/:id': {
      DELETE: async ({ params }) => {
        await registry.removeBackend(params.name, params.id);
        stats.forget(params.name, params.id);
        return { status: 204 };
      },
    },
    '/admin/servers/:name/weights': {
      PUT: async ({ params, json }) => {
        registry.get(params.name);
        const weights = registry.setWeights(params.name, parseWeightsBody(await json()));
        return { status: 200, body: { name: params.name, weights } satisfies WeightsBody };
      },
    },
    '/admin/stats': {
      GET: ({ query }) => {
        const windowSec = parseWindow(query);
        const seen = stats.window(windowSec);
        // every backend there is, with zeros when it had no calls; removed ones are gone
        const servers = Object.fromEntries(
          registry.servers.map((p) => [p.name, Object.fromEntries(p.specs.map((s) => [s.id, seen[p.name]?.[s.id] ?? NO_CALLS]))]),
        );
        return { status: 200, body: { windowSec, servers } satisfies StatsBody };
      },
    },
    '/admin/pools': {
      GET: () => ({
        status: 200,
        body: {
          pools: deps
            .pools()
            .map(({ server, backend, pool }) => ({ server, backend, warm: pool.warmCount, busy: pool.busyCount, max: pool.max, waiting: pool.waitingCount })),
        } satisfies PoolsBody,
      }),
    },
  };
}

/**
 * A server's status with the names clients see for its tools: from the shared view, or the view
 * of a session bound to it (per-session servers); before any session, from what the probe found.
 */
function summarize(deps: AdminDeps, plan: ServerPlan): ServerSummary {
  const status = deps.registry.status(plan);
  if (plan.shared) return { ...status, tools: exposedTools(deps.views.for(undefined), plan.name) };
  const owner = deps.registry.ownersOf(plan.name)[0];
  if (owner !== undefined) return { ...status, tools: exposedTools(deps.views.for(owner), plan.name) };
  const probed = [...plan.probes.values()].flatMap((p) => p.toolNames);
  return { ...status, tools: [...new Set(probed.map((name) => exposedName(plan.prefix, deps.separator, name)))] };
}
