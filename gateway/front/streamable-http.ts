/**
 * The Streamable HTTP front at /mcp. Each MCP session gets its own SDK server transport (which
 * does SSE streaming, GET streams, DELETE, resumability and protocol-version checks); this module
 * creates them on initialize, finds them by Mcp-Session-Id, and ties each to a client session.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Logger } from 'pino';
import { FleetError } from '../errors';
import type { JsonRpcMessage } from '../protocol/jsonrpc';
import type { Fleet } from '../fleet';
import type { ClientSession } from '../session/client-session';
import { BoundedEventStore } from './event-store';
import { parseJsonRpcBody, readBody } from './http-util';

interface HttpSession {
  transport: StreamableHTTPServerTransport;
  session: ClientSession;
  /** HTTP requests (POSTs awaiting answers, GET streams) open on this session right now. */
  openRequests: number;
}

export interface StreamableHttpOptions {
  maxBodyBytes: number;
  /** Sessions with no open request and no message for this long are closed (clients that vanished without DELETE). */
  sessionIdleTimeoutMs: number;
}

export class StreamableHttpFront {
  private readonly sessions = new Map<string, HttpSession>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly fleet: Fleet,
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

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sessionId = req.headers['mcp-session-id'];
    let body: unknown;
    if (req.method === 'POST') body = parseJsonRpcBody(await readBody(req, this.options.maxBodyBytes));

    if (typeof sessionId === 'string') {
      const entry = this.sessions.get(sessionId);
      if (!entry) throw new FleetError('SESSION_NOT_FOUND', `Session not found: ${sessionId} (it ended or never existed; initialize a new one)`);
      entry.openRequests++;
      res.once('close', () => {
        entry.openRequests--;
        entry.session.lastActivity = Date.now();
      });
      await entry.transport.handleRequest(req, res, body);
      return;
    }
    if (req.method !== 'POST' || !containsInitialize(body)) {
      throw new FleetError('INVALID_REQUEST', 'Bad Request: Mcp-Session-Id header is required (only initialize may come without one)');
    }
    if (!this.accepting()) throw new FleetError('SHUTTING_DOWN', 'the gateway is shutting down and accepts no new sessions');
    const transport = this.open();
    await transport.handleRequest(req, res, body);
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions.values()].map((e) => e.transport.close()));
  }

  private closeIdle(): void {
    const cutoff = Date.now() - this.options.sessionIdleTimeoutMs;
    for (const [id, e] of this.sessions) {
      if (e.openRequests > 0 || e.session.inFlightCount > 0 || e.session.lastActivity > cutoff) continue;
      this.log.info({ session: e.session.id, httpSession: id, idleMs: Date.now() - e.session.lastActivity }, 'closing idle Streamable HTTP session');
      void e.transport.close();
    }
  }

  private open(): StreamableHTTPServerTransport {
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: new BoundedEventStore(),
      onsessioninitialized: (id) => void this.sessions.set(id, { transport, session, openRequests: 0 }),
      onsessionclosed: (id) => void this.sessions.delete(id),
    });
    const session: ClientSession = this.fleet.openSession({
      kind: 'streamable-http',
      send: (message: JsonRpcMessage, relatedRequestId) => transport.send(message as never, { relatedRequestId }),
      close: () => transport.close(),
    });
    transport.onmessage = (m) => session.receive(m as JsonRpcMessage);
    transport.onerror = (err) => this.log.debug({ err: err.message, session: session.id }, 'streamable HTTP transport error');
    transport.onclose = () => {
      if (transport.sessionId) this.sessions.delete(transport.sessionId);
      void session.close();
    };
    void transport.start();
    return transport;
  }
}

function containsInitialize(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((m) => typeof m === 'object' && m !== null && (m as { method?: unknown }).method === 'initialize');
}
