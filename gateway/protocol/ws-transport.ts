/**
 * A MessageTransport over one `ws` WebSocket, used on both sides: for clients connecting to the
 * gateway's /ws endpoint and for upstream servers reached over WebSocket. Each text frame carries
 * one JSON-RPC message (subprotocol "mcp", as the SDK's WebSocketClientTransport expects).
 */
import WebSocket from 'ws';
import { envelopeProblem, errorResponse, type JsonRpcMessage } from './jsonrpc';
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
  ) {}

  /** Connects as a client; resolves once the socket is open. */
  static async connect(url: string, headers: Record<string, string>): Promise<WebSocketTransport> {
    const socket = new WebSocket(url, MCP_WS_SUBPROTOCOL, { headers });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new WebSocketTransport(socket);
  }

  async start(): Promise<void> {
    this.socket.on('message', (data, isBinary) => this.receive(isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString()));
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
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return this.reject(-32700, 'Parse error: the frame is not valid JSON');
    }
    const problem = envelopeProblem(value);
    if (problem) return this.reject(-32600, `Invalid Request: ${problem}`, value);
    this.onmessage?.(value as JsonRpcMessage);
  }

  private reject(code: number, message: string, value?: unknown): void {
    if (!this.answerBadFrames) {
      this.onerror?.(new Error(message));
      return;
    }
    const id = typeof value === 'object' && value !== null && 'id' in value ? ((value as { id: unknown }).id as string | number | null) : null;
    void this.send(errorResponse(typeof id === 'string' || typeof id === 'number' ? id : null, { code, message })).catch(() => {});
    this.onerror?.(new Error(message));
  }

  private finish(): void {
    if (this.closedOnce) return;
    this.closedOnce = true;
    this.onclose?.();
  }
}
