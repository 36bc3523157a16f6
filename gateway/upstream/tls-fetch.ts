/**
 * A `fetch` over node:http/https that takes TLS options (CA, client certificate, server name),
 * for the SDK's transports that accept a fetch of their own (legacy SSE upstreams, the client kit).
 * Node's global fetch takes TLS settings only through an undici dispatcher, a package the gateway
 * does not depend on. Supports what those transports send: string or byte bodies, headers, an
 * abort signal, and a streamed response body.
 */
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import type { TlsClientOptions } from '../protocol/tls-client';

/** Statuses whose responses have no body, as the Fetch standard says (Response refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

export interface TlsFetch {
  fetch: typeof fetch;
  /** Closes the kept-alive connections; the owner of the transport using it calls this when it closes. */
  close(): void;
}

export function tlsFetch(tls: TlsClientOptions): TlsFetch {
  const agent = new https.Agent({ keepAlive: true, ...tls });
  const fetchOver: typeof fetch = async (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') throw new TypeError(`fetch: unsupported scheme ${url.protocol}`);
    const body = init.body ?? undefined;
    if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) throw new TypeError('fetch: only string or byte bodies are supported');
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const options: http.RequestOptions = { method: init.method ?? 'GET', headers, signal: init.signal ?? undefined };
    return new Promise<Response>((resolve, reject) => {
      const req = secure ? https.request(url, { ...options, agent }) : http.request(url, options);
      req.once('error', reject);
      req.once('response', (res) => {
        const status = res.statusCode ?? 502;
        const responseHeaders = new Headers();
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) responseHeaders.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
        const stream = NULL_BODY.has(status) || init.method === 'HEAD' ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
        if (stream === null) res.resume();
        resolve(new Response(stream, { status, statusText: res.statusMessage, headers: responseHeaders }));
      });
      req.end(body);
    });
  };
  return { fetch: fetchOver, close: () => agent.destroy() };
}
