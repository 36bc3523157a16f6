/**
 * A MessageTransport over one `ws` WebSocket, used on both sides: for clients connecting to the
 * gateway's /ws endpoint and for upstream servers reached over WebSocket. Each text frame carries
 * one JSON-RPC message (subprotocol "mcp", as the SDK's WebSocketClientTransport expects).
 */
import WebSocket from 'ws';
import { errorResponse, type JsonRpcMessage } from './jsonrpc';
import { DEFAULT_MAX_MESSAGE_BYTES, parseMessage, type Refused } from './frames';
import type { TlsClientOptions } from './tls-client';
import type { MessageTransport } from './transport';

export const MCP_WS_SUBPROTOCOL = 'mcp';

export class WebSocketTransport implements MessageTransport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JsonRpcMessage) => void;

  private closedOnce = false;

  /** `answerBadFrames`: reply to unparseable frames with a JSON-RPC error (the server side does). */
  constructor(
    private readonly socket: WebSocket,
    private readonly answerBadFrames = false,
    /** A client socket still connecting: start() waits for it. */
    private readonly opening?: Promise<void>,
  ) {}

  /** A client transport that starts connecting now; start() resolves once the socket is open. `tls` applies to wss: URLs. */
  static client(url: string, headers: Record<string, string>, tls: TlsClientOptions = {}): WebSocketTransport {
    const socket = new WebSocket(url, MCP_WS_SUBPROTOCOL, { headers, maxPayload: DEFAULT_MAX_MESSAGE_BYTES, ...tls });
    const opening = new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    opening.catch(() => {}); // start() reports it; nobody may be waiting yet
    return new WebSocketTransport(socket, false, opening);
  }

  /** Connects as a client; resolves once the socket is open. */
  static async connect(url: string, headers: Record<string, string>, tls?: TlsClientOptions): Promise<WebSocketTransport> {
    const transport = WebSocketTransport.client(url, headers, tls);
    await transport.opening;
    return transport;
  }

  async start(): Promise<void> {
    await this.opening;
    // ws joins a message's fragments into one Buffer, text or binary alike, so it is decoded whole.
    this.socket.on('message', (data: Buffer) => this.receive(data.toString('utf8')));
    this.socket.on('error', (err) => this.onerror?.(err));
    this.socket.on('close', () => this.finish());
    if (this.socket.readyState === WebSocket.CLOSED) this.finish();
  }

  send(message: JsonRpcMessage): Promise<void> {
    if (this.socket.readyState !== WebSocket.OPEN) return Promise.reject(new Error('WebSocket is not open'));
    return new Promise((resolve, reject) => this.socket.send(JSON.stringify(message), (err) => (err ? reject(err) : resolve())));
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.close(1000);
      const timer = setTimeout(() => this.socket.terminate(), 1000);
      await new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
      clearTimeout(timer);
    }
    this.finish();
  }

  private receive(text: string): void {
    const parsed = parseMessage(text, 'frame');
    if (parsed.ok) this.onmessage?.(parsed.message);
    else this.reject(parsed);
  }

  private reject({ error, id }: Refused): void {
    if (this.answerBadFrames) void this.send(errorResponse(id, error.toJsonRpcError())).catch(() => {});
    this.onerror?.(error);
  }

  private finish(): void {
    if (this.closedOnce) return;
    this.closedOnce = true;
    this.onclose?.();
  }
}
