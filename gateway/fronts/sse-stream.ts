/**
 * One Server-Sent Events response of the Streamable HTTP front. The headers go out the moment the
 * stream starts (with a priming event when the client can take one), each JSON-RPC message is one
 * `message` event with its id, a comment keeps idle connections alive, and the owner hears when the
 * client went away before the stream was ended.
 */
import type { ServerResponse } from 'node:http';

const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

/** Proxies and load balancers close connections idle for longer; this is the SDK's interval. */
export const KEEP_ALIVE_MS = 15_000;

/**
 * The `retry` the priming event sets: how soon a client that lost the stream (a drain, a proxy's
 * timeout) comes back with Last-Event-ID. Long enough not to hammer a restarting instance.
 */
export const RECONNECT_AFTER_MS = 1000;

/**
 * How much a stream may hold for a client that does not read: past `maxQueuedBytes` written and not
 * yet taken by the socket, the stream is dropped (its connection destroyed) and `dropped` is told.
 */
export interface SendQueueLimit {
  maxQueuedBytes: number;
  dropped(queuedBytes: number): void;
}

export const UNBOUNDED: SendQueueLimit = { maxQueuedBytes: Infinity, dropped: () => {} };

export class SseStream {
  private readonly keepAlive: NodeJS.Timeout;
  private open = true;

  /**
   * Starts the stream on `res` at once. `primingId`: an event with this id and no data comes first,
   * and the reconnection delay, so the client holds a Last-Event-ID before any message and knows when
   * to come back with it (clients on protocol >= 2025-11-25 only).
   * `onGone` runs if the connection closes before `end()`.
   */
  constructor(
    private readonly res: ServerResponse,
    headers: Record<string, string>,
    primingId: string | undefined,
    onGone: (stream: SseStream) => void,
    private readonly queue: SendQueueLimit = UNBOUNDED,
  ) {
    res.writeHead(200, { ...SSE_HEADERS, ...headers });
    if (primingId === undefined) res.flushHeaders();
    else res.write(`id: ${primingId}\nretry: ${RECONNECT_AFTER_MS}\ndata: \n\n`);
    this.keepAlive = setInterval(() => this.open && res.write(': keepalive\n\n'), KEEP_ALIVE_MS);
    this.keepAlive.unref();
    res.once('close', () => {
      clearInterval(this.keepAlive);
      if (!this.open) return;
      this.open = false;
      onGone(this);
    });
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Writes one message event (2026-07-28 streams carry no event ids: `id` undefined); false if the stream is no longer open. */
  send(id: string | undefined, data: string): boolean {
    if (!this.open || this.res.destroyed) return false;
    const queued = this.res.writableLength;
    if (queued + data.length > this.queue.maxQueuedBytes) {
      // A client that stays this far behind is dropped: what it has not taken is freed with its connection.
      this.queue.dropped(queued);
      this.res.destroy();
      return false;
    }
    this.res.write(id === undefined ? `event: message\ndata: ${data}\n\n` : `event: message\nid: ${id}\ndata: ${data}\n\n`);
    return true;
  }

  /** Ends the stream (the response completes); `onGone` will not run. */
  end(): void {
    clearInterval(this.keepAlive);
    if (!this.open) return;
    this.open = false;
    this.res.end();
  }
}
