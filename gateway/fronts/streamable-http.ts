/**
 * The Streamable HTTP front at /mcp (MCP 2025-11-25), on plain node:http. It checks each request as
 * the spec and the SDK's server transport do (method, Accept, Content-Type, Mcp-Session-Id,
 * MCP-Protocol-Version), opens a session on initialize, hands everything else to the session the
 * request names (streamable-session.ts), and closes sessions on DELETE, when idle, and at shutdown.
 * With a shared store (replicas behind a load balancer) each session's handshake is kept there, and
 * a session this replica does not hold is resumed from it: the client carries on after the replica
 * that opened its session is gone.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal';
import { FleetError } from '../protocol/errors';
import type { SessionOpener } from '../session/sessions';
import { isRequest, type JsonRpcMessage, type JsonRpcRequest } from '../protocol/jsonrpc';
import { readJsonRpcBody, sendError, shortId } from '../http/http-util';
import { checkGetAccept, checkPostHeaders, prefersEventStream, requestProtocolVersion, takesPrimingEvent } from './streamable-checks';
import { envelopeClaim } from '../protocol/eras';
import type { ModernHttpFront } from './modern-http';
import { StreamableSession, type SessionEvents } from './streamable-session';
import type { SessionRecords } from '../store/session-records';
import { sendQueue, defaultJson } from './front-limits';
import type { JsonLimits } from '../protocol/json-limits';

/** The SDK's bound on the messages of one batch. */
const MAX_BATCH = 100;

export interface StreamableHttpOptions {
  maxBodyBytes: number;
  /** Sessions with no open request and no message for this long are closed (clients that vanished without DELETE). */
  sessionIdleTimeoutMs: number;
  /** What a refused request's answer shows on HTTP (403 with a challenge for a missing scope, so the client can step up). */
  refusalStatus?: (response: JsonRpcMessage) => { status: number; headers: Record<string, string> } | undefined;
  /** What every body must pass before it is parsed (default: no depth or string limit beyond the body's size). */
  json?: JsonLimits;
  /** Bytes a stream may hold for a client that does not read before it is dropped (default unbounded). */
  sendQueueBytes?: number;
  /** Sessions as the replicas share them (store.redis); without it a session lives in this replica only. */
  records?: SessionRecords;
}

export class StreamableHttpFront {
  private readonly sessions = new Map<string, StreamableSession>();
  /** Sessions being taken up from the shared store: concurrent requests for one wait for the same. */
  private readonly resuming = new Map<string, Promise<StreamableSession | undefined>>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly events: SessionEvents = {
    opened: (s, handshake) => this.options.records?.save(s.id, { principal: s.principal.id, ...handshake }),
    closed: (s) => this.sessions.delete(s.id),
  };

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

  /** Serves one request of `principal` (authenticated by the listener); a session it did not open does not exist for it. */
  /** `requestId`: the request's X-Request-Id, as the listener accepted or made it (it is in the response's headers already). */
  async handle(req: IncomingMessage, res: ServerResponse, principal: Principal, requestId: string): Promise<void> {
    switch (req.method) {
      case 'POST':
        return this.post(req, res, principal, requestId);
      case 'GET':
        return this.get(req, res, principal);
      case 'DELETE':
        return this.delete(req, res, principal);
      default: {
        const refusal = new FleetError('METHOD_NOT_ALLOWED', `Method not allowed: ${req.method} (the MCP endpoint takes GET, POST and DELETE)`);
        this.log.info({ method: req.method, status: 405 }, 'HTTP request refused');
        sendError(res, refusal, { allow: 'GET, POST, DELETE' });
      }
    }
  }

