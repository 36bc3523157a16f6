/**
 * The Streamable HTTP front at /mcp (MCP 2025-11-25), on plain node:http. It checks each request as
 * the spec and the SDK's server transport do (method, Accept, Content-Type, Mcp-Session-Id,
 * MCP-Protocol-Version), opens a session on initialize, hands everything else to the session the
 * request names (streamable-session.ts), and closes sessions on DELETE, when idle, and at shutdown.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { FleetError } from '../protocol/errors';
import type { SessionOpener } from '../session/sessions';
import { isRequest, type JsonRpcRequest } from '../protocol/jsonrpc';
import { readJsonRpcBody, sendError } from '../http/http-util';
import { checkGetAccept, checkPostHeaders, prefersEventStream, requestProtocolVersion, takesPrimingEvent } from './streamable-checks';
import { envelopeClaim } from '../protocol/eras';
import type { ModernHttpFront } from './modern-http';
import { StreamableSession } from './streamable-session';
import { sendQueue, defaultJson } from './front-limits';
import type { JsonLimits } from '../protocol/json-limits';

/** The SDK's bound on the messages of one batch. */
const MAX_BATCH = 100;

export interface StreamableHttpOptions {
  maxBodyBytes: number;
  /** Sessions with no open request and no message for this long are closed (clients that vanished without DELETE). */
  sessionIdleTimeoutMs: number;
  /** What every body must pass before it is parsed (default: no depth or string limit beyond the body's size). */
  json?: JsonLimits;
  /** Bytes a stream may hold for a client that does not read before it is dropped (default unbounded). */
  sendQueueBytes?: number;
}

export class StreamableHttpFront {
  private readonly sessions = new Map<string, StreamableSession>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly opener: SessionOpener,
    /** The 2026-07-28 requests on the same URL: no session, each one classified by its own content. */
    private readonly modern: ModernHttpFront,
    private readonly options: StreamableHttpOptions,
    private readonly log: Logger,
    private readonly accepting: () => boolean,
  ) {
    this.sweeper = setInterval(() => this.closeIdle(), Math.min(60_000, Math.max(1000, options.sessionIdleTimeoutMs / 4)));
    this.sweeper.unref();
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** The session an Mcp-Session-Id names, if it is open. */
  session(id: string): StreamableSession | undefined {
    return this.sessions.get(id);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    switch (req.method) {
      case 'POST':
        return this.post(req, res);
      case 'GET':
        return this.get(req, res);
      case 'DELETE':
        return this.delete(req, res);
      default: {
        const refusal = new FleetError('METHOD_NOT_ALLOWED', `Method not allowed: ${req.method} (the MCP endpoint takes GET, POST and DELETE)`);
        this.log.info({ method: req.method, status: 405 }, 'HTTP request refused');
        sendError(res, refusal, { allow: 'GET, POST, DELETE' });
      }
    }
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions.values()].map((s) => s.end()));
  }

  private async post(req: IncomingMessage, res: ServerResponse): Promise<void> {
    checkPostHeaders(req.headers);
    const { messages, batch } = await readJsonRpcBody(req, this.options.maxBodyBytes, true, this.options.json ?? defaultJson(this.options.maxBodyBytes));
    // A session names the 2025 era; without one, a message that claims 2026-07-28 is served statelessly.
    if (req.headers['mcp-session-id'] === undefined && !batch && this.modern.claims(messages[0], req.headers))
      return this.modern.post(req.headers, res, messages[0]);
    if (batch && messages.some((m) => 'method' in m && envelopeClaim(m.params) !== undefined)) {
      throw new FleetError('INVALID_REQUEST', 'Invalid Request: JSON-RPC batches may not carry requests of protocol revision 2026-07-28 or later');
    }
    if (messages.length > MAX_BATCH)
      throw new FleetError('INVALID_REQUEST', `Invalid Request: a batch holds at most ${MAX_BATCH} messages (got ${messages.length})`);
    const initialize = messages.find((m): m is JsonRpcRequest => isRequest(m) && m.method === 'initialize');
    let session: StreamableSession;
    let version: string;
    if (initialize) {
      if (req.headers['mcp-session-id'] !== undefined) {
        this.find(req.headers['mcp-session-id']);
        throw new FleetError('INVALID_REQUEST', 'Invalid Request: this session is already initialized');
      }
      if (messages.length > 1) throw new FleetError('INVALID_REQUEST', 'Invalid Request: initialize must come alone, not in a batch');
      if (!this.accepting()) throw new FleetError('SHUTTING_DOWN', 'the gateway is shutting down and accepts no new sessions');
      session = this.open();
      session.expectInitialize(initialize.id);
      version = String(initialize.params?.protocolVersion ?? '');
    } else {
      session = this.find(req.headers['mcp-session-id']);
      version = requestProtocolVersion(req.headers, session.client.protocolVersion);
    }
    session.post(res, messages, { batch, priming: takesPrimingEvent(version), preferStream: prefersEventStream(req.headers.accept!) });
  }

  private get(req: IncomingMessage, res: ServerResponse): void {
    checkGetAccept(req.headers);
    const session = this.find(req.headers['mcp-session-id']);
    const version = requestProtocolVersion(req.headers, session.client.protocolVersion);
    const lastEventId = req.headers['last-event-id'];
    session.get(res, typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : undefined, takesPrimingEvent(version));
  }

  private async delete(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const session = this.find(req.headers['mcp-session-id']);
    requestProtocolVersion(req.headers, session.client.protocolVersion);
    this.sessions.delete(session.id);
    res.writeHead(200).end();
    await session.end();
  }

  private find(header: string | string[] | undefined): StreamableSession {
    if (header === undefined) throw new FleetError('INVALID_REQUEST', 'Bad Request: Mcp-Session-Id header is required (only initialize may come without one)');
    const session = typeof header === 'string' ? this.sessions.get(header) : undefined;
    if (!session) throw new FleetError('SESSION_NOT_FOUND', `Session not found: ${header} (it ended or never existed; initialize a new one)`);
    return session;
  }

  private open(): StreamableSession {
    const id = randomUUID();
    const session = new StreamableSession(
      id,
      (channel) => this.opener.openSession(channel),
      (s) => this.sessions.delete(s.id),
      undefined,
      sendQueue(this.options.sendQueueBytes, (queued) =>
        this.log.warn({ httpSession: id, queuedBytes: queued }, 'client does not read its event stream; stream dropped (limits.sendQueueBytes)'),
      ),
    );
    this.sessions.set(session.id, session);
    return session;
  }

  private closeIdle(): void {
    const cutoff = Date.now() - this.options.sessionIdleTimeoutMs;
    for (const [id, s] of this.sessions) {
      if (s.openRequests > 0 || s.client.inFlightCount > 0 || s.client.lastActivity > cutoff) continue;
      this.log.info({ session: s.client.id, httpSession: id, idleMs: Date.now() - s.client.lastActivity }, 'closing idle Streamable HTTP session');
      void s.end();
    }
  }
}
