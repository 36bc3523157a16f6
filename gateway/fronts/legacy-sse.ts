/**
 * The legacy HTTP+SSE front (protocol 2024-11-05) for older clients: GET /sse opens the event
 * stream and announces the message endpoint; POST /messages?sessionId=... carries client messages.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import type { Logger } from 'pino';
import { FleetError } from '../protocol/errors';
import type { JsonRpcMessage } from '../protocol/jsonrpc';
import { fromSdkTransport } from '../protocol/sdk-transport';
import type { SessionOpener } from '../session/sessions';
import { readJsonRpcBody } from '../http/http-util';

export const SSE_PATH = '/sse';
export const SSE_MESSAGES_PATH = '/messages';

export class LegacySseFront {
  private readonly transports = new Map<string, SSEServerTransport>();

  constructor(
    private readonly sessions: SessionOpener,
    private readonly maxBodyBytes: number,
    private readonly log: Logger,
  ) {}

  async openStream(res: ServerResponse): Promise<void> {
    const sdk = new SSEServerTransport(SSE_MESSAGES_PATH, res);
    const transport = fromSdkTransport(sdk);
    const session = this.sessions.openSession({
      kind: 'sse',
      send: (message: JsonRpcMessage) => transport.send(message),
      close: () => transport.close(),
    });
    this.transports.set(sdk.sessionId, sdk);
    transport.onmessage = (m) => session.receive(m);
    transport.onerror = (err) => this.log.debug({ err: err.message, session: session.id }, 'SSE transport error');
    transport.onclose = () => {
      this.transports.delete(sdk.sessionId);
      void session.close();
    };
    await transport.start();
  }

  async postMessage(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const id = url.searchParams.get('sessionId');
    if (!id) throw new FleetError('INVALID_REQUEST', 'Bad Request: sessionId query parameter is required');
    const transport = this.transports.get(id);
    if (!transport) throw new FleetError('SESSION_NOT_FOUND', `Session not found: ${id} (open a new stream at ${SSE_PATH})`);
    // The HTTP+SSE transport takes one message per POST, never a batch.
    const { messages } = await readJsonRpcBody(req, this.maxBodyBytes, false);
    await transport.handlePostMessage(req, res, messages[0]);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.transports.values()].map((t) => t.close()));
  }
}
