/**
 * The project's own message transport: what every front and every upstream connector speaks. It
 * has the shape of the SDK's Transport, so SDK transports fit through one adapter (sdk-transport.ts),
 * but it carries the gateway's raw JSON-RPC messages, which keep fields the SDK's types do not know.
 */
import type { FleetError } from './errors';
import type { JsonRpcMessage, RequestId } from './jsonrpc';

/** What the wire says about a received message besides itself. */
export interface ReceivedContext {
  /** Streamable HTTP: the id of the request whose response stream carried the message (none on the GET stream). */
  inResponseTo?: RequestId;
  /**
   * Set when the transport answers a request itself because the server's response can no longer
   * arrive (Streamable HTTP: its response stream broke): the request failed in the gateway, with
   * this error, and the server said nothing.
   */
  failure?: FleetError;
}

/**
 * An HTTP transport's keep-alive connections to its server (the pool a 2026-07-28 upstream needs
 * instead of a session pool): sockets open now, busy or idle, requests waiting for one, and the
 * requests so far and how many of them found a socket open (reused).
 */
export interface HttpPoolStats {
  inUse: number;
  idle: number;
  waiting: number;
  requests: number;
  reused: number;
  /** reused / requests (1 before any request): how often a request found a connection open. */
  efficiency: number;
}

export interface MessageTransport {
  /** Starts receiving; resolves once messages can be sent. */
  start(): Promise<void>;
  /** Resolves once the message is handed to the wire; rejects when the transport cannot send. HTTP transports add `headers` to its request. */
  send(message: JsonRpcMessage, options?: { headers?: Record<string, string> }): Promise<void>;
  /** Ends the transport; `onclose` runs once, whoever ended it. */
  close(): Promise<void>;
  onmessage?: (message: JsonRpcMessage, context?: ReceivedContext) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
  /**
   * Bytes arrived from the peer, maybe only part of a message (stdio and Streamable HTTP tell;
   * others report whole messages only): a peer writing a long answer is busy, not gone.
   */
  onactivity?: () => void;
  /** HTTP transports send the negotiated protocol version with every request. */
  setProtocolVersion?(version: string): void;
  /** Streamable HTTP: closes the response stream of request `id` (how a 2026-07-28 request is cancelled); false if none is open. */
  cancel?(id: RequestId): boolean;
  /** Streamable HTTP: its keep-alive connections for requests. */
  httpPool?(): HttpPoolStats;
}
