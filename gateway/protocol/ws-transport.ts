/**
 * A MessageTransport over one `ws` WebSocket, used on both sides: for clients connecting to the
 * gateway's /ws endpoint and for upstream servers reached over WebSocket. Each text frame carries
 * one JSON-RPC message (subprotocol "mcp", as the SDK's WebSocketClientTransport expects).
 */
import WebSocket from 'ws';
import { encodeJson } from './encode';
import { FleetError } from './errors';
import { errorResponse, type JsonRpcMessage } from './jsonrpc';
import { answerForRefused, DEFAULT_MAX_MESSAGE_BYTES, parseMessage, prunedItems, type Refused } from './frames';
import { DEFAULT_MAX_DEPTH, jsonLimitsOf, type JsonLimits, type MessageLimits } from './json-limits';
import type { TlsClientOptions } from './tls-client';
import type { MessageTransport } from './transport';

export const MCP_WS_SUBPROTOCOL = 'mcp';

export interface WebSocketTransportOptions {
  /** Reply to unparseable frames with a JSON-RPC error (the server side does). */
  answerBadFrames?: boolean;
  /** What each frame must pass before it is parsed. */
  json?: JsonLimits;
  /** Who is at the other end, for the error a refused response becomes ("server \"x\""). */
  peer?: string;
  /**
   * Bytes the socket may hold for a peer that does not read: past it the peer is dropped (close
   * 1008 with a reason, the connection ended a moment later) and `dropped` told how much was held.
   */
  sendQueue?: { maxBufferedBytes: number; dropped(bufferedBytes: number): void };
}

/** The policy-violation close code, with the reason a slow reader is dropped for. */
export const SLOW_READER_CLOSE = { code: 1008, reason: 'send queue full: the client does not read its messages' } as const;
/** How long a dropped peer has to take the close frame before the connection is cut. */
const CLOSE_GRACE_MS = 1000;

export class WebSocketTransport implements MessageTransport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JsonRpcMessage) => void;

  private closedOnce = false;

  constructor(
    private readonly socket: WebSocket,
    private readonly options: WebSocketTransportOptions = {},
    /** A client socket still connecting: start() waits for it. */
    private readonly opening?: Promise<void>,
  ) {}

  /**
   * A client transport that starts connecting now; start() resolves once the socket is open. `tls`
   * applies to wss: URLs; `limits` bound what the server may send.
   */
  static client(
    url: string,
    headers: Record<string, string>,
    tls: TlsClientOptions = {},
    options: { limits?: MessageLimits; peer?: string } = {},
  ): WebSocketTransport {
    const limits = options.limits ?? { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES, maxDepth: DEFAULT_MAX_DEPTH };
    const socket = new WebSocket(url, MCP_WS_SUBPROTOCOL, { headers, maxPayload: limits.maxMessageBytes, ...tls });
    const opening = new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    opening.catch(() => {}); // start() reports it; nobody may be waiting yet
    return new WebSocketTransport(socket, { json: jsonLimitsOf(limits), peer: options.peer }, opening);
  }

  /** Connects as a client; resolves once the socket is open. */
  static async connect(
    url: string,
    headers: Record<string, string>,
    tls?: TlsClientOptions,
    options: { limits?: MessageLimits; peer?: string } = {},
  ): Promise<WebSocketTransport> {
    const transport = WebSocketTransport.client(url, headers, tls, options);
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
    let text: string;
    try {
      text = encodeJson(message);
    } catch (err) {
      return Promise.reject(err);
    }
    const queue = this.options.sendQueue;
    if (queue && this.socket.bufferedAmount + text.length > queue.maxBufferedBytes) return this.dropSlowReader(queue);
    return new Promise((resolve, reject) => this.socket.send(text, (err) => (err ? reject(err) : resolve())));
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

  private dropSlowReader(queue: NonNullable<WebSocketTransportOptions['sendQueue']>): Promise<void> {
    queue.dropped(this.socket.bufferedAmount);
    this.socket.close(SLOW_READER_CLOSE.code, SLOW_READER_CLOSE.reason);
    // The close frame waits behind what the peer did not read: the connection goes anyway, soon.
    setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS).unref();
    return Promise.reject(new FleetError('LIMIT_REACHED', `the peer does not read its messages; dropped (${SLOW_READER_CLOSE.reason})`));
  }

  private receive(text: string): void {
    const parsed = parseMessage(text, 'frame', this.options.json);
    if (parsed.ok && parsed.dropped) this.onerror?.(prunedItems(this.options.peer ?? 'the peer', parsed.dropped));
    if (parsed.ok) this.onmessage?.(parsed.message);
    else this.reject(parsed);
  }

  private reject(refusal: Refused): void {
    const { error, id } = refusal;
    if (this.options.answerBadFrames) void this.send(errorResponse(id, error.toJsonRpcError())).catch(() => {});
    this.onerror?.(error);
    // A response over the limits still settles its request, with an error instead of hanging to its timeout.
    const answer = this.options.peer === undefined ? undefined : answerForRefused(refusal, this.options.peer);
    if (answer) this.onmessage?.(answer);
  }

  private finish(): void {
    if (this.closedOnce) return;
    this.closedOnce = true;
    this.onclose?.();
  }
}
