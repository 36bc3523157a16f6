/**
 * What each admin route does, over the fleet: list, register and remove servers (service
 * discovery), add and remove backends and shift weights (canary, blue/green), and read call
 * statistics and container pools (rollout gates). Bodies are validated in bodies.ts.
 */
import type { Fleet } from '../fleet';
import { FleetError } from '../protocol/errors';
import { NO_CALLS } from '../metrics/call-stats';
import type { AdminRoutes } from './router';
import { parseBackendBody, parseServerBody, parseWeightsBody, parseWindow } from './bodies';

export function adminRoutes(fleet: Fleet): AdminRoutes {
  const registry = fleet.registry;
  const describe = (name: string) => registry.describe(registry.get(name));
  // an upstream started after shutdown began would outlive it
  const notDraining = () => {
    if (fleet.draining) throw new FleetError('SHUTTING_DOWN', 'the gateway is shutting down and starts no new upstreams; send this to another instance');
  };
  return {
    '/admin/servers': {
      GET: () => ({ status: 200, body: { servers: registry.servers.map((l) => registry.describe(l)) } }),
      POST: async (req) => {
        notDraining();
        const config = parseServerBody(await req.json());
        await registry.addServer(config);
        return { status: 201, body: describe(config.name) };
      },
    },
    '/admin/servers/:name': {
      DELETE: async ({ params }) => {
        await registry.removeServer(params.name);
        fleet.stats.forget(params.name);
        return { status: 204 };
      },
    },
    '/admin/servers/:name/backends': {
      POST: async ({ params, json }) => {
        notDraining();
        const spec = parseBackendBody(await json(), registry.get(params.name).server);
        await registry.addBackend(params.name, spec);
        return { status: 201, body: describe(params.name).backends.find((b) => b.id === spec.id) };
      },
    },
    '/admin/servers/:name/backends/:id': {
      DELETE: async ({ params }) => {
        await registry.removeBackend(params.name, params.id);
        fleet.stats.forget(params.name, params.id);
        return { status: 204 };
      },
    },
    '/admin/servers/:name/weights': {
      PUT: async ({ params, json }) => {
        registry.get(params.name);
        const weights = registry.setWeights(params.name, parseWeightsBody(await json()));
        return { status: 200, body: { name: params.name, weights } };
      },
    },
    '/admin/stats': {
      GET: ({ query }) => {
        const windowSec = parseWindow(query);
        const seen = fleet.stats.window(windowSec);
        // every backend there is, with zeros when it had no calls; removed ones are gone
        const servers = Object.fromEntries(registry.servers.map((l) => [l.name, Object.fromEntries(l.backends.map((b) => [b.id, seen[l.name]?.[b.id] ?? NO_CALLS]))]));
        return { status: 200, body: { windowSec, servers } };
      },
    },
    '/admin/pools': {
      GET: () => ({
        status: 200,
        body: {
          pools: fleet.transports.allPools.map(({ server, backend, pool }) => ({ server, backend, warm: pool.warmCount, busy: pool.busyCount, max: pool.max, waiting: pool.waitingCount })),
        },
      }),
    },
  };
}

