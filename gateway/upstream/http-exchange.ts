/**
 * Plain HTTP exchanges with one upstream endpoint over node:http/https, for the Streamable HTTP
 * transport: keep-alive agents with bounded sockets, one request per call, and errors that name
 * the method, the endpoint and what went wrong. Kept apart from the protocol logic so that
 * transport reads as MCP, not as socket handling.
 */
import http, { type Agent, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { FleetError } from '../protocol/errors';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../protocol/frames';
import { pinnedLookup } from '../protocol/pinned-lookup';
import type { TlsClientOptions } from '../protocol/tls-client';

export interface Endpoint {
  /** The URL without credentials or query, for messages and logs. */
  display: string;
  /** Creates a keep-alive agent for this endpoint's scheme, with at most `maxSockets` connections. */
  agent(maxSockets: number): Agent;
  request(options: http.RequestOptions): ClientRequest;
  base: { protocol: string; hostname: string; port: string; path: string };
}

/**
 * Parses and checks an upstream URL; throws a CONFIG_INVALID FleetError naming it when unusable.
 * `tls` (CA, client certificate, server name) applies to https: URLs, on agents and lone requests alike.
 * `address` pins every connection to that IP (one replica of a name DNS resolves to several).
 */
export function endpoint(url: string, tls: TlsClientOptions = {}, address?: string): Endpoint {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FleetError('CONFIG_INVALID', `upstream URL ${JSON.stringify(url)} is not a valid URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new FleetError('CONFIG_INVALID', `upstream URL ${JSON.stringify(`${u.origin}${u.pathname}`)} must start with http: or https: (got ${u.protocol})`);
  }
  const secure = u.protocol === 'https:';
  const lib = secure ? https : http;
  const tlsOptions = { ...(secure ? tls : {}), ...(address !== undefined ? { lookup: pinnedLookup(address) } : {}) };
  return {
    display: `${u.origin}${u.pathname}`,
    agent: (maxSockets) => new lib.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, ...tlsOptions }),
    request: (options) => lib.request({ ...tlsOptions, ...options }),
    // WHATWG URLs keep IPv6 hosts in brackets; node:http wants them bare.
    base: { protocol: u.protocol, hostname: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: u.port, path: `${u.pathname}${u.search}` },
  };
}

export interface ExchangeOptions {
  method: 'GET' | 'POST' | 'DELETE';
  headers: OutgoingHttpHeaders;
  body?: string;
  /** An agent from `endpoint.agent()`, or false for a connection of its own. */
  agent: Agent | false;
  /** Requests still open, so their owner can abort them all; each leaves the set when it completes. */
  open: Set<ClientRequest>;
  /** Abort if the socket is idle this long (default: never). */
  timeoutMs?: number;
  /** Told of the request as it starts (again, if it is retried on a fresh connection), so that it can be aborted alone. */
  started?: (req: ClientRequest) => void;
  /** Counts each request as it gets its socket, and those whose socket was already open. */
  counts?: { requests: number; reused: number };
}

/**
 * Sends one request and resolves with the response once its headers arrive; the caller reads or
 * drains the body. A keep-alive connection the server closed just as it was reused is retried
 * once on a fresh one, as node's http documentation recommends (the server never saw the request).
 */
export function exchange(ep: Endpoint, options: ExchangeOptions, retried = false): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = ep.request({ ...ep.base, method: options.method, headers: options.headers, agent: options.agent });
    options.open.add(req);
    options.started?.(req);
    const counts = options.counts;
    if (counts)
      req.once('socket', () => {
        counts.requests++;
        if (req.reusedSocket) counts.reused++;
      });
    req.once('close', () => options.open.delete(req));
    let answered = false;
    req.once('response', (res) => {
      answered = true;
      resolve(res);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (answered) return; // the response's own events tell its reader
      if (!retried && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
        resolve(exchange(ep, options, true));
        return;
      }
      reject(new FleetError('UPSTREAM_UNAVAILABLE', `${options.method} ${ep.display}: ${err.message || err.code}`, { cause: err }));
    });
    if (options.timeoutMs !== undefined) {
      req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    }
    req.end(options.body);
  });
}

/**
 * The body as text; a body longer than `maxChars` is not kept: the request is aborted and the
 * promise rejects. `onChunk` hears of each piece as it arrives.
 */
export function readText(res: IncomingMessage, maxChars = DEFAULT_MAX_MESSAGE_BYTES, onChunk?: () => void): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      onChunk?.();
      text += chunk;
      if (text.length <= maxChars) return;
      text = '';
      reject(new FleetError('UPSTREAM_BAD_MESSAGE', `the answer is longer than the limit of ${maxChars} characters; refused`));
      res.destroy();
    });
    res.once('end', () => resolve(text));
    res.on('error', reject);
    res.once('close', () => (res.complete ? undefined : reject(new Error('connection closed before the body was complete'))));
  });
}

/** A FleetError for a response with an unexpected status, quoting the start of its body (read here unless given). */
export async function statusError(ep: Endpoint, method: string, res: IncomingMessage, text?: string): Promise<FleetError> {
  const body = text ?? (await readText(res).catch(() => ''));
  const excerpt = body.replace(/\s+/g, ' ').trim().slice(0, 300);
  const status = `HTTP ${res.statusCode}${res.statusMessage ? ` ${res.statusMessage}` : ''}`;
  return new FleetError('UPSTREAM_UNAVAILABLE', `${method} ${ep.display}: ${status}${excerpt ? `: ${excerpt}` : ''}`, { data: { status: res.statusCode } });
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaType(contentType: string | undefined): string {
  if (!contentType) return '';
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}
