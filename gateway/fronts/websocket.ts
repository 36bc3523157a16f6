/** The WebSocket front at /ws (subprotocol "mcp"): one client session per socket. */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal';
import type { SessionOpener } from '../session/sessions';
import { MCP_WS_SUBPROTOCOL, WebSocketTransport } from '../protocol/ws-transport';
import type { JsonRpcMessage } from '../protocol/jsonrpc';

export const WS_PATH = '/ws';

export class WebSocketFront {
  private readonly wss: WebSocketServer;
  private readonly transports = new Set<WebSocketTransport>();

  constructor(
    private readonly sessions: SessionOpener,
    maxBodyBytes: number,
    private readonly log: Logger,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: maxBodyBytes,
      handleProtocols: (offered) => (offered.has(MCP_WS_SUBPROTOCOL) ? MCP_WS_SUBPROTOCOL : false),
    });
  }

  /** Takes the upgrade of a connection `principal` authenticated; the session is its for the socket's life. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, principal: Principal): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const transport = new WebSocketTransport(ws, true);
      this.transports.add(transport);
      const session = this.sessions.openSession({
        kind: 'websocket',
        principal,
        send: (message: JsonRpcMessage) => transport.send(message),
        close: () => transport.close(),
      });
      transport.onmessage = (m) => session.receive(m);
      transport.onerror = (err) => this.log.info({ err: err.message, session: session.id }, 'bad WebSocket frame from client');
      transport.onclose = () => {
        this.transports.delete(transport);
        void session.close();
      };
      void transport.start();
    });
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.transports].map((t) => t.close()));
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
