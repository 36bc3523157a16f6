/**
 * The one table of the MCP methods a client may call, and how each is served: the session's own
 * handshake, answered by the gateway from its merged catalog, or forwarded to the server that owns
 * what the request names (with that name mapped back to the server's own). Adding a routed method
 * is one row here; what it names (a tool, a prompt, a resource) is how backends are chosen for it.
 * A Map, so a method called `constructor` or `__proto__` is just an unknown method. Each era has
 * its own methods: 2026-07-28 drops the handshake, ping, log levels and resource subscriptions, and
 * adds server/discover and subscriptions/listen. Tasks are routed by the gateway's own task ids.
 */
import { paginate } from '../catalog/paginate';
import { completionOwner, resourceOwner, type CatalogView, type Route as ViewRoute } from '../catalog/view';
import type { Era } from '../protocol/eras';
import { FleetError } from '../protocol/errors';
import type { Want } from '../servers/lists';
import type { ClientPeer } from './clients';
import { isLogLevel, type LogLevel } from './log-levels';

/** Where a forwarded request goes, and the params it goes with. */
export interface Target {
  server: string;
  want: Want;
  params: Record<string, unknown>;
}

/** What local answers need from the relay. */
export interface LocalServices {
  view(client: ClientPeer): CatalogView;
  /** The view less what the policy refuses the client's principal: what its lists show. */
  listed(client: ClientPeer): CatalogView;
  readonly pageSize: number;
  setLevel(client: ClientPeer, level: LogLevel): Promise<void>;
  /** The gateway's answer to server/discover: what the merged fleet offers, and who the gateway is. */
  discover(client: ClientPeer): Record<string, unknown>;
}

export type LocalAnswer = (params: Record<string, unknown>, client: ClientPeer, services: LocalServices) => Promise<Record<string, unknown>>;
export type TargetOf = (params: Record<string, unknown>, view: CatalogView, method: string) => Target;

export type MethodRoute =
  | { kind: 'initialize' }
  | { kind: 'local'; answer: LocalAnswer }
  | { kind: 'forward'; target: TargetOf }
  /** Forwarded like a read, with the bookkeeping that lets many clients share one upstream subscription. */
  | { kind: 'subscription'; subscribe: boolean; target: TargetOf }
  /** A modern client's long-lived stream of the fleet's change notifications. */
  | { kind: 'listen' }
  /** tasks/get, tasks/result, tasks/cancel (and the 2026 tasks/update): to the upstream session that holds the task, for the client that created it. */
  | { kind: 'task' }
  /** The client's own tasks, merged across upstreams. */
  | { kind: 'task-list' };

/** One route for the three methods that name a task, so they share one chain. */
export const BY_TASK: MethodRoute & { kind: 'task' } = { kind: 'task' };

const BOTH: readonly [string, MethodRoute][] = [
  ['tools/list', list('tools')],
  ['prompts/list', list('prompts')],
  ['resources/list', list('resources')],
  ['resources/templates/list', list('resourceTemplates')],
  ['tools/call', { kind: 'forward', target: byName('toolRoutes', 'UNKNOWN_TOOL', 'tool') }],
  ['prompts/get', { kind: 'forward', target: byName('promptRoutes', 'UNKNOWN_PROMPT', 'prompt') }],
  ['resources/read', { kind: 'forward', target: byUri }],
  ['completion/complete', { kind: 'forward', target: byCompletionRef }],
];

const ROUTES: Record<Era, Map<string, MethodRoute>> = {
  legacy: new Map<string, MethodRoute>([
    ['initialize', { kind: 'initialize' }],
    ['ping', { kind: 'local', answer: async () => ({}) }],
    ...BOTH,
    ['logging/setLevel', { kind: 'local', answer: setLevel }],
    ['resources/subscribe', { kind: 'subscription', subscribe: true, target: byUri }],
    ['resources/unsubscribe', { kind: 'subscription', subscribe: false, target: byUri }],
    // Tasks of 2025-11-25 belong to a session; the 2026-07-28 extension is negotiated per request.
    ['tasks/get', BY_TASK],
    ['tasks/result', BY_TASK],
    ['tasks/cancel', BY_TASK],
    ['tasks/list', { kind: 'task-list' }],
  ]),
  modern: new Map<string, MethodRoute>([
    ['server/discover', { kind: 'local', answer: async (_params, client, services) => services.discover(client) }],
    ...BOTH,
    ['subscriptions/listen', { kind: 'listen' }],
    // the tasks extension (io.modelcontextprotocol/tasks): no tasks/list, and tasks/update for the answers
    ['tasks/get', BY_TASK],
    ['tasks/update', BY_TASK],
    ['tasks/cancel', BY_TASK],
  ]),
};

