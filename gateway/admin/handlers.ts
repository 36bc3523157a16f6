/**
 * What each admin route does, and the role it needs: list, register and remove servers (service
 * discovery; only what the registration allowlist names), add and remove backends and shift
 * weights (canary, blue/green), read call statistics and container pools (rollout gates), and
 * add, rotate and revoke API keys, list what Docker-label discovery found, reload the config
 * file, list the open client sessions (sessions.ts), the last refusals and what this gateway is
 * (the status page reads those two), and take heap snapshots and CPU profiles (profiling.ts). Bodies are validated in bodies.ts; the answers' types are in api.ts.
 */
import type { ApiKeyStore } from '../auth/api-keys';
import type { Principal } from '../auth/principal';
import { exposedTools } from '../catalog/view';
import type { CatalogViews } from '../catalog/views';
import type { ReloadOutcome } from '../config/diff';
import { NO_CALLS, type CallStats } from '../metrics/call-stats';
import type { Refusal } from '../metrics/recent-refusals';
import { FleetError } from '../protocol/errors';
import { exposedName } from '../protocol/names';
import type { DiscoveredContainer } from '../discovery/docker-watch';
import type { ServerPlan } from '../servers/plan';
import type { ServerRegistry } from '../servers/registry';
import type { OpenSession } from '../session/sessions';
import type { PoolEntry } from '../upstream/transports';
import type { DiscoveryBody, InfoBody, KeysBody, NewKeyBody, PoolsBody, RefusalsBody, ServerSummary, ServersBody, StatsBody, WeightsBody } from './api';
import { parseBackendBody, parseNewKeyBody, parseRotateBody, parseSeconds, parseServerBody, parseWeightsBody, parseWindow } from './bodies';
import type { Profiler } from './profiling';
import type { RegistrationAllowlist } from './registration';
import { listSessions, parseSessionsQuery } from './sessions';
import type { AdminRoutes } from './router';

export interface AdminDeps {
  registry: ServerRegistry;
  /** What may be registered at run time. */
  allowlist: RegistrationAllowlist;
  /** The API keys of client authentication, when it takes any. */
  apiKeys: ApiKeyStore | undefined;
  /** One log line per change, naming who made it (never a key or a body). */
  audit(principal: Principal, what: string, details: Record<string, unknown>): void;
  views: CatalogViews;
  stats: CallStats;
  pools(): PoolEntry[];
  /** The containers Docker-label discovery looked at; undefined when it is off. */
  discovered(): DiscoveredContainer[] | undefined;
  separator: string;
  /** True once shutdown began. */
  draining(): boolean;
  /** Reads and applies the config file again; absent when the gateway was not started from one. */
  reload?: (trigger: string) => Promise<ReloadOutcome>;
  /** The last refusals of the door and the limits, newest first. */
  refusals(): Refusal[];
  /** The client sessions open now, over every front. */
  sessions(): OpenSession[];
  /** What GET /admin/info says of this gateway. */
  info: InfoBody;
  profiler: Profiler;
}

