/**
 * Connecting the official MCP SDK client to a gateway, for the tools around it — activities,
 * bench, tests; the gateway runtime never imports it. One place knows how a session over each
 * front is opened within a deadline, cleaned up when opening fails, and ended properly.
 */
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import { DEFAULT_REQUEST_TIMEOUT_MSEC } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { FleetError } from '../protocol/errors';
import { toSdkTransport } from '../protocol/sdk-transport';
import type { TlsClientOptions } from '../protocol/tls-client';
import { WebSocketTransport } from '../protocol/ws-transport';
import { tlsFetch } from '../upstream/tls-fetch';
import { version } from '../version';

/** The gateway's network fronts, each at its own path of the gateway's base URL. */
export const NETWORK_FRONTS = ['streamable-http', 'sse', 'websocket'] as const;
export type NetworkFront = (typeof NETWORK_FRONTS)[number];

export interface ConnectOptions {
  /** clientInfo.name; default 'mcp-fleet-client'. */
  name?: string;
  /** clientInfo.version; default the project's version. */
  version?: string;
  /** Capabilities to advertise; default none. */
  capabilities?: ClientCapabilities;
  /** Runs before connect, e.g. to register request handlers for sampling or roots. */
  setup?: (client: Client) => void;
  /** Aborts connecting (the transport is closed and the signal's reason thrown). */
  signal?: AbortSignal;
  /** Headers every HTTP request (and the WebSocket upgrade) carries: a gateway's credential, `Authorization: Bearer ...`. */
  headers?: Record<string, string>;
  /** OAuth for Streamable HTTP and legacy SSE: the SDK finds the authorization server from the gateway's 401 and gets a token. */
  authProvider?: OAuthClientProvider;
  /** Deadline for the whole connect, transport start included; default the SDK's request timeout (60 s). */
  timeoutMs?: number;
  /**
   * For an https: gateway: the CA that verifies it (instead of node's public roots), a client
   * certificate, the name its certificate must carry. Given, the HTTP fronts go over a node:https
   * fetch and the WebSocket front over `ws`, which take these; else the SDK's own transports.
   */
  tls?: TlsClientOptions;
}

export interface GatewayConnection {
  client: Client;
  /** Ends the session (over Streamable HTTP with DELETE) and closes the transport; calling it again does nothing more. */
  close: () => Promise<void>;
}

/** The URL of `front` on a gateway at `base` (http://host:port). */
export function frontUrl(base: string, front: NetworkFront): URL {
  const root = base.replace(/\/+$/, '');
  if (front === 'streamable-http') return new URL(`${root}/mcp`);
  if (front === 'sse') return new URL(`${root}/sse`);
  return new URL(`${root.replace(/^http/, 'ws')}/ws`);
}

/** An SDK client in a session with the gateway at `base` over `front`. */
export async function connectGateway(base: string, front: NetworkFront, options: ConnectOptions = {}): Promise<GatewayConnection> {
  const url = frontUrl(base, front);
  const { headers, authProvider } = options;
  const peer = `${url} (${front})`;
  if (front === 'websocket') {
    // the SDK's WebSocket transport takes neither headers nor a CA; the gateway's own one does
    const transport =
      options.tls || headers ? toSdkTransport(WebSocketTransport.client(url.href, headers ?? {}, options.tls)) : new WebSocketClientTransport(url);
    return open(transport, peer, options, (client) => client.close());
  }
  const over = options.tls ? tlsFetch(options.tls) : undefined;
  const plain = over?.fetch ?? fetch;
  // every request carries the headers, the legacy event stream's GET too (EventSource makes it through this fetch)
  const fetchOver: typeof fetch = headers ? (u, init) => plain(u, { ...init, headers: withHeaders(init?.headers, headers) }) : plain;
  const release = (end: Promise<void>) => end.finally(() => over?.close());
  try {
    if (front === 'sse') return await open(new SSEClientTransport(url, { fetch: fetchOver, authProvider }), peer, options, (client) => release(client.close()));
    const transport = new StreamableHTTPClientTransport(url, { fetch: fetchOver, authProvider });
    return await open(transport, peer, options, (client) => release(endStreamableSession(client, transport, url, fetchOver, authProvider)));
  } catch (err) {
    over?.close();
    throw err;
  }
}

