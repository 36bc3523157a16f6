/**
 * The legacy HTTP+SSE front (protocol 2024-11-05) for older clients: GET /sse opens the event
 * stream and announces the message endpoint; POST /messages?sessionId=... carries client messages.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal';
import { FleetError } from '../protocol/errors';
import type { JsonRpcMessage } from '../protocol/jsonrpc';
import { fromSdkTransport } from '../protocol/sdk-transport';
import type { SessionOpener } from '../session/sessions';
import { readJsonRpcBody, shortId } from '../http/http-util';

export const SSE_PATH = '/sse';
export const SSE_MESSAGES_PATH = '/messages';

export class LegacySseFront {
  private readonly transports = new Map<string, { sdk: SSEServerTransport; principal: Principal }>();

  constructor(
    private readonly sessions: SessionOpener,
    private readonly maxBodyBytes: number,
    private readonly log: Logger,
  ) {}

  async openStream(res: ServerResponse, principal: Principal): Promise<void> {
    const sdk = new SSEServerTransport(SSE_MESSAGES_PATH, res);
    const transport = fromSdkTransport(sdk);
    const session = this.sessions.openSession({
      kind: 'sse',
      principal,
      send: (message: JsonRpcMessage) => transport.send(message),
      close: () => transport.close(),
    });
    this.transports.set(sdk.sessionId, { sdk, principal });
    transport.onmessage = (m) => session.receive(m);
    transport.onerror = (err) => this.log.debug({ err: err.message, session: session.id }, 'SSE transport error');
    transport.onclose = () => {
      this.transports.delete(sdk.sessionId);
      void session.close();
    };
    await transport.start();
  }

  /** A message for the stream `sessionId` names, if `principal` opened it (else, as for an unknown id, 404). */
  async postMessage(req: IncomingMessage, res: ServerResponse, url: URL, principal: Principal): Promise<void> {
    const id = url.searchParams.get('sessionId');
    if (!id) throw new FleetError('INVALID_REQUEST', 'Bad Request: sessionId query parameter is required');
    const open = this.transports.get(id);
    if (!open || open.principal.id !== principal.id)
      throw new FleetError('SESSION_NOT_FOUND', `Session not found: ${shortId(id)} (open a new stream at ${SSE_PATH})`);
    const transport = open.sdk;
    // The HTTP+SSE transport takes one message per POST, never a batch.
    const { messages } = await readJsonRpcBody(req, this.maxBodyBytes, false);
    await transport.handlePostMessage(req, res, messages[0]);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.transports.values()].map((t) => t.sdk.close()));
  }
}
