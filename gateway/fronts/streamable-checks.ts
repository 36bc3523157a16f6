/**
 * The header rules of the Streamable HTTP transport (MCP 2025-11-25), answered with the status
 * codes of the SDK's server transport so clients and the conformance suite see the same thing:
 * Accept (406), Content-Type (415), MCP-Protocol-Version (400); and which body a client prefers.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { DEFAULT_NEGOTIATED_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { isModernVersion } from '../protocol/eras';
import { FleetError } from '../protocol/errors';

/** The first protocol version whose clients take an SSE event without data (the priming event). */
const PRIMING_SINCE = '2025-11-25';

/** POST: the client must accept both bodies the server may choose, and send JSON. */
export function checkPostHeaders(headers: IncomingHttpHeaders): void {
  const accept = headers.accept ?? '';
  if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
    throw new FleetError('NOT_ACCEPTABLE', `Not Acceptable: Client must accept both application/json and text/event-stream (got Accept: ${accept || 'none'})`);
  }
  checkJsonContentType(headers);
}

/** A POST of JSON-RPC (either HTTP front) must say it carries JSON. */
export function checkJsonContentType(headers: IncomingHttpHeaders): void {
  const type = headers['content-type'];
  if (type !== 'application/json' && type?.split(';', 1)[0]!.trim().toLowerCase() !== 'application/json') {
    throw new FleetError('UNSUPPORTED_MEDIA_TYPE', `Unsupported Media Type: Content-Type must be application/json (got ${type ?? 'none'})`);
  }
}

/** GET opens an event stream, so the client must accept one. */
export function checkGetAccept(headers: IncomingHttpHeaders): void {
  if (!headers.accept?.includes('text/event-stream')) {
    throw new FleetError('NOT_ACCEPTABLE', `Not Acceptable: Client must accept text/event-stream (got Accept: ${headers.accept ?? 'none'})`);
  }
}

/**
 * The protocol version a request speaks: its MCP-Protocol-Version header (400 if unsupported),
 * else the session's negotiated one, else 2025-03-26 as the spec says.
 */
export function requestProtocolVersion(headers: IncomingHttpHeaders, negotiated: string): string {
  const version = headers['mcp-protocol-version'];
  if (version === undefined) return negotiated || DEFAULT_NEGOTIATED_PROTOCOL_VERSION;
  if (typeof version !== 'string' || !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
    throw new FleetError(
      'INVALID_REQUEST',
      `Bad Request: Unsupported protocol version: ${version} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`,
    );
  }
  return version;
}

/** Whether a client on `version` can take a priming event (an SSE event with an id and empty data): 2025-11-25 on, before 2026-07-28 dropped resumption. */
export function takesPrimingEvent(version: string): boolean {
  return version >= PRIMING_SINCE && !isModernVersion(version);
}

/**
 * Whether the client prefers an SSE stream to a JSON body: text/event-stream has a higher q, or the
 * same q and comes first in Accept (the order `negotiator`, and so Express, breaks ties by).
 */
export function prefersEventStream(accept: string): boolean {
  if (accept === 'application/json, text/event-stream') return false; // what SDK clients send
  let json = { q: 0, at: Infinity };
  let sse = { q: 0, at: Infinity };
  accept.split(',').forEach((range, at) => {
    const [type = '', ...params] = range.split(';').map((s) => s.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2)) || 0;
    if (type === 'application/json' && at < json.at) json = { q, at };
    if (type === 'text/event-stream' && at < sse.at) sse = { q, at };
  });
  return sse.q > json.q || (sse.q === json.q && sse.q > 0 && sse.at < json.at);
}