/**
 * An SDK client in a session over a transport of the caller's (the gateway CLI over stdio, say),
 * with the same deadline and clean-up; `peer` names it in errors. Closing closes the transport.
 */
export function connectTransport(transport: Transport, peer: string, options: ConnectOptions = {}): Promise<GatewayConnection> {
  return open(transport, peer, options, (client) => client.close());
}

async function open(transport: Transport, peer: string, options: ConnectOptions, end: (client: Client) => Promise<void>): Promise<GatewayConnection> {
  const client = new Client({ name: options.name ?? 'mcp-fleet-client', version: options.version ?? version }, { capabilities: options.capabilities ?? {} });
  options.setup?.(client);
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MSEC;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new FleetError('UPSTREAM_TIMEOUT', `no MCP session with ${peer} within ${timeoutMs} ms`)), timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline.signal]) : deadline.signal;
  const aborted = rejection(signal);
  try {
    // The SDK bounds only the initialize request; racing also bounds the transport's start
    // (an SSE endpoint event or a WebSocket open that never comes).
    await Promise.race([client.connect(transport, { signal, timeout: timeoutMs }), aborted.promise]);
  } catch (err) {
    // A failed SSE connect leaves its EventSource reconnecting, a stdio one its child running,
    // unless the transport is closed.
    await transport.close().catch(() => {});
    throw err;
  } finally {
    clearTimeout(timer);
    aborted.dispose();
  }
  let closing: Promise<void> | undefined;
  return { client, close: () => (closing ??= end(client)) };
}

/** A promise that rejects with the signal's reason once it aborts; dispose() stops listening. */
function rejection(signal: AbortSignal): { promise: Promise<never>; dispose(): void } {
  let listener = (): void => {};
  const promise = new Promise<never>((_, reject) => {
    listener = () => reject(signal.reason);
    if (signal.aborted) listener();
    else signal.addEventListener('abort', listener, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener('abort', listener) };
}

/**
 * Closes the client, then ends its session with DELETE (the SDK's close() sends none). Not the
 * SDK's terminateSession() before close(): the streams it ends schedule reconnection timers, and
 * close() clears only the last of them. A gateway that cannot be reached has ended the session
 * with itself; 404 means it was already gone.
 */
async function endStreamableSession(
  client: Client,
  transport: StreamableHTTPClientTransport,
  url: URL,
  fetchOver: typeof fetch,
  authProvider?: OAuthClientProvider,
): Promise<void> {
  const { sessionId, protocolVersion } = transport;
  await client.close();
  if (!sessionId) return;
  // the session is its principal's: the DELETE carries the same credential
  const token = (await authProvider?.tokens())?.access_token;
  let res: Response;
  try {
    res = await fetchOver(url, {
      method: 'DELETE',
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        'mcp-session-id': sessionId,
        ...(protocolVersion ? { 'mcp-protocol-version': protocolVersion } : {}),
      },
    });
  } catch {
    return;
  }
  if (res.ok || res.status === 404 || res.status === 405) return void (await res.body?.cancel());
  const body = (await res.text()).slice(0, 200);
  throw new FleetError('INTERNAL', `DELETE ${url} for session ${sessionId} answered ${res.status}: ${body}`, { data: { status: res.status } });
}

/** `init`'s headers (any form fetch takes) with `extra` set over them. */
function withHeaders(init: RequestInit['headers'], extra: Record<string, string>): Headers {
  const merged = new Headers(init);
  for (const [name, value] of Object.entries(extra)) merged.set(name, value);
  return merged;
}
