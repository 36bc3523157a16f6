/**
 * The WebSocket front at /ws (subprotocol "mcp"): one client session per socket. Each socket is
 * pinged every `wsPingIntervalMs`; one that has not answered the previous ping by the next is cut
 * (a peer that vanished without a close). A client that does not read is dropped at the send-queue bound.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal';
import type { SessionOpener } from '../session/sessions';
import { toFleetError } from '../protocol/errors';
import type { JsonLimits } from '../protocol/json-limits';
import { MCP_WS_SUBPROTOCOL, WebSocketTransport } from '../protocol/ws-transport';
import type { JsonRpcMessage } from '../protocol/jsonrpc';
import { REQUEST_ID_HEADER } from '../protocol/request-id';

export const WS_PATH = '/ws';

/** Close code 1013 "try again later": the gateway is at a cap (sessions). */
const TRY_AGAIN_LATER = 1013;

export interface WebSocketFrontOptions {
  maxBodyBytes: number;
  json: JsonLimits;
  sendQueueBytes: number;
  pingIntervalMs: number;
}

export class WebSocketFront {
  private readonly wss: WebSocketServer;
  private readonly transports = new Set<WebSocketTransport>();
  /** The request id of each upgrade being completed, for the 101's X-Request-Id. */
  private readonly upgradeIds = new WeakMap<IncomingMessage, string>();
  /** Sockets that have not answered the last ping. */
  private readonly unanswered = new WeakSet<WebSocket>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly sessions: SessionOpener,
    private readonly options: WebSocketFrontOptions,
    private readonly log: Logger,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxBodyBytes,
      handleProtocols: (offered) => (offered.has(MCP_WS_SUBPROTOCOL) ? MCP_WS_SUBPROTOCOL : false),
    });
    this.wss.on('headers', (headers, req) => {
      const id = this.upgradeIds.get(req);
      if (id !== undefined) headers.push(`${REQUEST_ID_HEADER}: ${id}`);
    });
    this.heartbeat = setInterval(() => this.ping(), options.pingIntervalMs);
    this.heartbeat.unref();
  }

  /**
   * Takes the upgrade of a connection `principal` authenticated; the session is its for the socket's
   * life. `requestId` (the upgrade's X-Request-Id, the client's or the listener's) is the 101's and
   * every request's on the socket: WebSocket messages carry no headers of their own.
   */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, principal: Principal, requestId: string): void {
    this.upgradeIds.set(req, requestId);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('pong', () => this.unanswered.delete(ws));
      let session;
      try {
        session = this.sessions.openSession({
          kind: 'websocket',
          principal,
          requestId,
          send: (message: JsonRpcMessage) => transport.send(message),
          close: () => transport.close(),
        });
      } catch (err) {
        const error = toFleetError(err);
        this.log.info({ code: error.code, err: error.message }, 'WebSocket session refused');
        ws.close(TRY_AGAIN_LATER, error.message.slice(0, 120)); // a close reason holds at most 123 bytes
        return;
      }
      const id = session.id;
      const transport = new WebSocketTransport(ws, {
        answerBadFrames: true,
        json: this.options.json,
        sendQueue: {
          maxBufferedBytes: this.options.sendQueueBytes,
          dropped: (buffered) => this.log.warn({ session: id, bufferedBytes: buffered }, 'client does not read its WebSocket; dropped (limits.sendQueueBytes)'),
        },
      });
      this.transports.add(transport);
      transport.onmessage = (m) => session.receive(m);
      transport.onerror = (err) => this.log.info({ err: err.message, session: id }, 'bad WebSocket frame from client');
      transport.onclose = () => {
        this.transports.delete(transport);
        void session.close();
      };
      void transport.start();
    });
  }

  async closeAll(): Promise<void> {
    clearInterval(this.heartbeat);
    await Promise.all([...this.transports].map((t) => t.close()));
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private ping(): void {
    for (const ws of this.wss.clients) {
      if (this.unanswered.has(ws)) {
        this.log.info('WebSocket client did not answer a ping; connection cut');
        ws.terminate();
        continue;
      }
      this.unanswered.add(ws);
      ws.ping();
    }
  }
}