export function adminRoutes(deps: AdminDeps): AdminRoutes {
  const { registry, stats, allowlist } = deps;
  const summary = (name: string) => summarize(deps, registry.get(name));
  // an upstream started after shutdown began would outlive it
  const notDraining = () => {
    if (deps.draining()) throw new FleetError('SHUTTING_DOWN', 'the gateway is shutting down and starts no new upstreams; send this to another instance');
  };
  const keys = () => {
    if (!deps.apiKeys) throw new FleetError('CONFLICT', 'this gateway takes no API keys: add auth.apiKeys to its config');
    return deps.apiKeys;
  };
  return {
    '/admin/servers': {
      GET: { role: 'admin:read', handle: () => ({ status: 200, body: { servers: registry.servers.map((p) => summarize(deps, p)) } satisfies ServersBody }) },
      POST: {
        role: 'admin:register',
        handle: async (req) => {
          notDraining();
          const config = parseServerBody(await req.json());
          await allowlist.check(config);
          await registry.addServer(config);
          deps.audit(req.principal, 'server registered', { server: config.name });
          return { status: 201, body: summary(config.name) };
        },
      },
    },
    '/admin/servers/:name': {
      DELETE: {
        role: 'admin:register',
        handle: async ({ params, principal }) => {
          await registry.removeServer(params.name);
          stats.forget(params.name);
          deps.audit(principal, 'server removed', { server: params.name });
          return { status: 204 };
        },
      },
    },
    '/admin/servers/:name/backends': {
      POST: {
        role: 'admin:operate',
        handle: async ({ params, json, principal }) => {
          notDraining();
          const server = registry.get(params.name).config;
          const spec = parseBackendBody(await json(), server);
          await allowlist.check(spec.config, server);
          await registry.addBackend(params.name, spec);
          deps.audit(principal, 'backend added', { server: params.name, backend: spec.id });
          return { status: 201, body: summary(params.name).backends.find((b) => b.id === spec.id) };
        },
      },
    },
    '/admin/servers/:name/backends/:id': {
      DELETE: {
        role: 'admin:operate',
        handle: async ({ params, principal }) => {
          await registry.removeBackend(params.name, params.id);
          stats.forget(params.name, params.id);
          deps.audit(principal, 'backend removed', { server: params.name, backend: params.id });
          return { status: 204 };
        },
      },
    },
    '/admin/servers/:name/weights': {
      PUT: {
        role: 'admin:operate',
        handle: async ({ params, json, principal }) => {
          registry.get(params.name);
          const weights = registry.setWeights(params.name, parseWeightsBody(await json()));
          deps.audit(principal, 'weights changed', { server: params.name, weights });
          return { status: 200, body: { name: params.name, weights } satisfies WeightsBody };
        },
      },
    },
    '/admin/reload': {
      POST: {
        // a reload can start whatever the file names: as much as registering servers
        role: 'admin:register',
        handle: async ({ principal }) => {
          if (!deps.reload) throw new FleetError('CONFLICT', 'this gateway was not started from a config file; there is nothing to reload');
          const outcome = await deps.reload(`POST /admin/reload by ${principal.id}`);
          deps.audit(principal, 'config reload', { result: outcome.result });
          // a refusal keeps the error shape of every other refusal, with the file and the problems
          return outcome.result === 'applied' ? { status: 200, body: outcome } : { status: 422, body: { ...outcome, error: outcome.error } };
        },
      },
    },
    '/admin/stats': {
      GET: {
        role: 'admin:read',
        handle: ({ query }) => {
          const windowSec = parseWindow(query);
          const seen = stats.window(windowSec);
          // every backend there is, with zeros when it had no calls; removed ones are gone
          const servers = Object.fromEntries(
            registry.servers.map((p) => {
              const live = registry.status(p).backends;
              return [
                p.name,
                Object.fromEntries(
                  p.specs.map((s) => {
                    const breaker = live.find((b) => b.id === s.id)?.breaker;
                    return [s.id, { ...(seen[p.name]?.[s.id] ?? NO_CALLS), ...(breaker ? { breaker } : {}) }];
                  }),
                ),
              ];
            }),
          );
          return { status: 200, body: { windowSec, servers } satisfies StatsBody };
        },
      },
    },
    '/admin/pools': {
      GET: {
        role: 'admin:read',
        handle: () => ({
          status: 200,
          body: {
            pools: deps
              .pools()
              .map(({ server, backend, pool }) => ({ server, backend, warm: pool.warmCount, busy: pool.busyCount, max: pool.max, waiting: pool.waitingCount })),
          } satisfies PoolsBody,
        }),
      },
    },
    '/admin/discovery': {
      GET: {
        role: 'admin:read',
        handle: () => {
          const containers = deps.discovered();
          return { status: 200, body: { enabled: containers !== undefined, containers: containers ?? [] } satisfies DiscoveryBody };
        },
      },
    },
    '/admin/sessions': {
      GET: { role: 'admin:read', handle: ({ query }) => ({ status: 200, body: listSessions(deps.sessions(), parseSessionsQuery(query)) }) },
    },
    '/admin/refusals': {
      GET: { role: 'admin:read', handle: () => ({ status: 200, body: { refusals: deps.refusals() } satisfies RefusalsBody }) },
    },
    '/admin/debug/heap-snapshot': {
      POST: {
        role: 'admin:debug',
        handle: ({ principal }) => {
          const data = deps.profiler.heapSnapshot();
          deps.audit(principal, 'heap snapshot taken', {});
          return { status: 200, file: { name: `gateway-${Date.now()}.heapsnapshot`, contentType: 'application/json', data } };
        },
      },
    },
    '/admin/debug/cpu-profile': {
      POST: {
        role: 'admin:debug',
        handle: async ({ query, principal }) => {
          const seconds = parseSeconds(query);
          deps.audit(principal, 'CPU profile started', { seconds });
          return { status: 200, body: await deps.profiler.cpuProfile(seconds) };
        },
      },
    },
    '/admin/info': {
      GET: { role: 'admin:read', handle: () => ({ status: 200, body: deps.info }) },
    },
    '/admin/api-keys': {
      GET: { role: 'admin:read', handle: () => ({ status: 200, body: { keys: keys().list() } satisfies KeysBody }) },
      POST: {
        role: 'admin:keys',
        handle: async ({ json, principal }) => {
          const body = parseNewKeyBody(await json());
          const { key, info } = keys().add(body.name, body);
          deps.audit(principal, 'API key added', { key: body.name });
          return { status: 201, body: { ...info, key } satisfies NewKeyBody };
        },
      },
    },
    '/admin/api-keys/:name/rotate': {
      POST: {
        role: 'admin:keys',
        handle: async ({ params, json, principal }) => {
          const { overlapSec } = parseRotateBody(await json());
          const { key, info } = keys().rotate(params.name, overlapSec);
          deps.audit(principal, 'API key rotated', { key: params.name, overlapSec });
          return { status: 201, body: { ...info, key } satisfies NewKeyBody };
        },
      },
    },
    '/admin/api-keys/:name': {
      DELETE: {
        role: 'admin:keys',
        handle: ({ params, principal }) => {
          const revoked = keys().revoke(params.name);
          deps.audit(principal, 'API key revoked', { key: params.name, revoked });
          return { status: 204 };
        },
      },
    },
  };
}

/**
 * A server's status with the names clients see for its tools: from the shared view, or the view
 * of a session or principal bound to it (per-session, per-principal servers); before any, from what
 * the probe found.
 */
function summarize(deps: AdminDeps, plan: ServerPlan): ServerSummary {
  const status = deps.registry.status(plan);
  if (plan.shared) return { ...status, tools: exposedTools(deps.views.for(undefined), plan.name) };
  const owner = deps.registry.ownersOf(plan.name)[0];
  if (owner !== undefined) return { ...status, tools: exposedTools(deps.views.for(owner), plan.name) };
  const probed = [...plan.probes.values()].flatMap((p) => p.toolNames);
  return { ...status, tools: [...new Set(probed.map((name) => exposedName(plan.prefix, deps.separator, name)))] };
}