/** The route of a method in a client's era, or METHOD_NOT_FOUND. */
export function routeOf(method: string, era: Era): MethodRoute {
  const route = ROUTES[era].get(method);
  if (!route) throw new FleetError('METHOD_NOT_FOUND', `Method not found: ${method}`, { data: { method } });
  return route;
}

/** The methods whose result may be input_required (2026-07-28 multi-round-trip requests). */
export const INPUT_METHODS: ReadonlySet<string> = new Set(['tools/call', 'prompts/get', 'resources/read']);

/** The methods whose complete result carries caching hints (2026-07-28). */
export const CACHEABLE_METHODS: ReadonlySet<string> = new Set([
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'server/discover',
]);

function list(kind: 'tools' | 'prompts' | 'resources' | 'resourceTemplates'): MethodRoute {
  return {
    kind: 'local',
    answer: async (params, client, services) => {
      const page = paginate(kind, services.listed(client)[kind], params.cursor, services.pageSize);
      return page.nextCursor === undefined ? { [kind]: page.items } : { [kind]: page.items, nextCursor: page.nextCursor };
    },
  };
}

async function setLevel(params: Record<string, unknown>, client: ClientPeer, services: LocalServices): Promise<Record<string, unknown>> {
  if (!isLogLevel(params.level)) throw new FleetError('INVALID_PARAMS', `unknown log level ${JSON.stringify(params.level)}`);
  await services.setLevel(client, params.level);
  return {};
}

function byName(routes: 'toolRoutes' | 'promptRoutes', code: 'UNKNOWN_TOOL' | 'UNKNOWN_PROMPT', what: 'tool' | 'prompt'): TargetOf {
  return (params, view, method) => {
    const name = params.name;
    if (typeof name !== 'string') throw new FleetError('INVALID_PARAMS', `${method} needs params.name (a string)`);
    const route = named(view[routes], name, code, what);
    return { server: route.server, want: { kind: what, name: route.name }, params: { ...params, name: route.name } };
  };
}

function byUri(params: Record<string, unknown>, view: CatalogView): Target {
  const uri = params.uri;
  if (typeof uri !== 'string') throw new FleetError('INVALID_PARAMS', 'params.uri must be a string');
  return { server: owned(resourceOwner(view, uri), uri), want: { kind: 'resource', uri }, params };
}

function byCompletionRef(params: Record<string, unknown>, view: CatalogView): Target {
  const ref = params.ref as { type?: unknown; name?: unknown; uri?: unknown } | undefined;
  if (ref?.type === 'ref/prompt' && typeof ref.name === 'string') {
    const route = named(view.promptRoutes, ref.name, 'UNKNOWN_PROMPT', 'prompt');
    return { server: route.server, want: { kind: 'prompt', name: route.name }, params: { ...params, ref: { ...ref, name: route.name } } };
  }
  if (ref?.type === 'ref/resource' && typeof ref.uri === 'string') {
    return { server: owned(completionOwner(view, ref.uri), ref.uri), want: { kind: 'resource', uri: ref.uri }, params };
  }
  throw new FleetError('INVALID_PARAMS', 'completion/complete needs params.ref of type "ref/prompt" (with name) or "ref/resource" (with uri)');
}

function named(routes: Map<string, ViewRoute>, name: string, code: 'UNKNOWN_TOOL' | 'UNKNOWN_PROMPT', what: string): ViewRoute {
  const route = routes.get(name);
  if (!route) throw new FleetError(code, `Unknown ${what}: ${name}`, { data: { name } });
  return route;
}

function owned(server: string | undefined, uri: string): string {
  if (server === undefined) throw new FleetError('UNKNOWN_RESOURCE', `Resource not found: ${uri}`, { data: { uri } });
  return server;
}
