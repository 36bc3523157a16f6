/**
 * The MCP methods a client may call on the gateway. Lists are answered from the merged catalog;
 * calls, reads and completions are routed to the server that owns the name or URI and forwarded raw.
 */
import { SUPPORTED_PROTOCOL_VERSIONS, LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { FleetError } from '../protocol/errors';
import type { JsonRpcRequest, JsonRpcResponse } from '../protocol/jsonrpc';
import { resultResponse } from '../protocol/jsonrpc';
import { paginate } from '../catalog/paginate';
import { resourceOwner } from '../catalog/view';
import type { ListKind } from '../servers/lists';
import type { ClientSession } from './client-session';
import { isLogLevel } from '../relay/log-levels';

type Handler = (session: ClientSession, request: JsonRpcRequest, params: Record<string, unknown>) => Promise<JsonRpcResponse | Record<string, unknown>>;

const HANDLERS: Record<string, Handler> = {
  initialize,
  ping: async () => ({}),
  'tools/list': list('tools'),
  'prompts/list': list('prompts'),
  'resources/list': list('resources'),
  'resources/templates/list': list('resourceTemplates'),
  'tools/call': callNamed('toolRoutes', 'UNKNOWN_TOOL', 'tool'),
  'prompts/get': callNamed('promptRoutes', 'UNKNOWN_PROMPT', 'prompt'),
  'resources/read': forwardByUri,
  'resources/subscribe': subscription('subscribe'),
  'resources/unsubscribe': subscription('unsubscribe'),
  'completion/complete': complete,
  'logging/setLevel': setLevel,
};

/** Answers one client request; throws FleetError for anything the gateway refuses. */
export async function handleMethod(session: ClientSession, request: JsonRpcRequest): Promise<JsonRpcResponse> {
  const handler = HANDLERS[request.method];
  if (!handler) throw new FleetError('METHOD_NOT_FOUND', `Method not found: ${request.method}`, { data: { method: request.method } });
  if (session.host.draining) throw new FleetError('SHUTTING_DOWN', 'the gateway is shutting down; reconnect to another instance or retry later');
  if (!session.initialized && request.method !== 'initialize' && request.method !== 'ping') {
    throw new FleetError('INVALID_REQUEST', `send initialize before ${request.method}`);
  }
  const outcome = await handler(session, request, request.params ?? {});
  return 'jsonrpc' in outcome ? (outcome as JsonRpcResponse) : resultResponse(request.id, outcome);
}

async function initialize(session: ClientSession, _request: JsonRpcRequest, params: Record<string, unknown>): Promise<Record<string, unknown>> {
  const requested = params.protocolVersion;
  if (typeof requested !== 'string') throw new FleetError('INVALID_PARAMS', 'initialize needs params.protocolVersion (a string)');
  session.protocolVersion = SUPPORTED_PROTOCOL_VERSIONS.includes(requested) ? requested : LATEST_PROTOCOL_VERSION;
  session.clientInfo = (params.clientInfo as Record<string, unknown>) ?? {};
  session.capabilities = (params.capabilities as Record<string, unknown>) ?? {};
  session.initialized = true;
  await session.host.openOwnLinks(session);
  const instructions = session.host
    .links(session)
    .flatMap((l) => {
      const text = l.connection?.init.instructions;
      return typeof text === 'string' && text.trim() ? [`## ${l.name}\n${text.trim()}`] : [];
    })
    .join('\n\n');
  return {
    protocolVersion: session.protocolVersion,
    capabilities: {
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      logging: {},
      completions: {},
    },
    serverInfo: session.host.serverInfo,
    ...(instructions ? { instructions } : {}),
  };
}

function list(kind: ListKind): Handler {
  return async (session, _request, params) => {
    const view = session.host.view(session);
    const page = paginate(kind, view[kind], params.cursor, session.host.config.pageSize);
    return page.nextCursor === undefined ? { [kind]: page.items } : { [kind]: page.items, nextCursor: page.nextCursor };
  };
}

function callNamed(routes: 'toolRoutes' | 'promptRoutes', code: 'UNKNOWN_TOOL' | 'UNKNOWN_PROMPT', what: string): Handler {
  return async (session, request, params) => {
    const name = params.name;
    if (typeof name !== 'string') throw new FleetError('INVALID_PARAMS', `${request.method} needs params.name (a string)`);
    const route = session.host.view(session)[routes].get(name);
    if (!route) throw new FleetError(code, `Unknown ${what}: ${name}`, { data: { name } });
    return session.forward(route.link, request, { ...params, name: route.name });
  };
}

async function forwardByUri(session: ClientSession, request: JsonRpcRequest, params: Record<string, unknown>): Promise<JsonRpcResponse> {
  const uri = uriParam(params);
  return session.forward(ownerOf(session, uri), request, params);
}

/**
 * Shared servers hear one subscribe per URI however many clients subscribe; the others get `{}`
 * from the gateway. It goes to every ready backend that has the resource (one answers the client),
 * so a backend that goes away, such as a rolled-back canary, takes no subscription with it.
 */
function subscription(action: 'subscribe' | 'unsubscribe'): Handler {
  return async (session, request, params) => {
    const uri = uriParam(params);
    const link = ownerOf(session, uri);
    if (!session.host[action](session, link, uri)) return {};
    const backend = link.choose(request.method, params);
    link.mirror(request.method, params, backend);
    return session.forward(link, request, params, backend);
  };
}

function uriParam(params: Record<string, unknown>): string {
  if (typeof params.uri !== 'string') throw new FleetError('INVALID_PARAMS', 'params.uri must be a string');
  return params.uri;
}

function ownerOf(session: ClientSession, uri: string) {
  const owner = resourceOwner(session.host.view(session), uri);
  if (!owner) throw new FleetError('UNKNOWN_RESOURCE', `Resource not found: ${uri}`, { data: { uri } });
  return owner;
}

async function complete(session: ClientSession, request: JsonRpcRequest, params: Record<string, unknown>): Promise<JsonRpcResponse> {
  const ref = params.ref as { type?: string; name?: string; uri?: string } | undefined;
  const view = session.host.view(session);
  if (ref?.type === 'ref/prompt' && typeof ref.name === 'string') {
    const route = view.promptRoutes.get(ref.name);
    if (!route) throw new FleetError('UNKNOWN_PROMPT', `Unknown prompt: ${ref.name}`, { data: { name: ref.name } });
    return session.forward(route.link, request, { ...params, ref: { ...ref, name: route.name } });
  }
  if (ref?.type === 'ref/resource' && typeof ref.uri === 'string') {
    const owner = view.templateOwners.find((t) => t.raw === ref.uri)?.link ?? resourceOwner(view, ref.uri);
    if (!owner) throw new FleetError('UNKNOWN_RESOURCE', `Resource not found: ${ref.uri}`, { data: { uri: ref.uri } });
    return session.forward(owner, request, params);
  }
  throw new FleetError('INVALID_PARAMS', 'completion/complete needs params.ref of type "ref/prompt" (with name) or "ref/resource" (with uri)');
}

async function setLevel(session: ClientSession, _request: JsonRpcRequest, params: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (!isLogLevel(params.level)) throw new FleetError('INVALID_PARAMS', `unknown log level ${JSON.stringify(params.level)}`);
  await session.host.setLogLevel(session, params.level);
  return {};
}