  /** At shutdown: the shared store keeps the sessions' records, for the replicas that take them up. */
  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.resuming.values()].map((p) => p.catch(() => undefined)));
    for (const id of this.sessions.keys()) this.options.records?.release(id);
    await Promise.all([...this.sessions.values()].map((s) => s.end()));
  }

  private async post(req: IncomingMessage, res: ServerResponse, principal: Principal, requestId: string): Promise<void> {
    checkPostHeaders(req.headers);
    const { messages, batch } = await readJsonRpcBody(req, this.options.maxBodyBytes, true, this.options.json ?? defaultJson(this.options.maxBodyBytes));
    // A session names the 2025 era; without one, a message that claims 2026-07-28 is served statelessly.
    if (req.headers['mcp-session-id'] === undefined && !batch && this.modern.claims(messages[0], req.headers))
      return this.modern.post(req.headers, res, messages[0], principal, requestId);
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
        await this.find(req.headers['mcp-session-id'], principal);
        throw new FleetError('INVALID_REQUEST', 'Invalid Request: this session is already initialized');
      }
      if (messages.length > 1) throw new FleetError('INVALID_REQUEST', 'Invalid Request: initialize must come alone, not in a batch');
      if (!this.accepting()) throw new FleetError('SHUTTING_DOWN', 'the gateway is shutting down and accepts no new sessions');
      session = this.open(principal);
      session.expectInitialize(initialize.id);
      version = String(initialize.params?.protocolVersion ?? '');
    } else {
      session = await this.find(req.headers['mcp-session-id'], principal);
      version = requestProtocolVersion(req.headers, session.client.protocolVersion);
    }
    session.post(res, messages, { batch, priming: takesPrimingEvent(version), preferStream: prefersEventStream(req.headers.accept!), requestId });
  }

  private async get(req: IncomingMessage, res: ServerResponse, principal: Principal): Promise<void> {
    checkGetAccept(req.headers);
    const session = await this.find(req.headers['mcp-session-id'], principal);
    const version = requestProtocolVersion(req.headers, session.client.protocolVersion);
    const lastEventId = req.headers['last-event-id'];
    session.get(res, typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : undefined, takesPrimingEvent(version));
  }

  private async delete(req: IncomingMessage, res: ServerResponse, principal: Principal): Promise<void> {
    const session = await this.find(req.headers['mcp-session-id'], principal);
    requestProtocolVersion(req.headers, session.client.protocolVersion);
    this.sessions.delete(session.id);
    this.options.records?.forget(session.id);
    res.writeHead(200).end();
    await session.end();
  }

  /**
   * The session `header` names, if `principal` opened it. Another principal's session is "not found"
   * exactly like one that never existed, so that an id reveals nothing and is no credential.
   */
  private async find(header: string | string[] | undefined, principal: Principal): Promise<StreamableSession> {
    if (header === undefined) throw new FleetError('INVALID_REQUEST', 'Bad Request: Mcp-Session-Id header is required (only initialize may come without one)');
    const session = typeof header === 'string' ? (this.sessions.get(header) ?? (await this.resume(header, principal))) : undefined;
    if (!session || session.principal.id !== principal.id) {
      throw new FleetError('SESSION_NOT_FOUND', `Session not found: ${shortId(String(header))} (it ended or never existed; initialize a new one)`);
    }
    this.options.records?.used(session.id);
    // the client's latest token, for servers that exchange it (a refreshed one replaces the old)
    session.client.presented(principal);
    return session;
  }

  /** A session another replica opened, taken up from its record if `principal` opened it; undefined if there is none. */
  private resume(id: string, principal: Principal): Promise<StreamableSession | undefined> | undefined {
    const records = this.options.records;
    if (!records || !this.accepting()) return undefined;
    let pending = this.resuming.get(id);
    if (!pending) {
      pending = this.takeUp(id, records, principal).finally(() => this.resuming.delete(id));
      this.resuming.set(id, pending);
    }
    return pending;
  }

  private async takeUp(id: string, records: SessionRecords, principal: Principal): Promise<StreamableSession | undefined> {
    const record = await records.load(id);
    if (!record || record.principal !== principal.id) return undefined;
    const session = this.open(principal, id);
    session.resumed = true;
    try {
      await session.client.resume(record);
    } catch (err) {
      await session.end();
      throw err;
    }
    return session;
  }

  private open(principal: Principal, id: string = randomUUID()): StreamableSession {
    const session = new StreamableSession(
      id,
      principal,
      (channel) => this.opener.openSession(channel),
      this.events,
      this.options.refusalStatus,
      undefined,
      sendQueue(this.options.sendQueueBytes, (queued) =>
        this.log.warn({ httpSession: shortId(id), queuedBytes: queued }, 'client does not read its event stream; stream dropped (limits.sendQueueBytes)'),
      ),
    );
    this.sessions.set(session.id, session);
    return session;
  }

  private closeIdle(): void {
    const cutoff = Date.now() - this.options.sessionIdleTimeoutMs;
    for (const [id, s] of this.sessions) {
      if (s.openRequests > 0 || s.client.inFlightCount > 0 || s.client.lastActivity > cutoff) continue;
      this.log.info({ session: s.client.id, httpSession: shortId(id), idleMs: Date.now() - s.client.lastActivity }, 'closing idle Streamable HTTP session');
      this.options.records?.forget(id);
      void s.end();
    }
  }
}
