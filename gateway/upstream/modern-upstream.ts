/**
 * What a 2026-07-28 upstream needs that a 2025 session did not, so that the rest of the gateway
 * meets every upstream connection alike:
 *
 * - every request carries the envelope (protocol version, client capabilities and info in `_meta`);
 *   a forwarded call brings its own client's, the gateway's own requests carry what the connection
 *   was opened with;
 * - the 2025-only methods are mapped or answered here, never sent: `ping` becomes `server/discover`
 *   (any answer proves the server alive), `logging/setLevel` is answered (the level travels in each
 *   request's envelope), `resources/subscribe` and `unsubscribe` change the listen filter, and
 *   `notifications/roots/list_changed` is dropped (roots are asked for per request);
 * - one `subscriptions/listen` stream carries the server's list changes and the updates of the
 *   subscribed resources, delivered as a 2025 session's notifications (without the subscription
 *   id). When the subscribed resources change, a new stream opens before the old one is cancelled.
 */
import type { Logger } from 'pino';
import { META, MODERN_VERSIONS } from '../protocol/eras';
import { SdkCode } from '../protocol/errors';
import { isErrorResponse, type JsonRpcNotification, type JsonRpcResponse } from '../protocol/jsonrpc';
import { asObject } from '../protocol/objects';
import type { InitializeParams, PendingRequest, RequestOptions } from './session-types';

/** How long a subscription waits for the server to acknowledge its listen stream before it is answered anyway. */
const ACK_WAIT_MS = 10_000;

/** What the modern half needs of its connection. */
export interface ModernHost {
  readonly serverName: string;
  isOpen(): boolean;
  /** Sends as it is, bypassing the translation (which is this module's). */
  send(method: string, params: Record<string, unknown>, options: RequestOptions): PendingRequest;
  cancel(id: number, reason: string | undefined): void;
  deliver(n: JsonRpcNotification): void;
  lose(reason: Error): Promise<void>;
}

/** A request as it goes to the server: mapped to a modern method, or answered here (once what it asked for holds). */
export type Translated = { local: Promise<Record<string, unknown>> } | { method: string; params: Record<string, unknown> };

interface Stream {
  id: number;
  /** Settles once the server acknowledged the stream (or it ended first). */
  acknowledged: () => void;
}

export class ModernUpstream {
  private readonly uris = new Set<string>();
  private listening: Stream | undefined;
  private listenOffered = true;

  constructor(
    private readonly host: ModernHost,
    private readonly opened: InitializeParams,
    private readonly capabilities: Record<string, unknown>,
    private readonly log: Logger,
  ) {}

  /** The envelope this hop carries: the protocol version always, the caller's capabilities and info when it gave them. */
  envelope(params: Record<string, unknown> | undefined): Record<string, unknown> {
    const meta = asObject(params?._meta) ?? {};
    return {
      ...params,
      _meta: {
        [META.clientCapabilities]: this.opened.capabilities,
        [META.clientInfo]: this.opened.clientInfo,
        ...meta,
        [META.protocolVersion]: MODERN_VERSIONS[0],
      },
    };
  }

  translate(method: string, params: Record<string, unknown> | undefined): Translated {
    switch (method) {
      case 'ping':
        return { method: 'server/discover', params: this.envelope(undefined) };
      case 'logging/setLevel':
        return { local: Promise.resolve({}) };
      case 'resources/subscribe':
      case 'resources/unsubscribe': {
        const uri = params?.uri;
        if (typeof uri !== 'string' || this.uris.has(uri) === (method === 'resources/subscribe')) return { local: Promise.resolve({}) };
        if (method === 'resources/subscribe') this.uris.add(uri);
        else this.uris.delete(uri);
        // Answered once the server acknowledged the stream with the new filter: an update after the answer is heard.
        return { local: this.listen().then(() => ({})) };
      }
      default:
        return { method, params: this.envelope(params) };
    }
  }

  /** Notifications the gateway would send a 2025 session; false for those a modern server does not take. */
  passes(method: string): boolean {
    return method !== 'notifications/roots/list_changed' && method !== 'notifications/initialized';
  }

