/**
 * A server's own requests (sampling, elicitation, roots, ping), carried to the client they are for.
 *
 * A per-session server has one client. Over Streamable HTTP the wire tells which call a shared
 * server's request belongs to: it arrives on the response stream of that call's POST, and goes to
 * that call's client. Over stdio, WebSocket and legacy SSE nothing on the wire ties it to a call,
 * so the gateway answers only when exactly one client has calls in flight there, and refuses
 * rather than guess: a wrong guess would show one user's prompt to another.
 * Shared upstreams are offered sampling (with tools) and elicitation (form and URL): what a request
 * needs of its client is checked here, against the capabilities that client declared.
 */
import { FleetError } from '../protocol/errors';
import { asObject } from '../protocol/objects';
import type { JsonRpcRequest, RequestId } from '../protocol/jsonrpc';
import type { ServerRequestOutcome, UpstreamConnection } from '../upstream/connection';
import type { AttachedClient, ClientDirectory } from './clients';
import { isStatelessPeer } from './held-calls';

/** What the gateway tells shared upstreams it can do for them, on behalf of whichever client a request is for. */
export const SHARED_CLIENT_CAPABILITIES = { sampling: { tools: {} }, elicitation: { form: {}, url: {} } };

export interface ServerRequestContext {
  server: string;
  /** Set for a per-session server: the one client its upstreams belong to. */
  owner: string | undefined;
  timeoutMs: number;
  /** Set for a request a task makes (related-task `_meta`): the client that owns the task, whoever else is busy there. */
  taskOwner?: string;
  /** The upstream id of the forwarded call on whose response stream the request arrived (Streamable HTTP). */
  inResponseTo?: number;
}

export async function relayServerRequest(
  clients: ClientDirectory,
  request: JsonRpcRequest,
  conn: UpstreamConnection,
  ctx: ServerRequestContext,
): Promise<ServerRequestOutcome> {
  const target = targetOf(clients, request, conn, ctx);
  if (target instanceof FleetError) {
    if (request.method === 'ping') return { result: {} }; // nobody to ask: the gateway answers for its clients
    return { error: target.toJsonRpcError() };
  }
  const missing = missingCapability(request, target.client.peer.capabilities);
  // A 2026-07-28 client is told what it lacks (MissingRequiredClientCapability) instead of the call failing without a word.
  if (missing && isStatelessPeer(target.client.peer)) target.client.peer.questions.lack(missing);
  if (missing)
    return {
      error: new FleetError('NO_CLIENT_FOR_REQUEST', `the client does not support ${missing} (it did not declare the capability)`, {
        data: { server: ctx.server },
      }).toJsonRpcError(),
    };
  const reply = await target.client.peer.ask(request, target.related, ctx.timeoutMs, conn);
  return 'error' in reply ? { error: reply.error } : { result: reply.result };
}

function targetOf(
  clients: ClientDirectory,
  request: JsonRpcRequest,
  conn: UpstreamConnection,
  ctx: ServerRequestContext,
): { client: AttachedClient; related?: RequestId } | FleetError {
  const origin = ctx.inResponseTo === undefined ? undefined : conn.originOf(ctx.inResponseTo);
  const caller = origin && clients.get(origin.clientId);
  if (caller) return { client: caller, related: origin.clientRequestId };
  const origins = conn.inFlightOrigins();
  const taskOwner = ctx.taskOwner === undefined ? undefined : clients.get(ctx.taskOwner);
  if (taskOwner) return { client: taskOwner, related: origins.findLast((o) => o.clientId === taskOwner.peer.id)?.clientRequestId };
  if (ctx.owner !== undefined) {
    const owner = clients.get(ctx.owner);
    if (owner) return { client: owner, related: origins.at(-1)?.clientRequestId };
  }
  const ids = new Set(origins.map((o) => o.clientId));
  if (ids.size === 1) {
    const client = clients.get(origins[0].clientId);
    if (client) return { client, related: origins.at(-1)!.clientRequestId };
  }
  if (ids.size > 1) {
    return new FleetError(
      'NO_CLIENT_FOR_REQUEST',
      `server "${ctx.server}" sent ${request.method} while ${ids.size} client sessions had calls in flight on its shared upstream; the gateway cannot tell which client it is for and does not guess. Set mode: per-session for servers that ask clients for sampling, elicitation or roots.`,
      { data: { server: ctx.server } },
    );
  }
  return new FleetError(
    'NO_CLIENT_FOR_REQUEST',
    `no client session is waiting on server "${ctx.server}", so its ${request.method} request has nobody to answer it`,
    { data: { server: ctx.server } },
  );
}

/** The capability (as the spec names it) a request needs and the client did not declare; undefined when it may go. */
export function missingCapability(request: JsonRpcRequest, capabilities: Record<string, unknown>): string | undefined {
  const params = request.params ?? {};
  switch (request.method) {
    case 'sampling/createMessage': {
      const sampling = asObject(capabilities.sampling);
      if (!sampling) return 'sampling';
      return params.tools !== undefined && !asObject(sampling.tools) ? 'sampling.tools' : undefined;
    }
    case 'elicitation/create': {
      const elicitation = asObject(capabilities.elicitation);
      if (!elicitation) return 'elicitation';
      // An empty elicitation capability means form mode, as the spec keeps it for older clients.
      const url = asObject(elicitation.url);
      const form = asObject(elicitation.form) ?? (url ? undefined : elicitation);
      return params.mode === 'url' ? (url ? undefined : 'elicitation.url') : form ? undefined : 'elicitation.form';
    }
    case 'roots/list':
      return asObject(capabilities.roots) ? undefined : 'roots';
    default:
      return undefined;
  }
}
