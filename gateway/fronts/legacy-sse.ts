/**
 * The legacy HTTP+SSE front (protocol 2024-11-05) for older clients: GET /sse opens the event
 * stream and announces the message endpoint; POST /messages?sessionId=... carries client messages.
 * The SDK's transport writes the stream; this front keeps it alive with comments and drops a
 * client that stops reading before what it has not taken passes the send-queue bound.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal';
import { FleetError } from '../protocol/errors';
import type { JsonLimits } from '../protocol/json-limits';
import type { JsonRpcMessage } from '../protocol/jsonrpc';
import { fromSdkTransport } from '../protocol/sdk-transport';
import type { ClientSession } from '../session/client-session';
import type { SessionOpener } from '../session/sessions';
import { readJsonRpcBody, shortId } from '../http/http-util';
import { KEEP_ALIVE_MS } from './sse-stream';
import { checkJsonContentType } from './streamable-checks';

export const SSE_PATH = '/sse';
export const SSE_MESSAGES_PATH = '/messages';

export interface LegacySseOptions {
  maxBodyBytes: number;
  json: JsonLimits;
  /** Bytes the stream may hold for a client that does not read before it is dropped. */
  sendQueueBytes: number;
}

export class LegacySseFront {
  private readonly transports = new Map<string, SSEServerTransport>();
  /** Where each stream's client messages go (its session), and whose stream it is, by the stream's session id. */
  private readonly receivers = new Map<string, { session: ClientSession; principal: Principal }>();

  constructor(
    private readonly sessions: SessionOpener,
    private readonly options: LegacySseOptions,
    private readonly log: Logger,
  ) {}

  /** `requestId`: the GET's (in the stream's response headers): messages posted without their own are the stream's. */
  async openStream(res: ServerResponse, principal: Principal, requestId: string): Promise<void> {
    const sdk = new SSEServerTransport(SSE_MESSAGES_PATH, res);
    const transport = fromSdkTransport(sdk);
    const session = this.sessions.openSession({
      kind: 'sse',
      principal,
      requestId,
      sessionId: sdk.sessionId,
      // The SDK writes the event (at once, when called), so the bound is checked before each: one message may pass it before the drop.
      send: (message: JsonRpcMessage) => {
        if (res.writableLength > this.options.sendQueueBytes) return this.drop(res, session.id);
        return transport.send(message);
      },
      close: () => transport.close(),
    });
    this.transports.set(sdk.sessionId, sdk);
    this.receivers.set(sdk.sessionId, { session, principal });
    transport.onerror = (err) => this.log.debug({ err: err.message, session: session.id }, 'SSE transport error');
    const keepAlive = setInterval(() => res.write(': keepalive\n\n'), KEEP_ALIVE_MS);
    keepAlive.unref();
    transport.onclose = () => {
      clearInterval(keepAlive);
      this.transports.delete(sdk.sessionId);
      this.receivers.delete(sdk.sessionId);
      void session.close();
    };
    await transport.start();
  }

  /**
   * A message for the stream `sessionId` names, if `principal` opened it (else, as for an unknown id,
   * 404). `requestId`: the POST's X-Request-Id (the client's or the listener's), bound to the request it carries.
   */
  async postMessage(req: IncomingMessage, res: ServerResponse, url: URL, principal: Principal, requestId: string): Promise<void> {
    const id = url.searchParams.get('sessionId');
    if (!id) throw new FleetError('INVALID_REQUEST', 'Bad Request: sessionId query parameter is required');
    const open = this.receivers.get(id);
    if (!open || open.principal.id !== principal.id)
      throw new FleetError('SESSION_NOT_FOUND', `Session not found: ${shortId(id)} (open a new stream at ${SSE_PATH})`);
    // The HTTP+SSE transport takes one message per POST, never a batch. It is checked by the gateway's
    // one parser, not the SDK's schemas: those refuse fields they do not know with a 400 in plain
    // text, where the client is owed a JSON-RPC answer (and MCP lets messages carry more fields).
    checkJsonContentType(req.headers);
    const { messages } = await readJsonRpcBody(req, this.options.maxBodyBytes, false, this.options.json);
    res.writeHead(202).end('Accepted');
    open.session.presented(principal);
    open.session.receive(messages[0], requestId);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.transports.values()].map((t) => t.close()));
  }

  /** The client stays too far behind: its stream ends (freeing what it did not take) and so does its session. */
  private drop(res: ServerResponse, session: string): Promise<void> {
    if (!res.destroyed) {
      this.log.warn({ session, queuedBytes: res.writableLength }, 'client does not read its SSE stream; stream dropped (limits.sendQueueBytes)');
      res.destroy();
    }
    return Promise.reject(new FleetError('LIMIT_REACHED', 'the client does not read its SSE stream; dropped'));
  }
}