  /**
   * Opens (or reopens, with the current resource subscriptions) the listen stream, if the server
   * has anything to tell; resolves once the server acknowledged it, the stream ended first, or
   * ACK_WAIT_MS passed (a server that never acknowledges does not hold up its clients).
   */
  listen(): Promise<void> {
    if (!this.listenOffered || !this.host.isOpen()) return Promise.resolve();
    const filter = this.filter();
    const previous = this.listening;
    if (Object.keys(filter).length === 0) {
      this.listening = undefined;
      if (previous) this.host.cancel(previous.id, 'nothing left to listen for');
      return Promise.resolve();
    }
    const pending = this.host.send('subscriptions/listen', this.envelope({ notifications: filter }), { timeoutMs: Infinity });
    let acknowledged!: () => void;
    const ack = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ACK_WAIT_MS);
      timer.unref();
      acknowledged = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    const current: Stream = { id: pending.id, acknowledged };
    this.listening = current;
    if (previous) this.host.cancel(previous.id, 'replaced by a listen stream with other resource subscriptions');
    pending.response.then(
      (answer) => this.ended(current, answer),
      // cancelled on purpose (replaced) or with the connection: ended() ignores it; the link dropped under the stream: the gateway would be deaf
      (err: Error) => this.ended(current, { lost: err }),
    );
    void pending.response.finally(acknowledged).catch(() => {});
    return ack;
  }

  /** A notification from the server: the listen stream's go on as a 2025 session's would; false when it was the stream's own. */
  receive(n: JsonRpcNotification): boolean {
    // How a server tears a listen stream down over stdio (the spec's one use of notifications/cancelled by a server).
    if (n.method === 'notifications/cancelled' && this.listening !== undefined && n.params?.requestId === this.listening.id) {
      this.ended(this.listening, 'it cancelled the stream');
      return false;
    }
    const meta = asObject(n.params?._meta);
    if (!meta || !(META.subscriptionId in meta)) return true;
    const stream = this.listening;
    if (!stream || meta[META.subscriptionId] !== stream.id) return false;
    if (n.method === 'notifications/subscriptions/acknowledged') {
      stream.acknowledged();
      return false;
    }
    const { [META.subscriptionId]: _id, ...rest } = meta;
    const params = { ...n.params };
    if (Object.keys(rest).length > 0) params._meta = rest;
    else delete params._meta;
    this.host.deliver({ ...n, params });
    return false;
  }

  private filter(): Record<string, unknown> {
    const changes = (kind: string) => asObject(this.capabilities[kind])?.listChanged === true;
    const resources = asObject(this.capabilities.resources);
    return {
      ...(changes('tools') && { toolsListChanged: true }),
      ...(changes('prompts') && { promptsListChanged: true }),
      ...(changes('resources') && { resourcesListChanged: true }),
      ...(resources?.subscribe === true && this.uris.size > 0 && { resourceSubscriptions: [...this.uris] }),
    };
  }

  /**
   * The server answered the listen request, or the stream was lost under it (the link dropped): it
   * is over. A server without listen says so once; any other end leaves the gateway deaf to its
   * changes, so the connection is given up and the supervisor reconnects (and reads the catalog
   * afresh).
   */
  private ended(stream: Stream, answer: JsonRpcResponse | string | { lost: Error }): void {
    if (stream !== this.listening || !this.host.isOpen()) return;
    this.listening = undefined;
    if (typeof answer === 'object' && 'lost' in answer) {
      void this.host.lose(
        new Error(`the subscriptions/listen stream to the server was lost (${answer.lost.message}); reconnecting, so that no change goes unheard`),
      );
      return;
    }
    if (typeof answer !== 'string' && isErrorResponse(answer) && answer.error.code === SdkCode.MethodNotFound) {
      this.listenOffered = false;
      this.log.warn({ server: this.host.serverName }, 'server does not offer subscriptions/listen; its list changes and resource updates are not heard');
      return;
    }
    const why = typeof answer === 'string' ? answer : isErrorResponse(answer) ? `error ${answer.error.code}: ${answer.error.message}` : 'a final result';
    void this.host.lose(new Error(`the server ended its subscriptions/listen stream (${why})`));
  }
}
