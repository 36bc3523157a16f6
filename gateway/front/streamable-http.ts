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
import { BoundedEventStore } from './event-store';
import { parseJsonRpcBody, readBody } from './http-util';

export class StreamableHttpFront {
  private readonly transports = new Map<string, StreamableHTTPServerTransport>();

  constructor(
    private readonly fleet: Fleet,
    private readonly maxBodyBytes: number,
    private readonly log: Logger,
    private readonly accepting: () => boolean,
  ) {}

  get sessionCount(): number {
    return this.transports.size;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sessionId = req.headers['mcp-session-id'];
    let body: unknown;
    if (req.method === 'POST') body = parseJsonRpcBody(await readBody(req, this.maxBodyBytes));

    if (typeof sessionId === 'string') {
      const transport = this.transports.get(sessionId);
      if (!transport) throw new FleetError('SESSION_NOT_FOUND', `Session not found: ${sessionId} (it ended or never existed; initialize a new one)`);
      await transport.handleRequest(req, res, body);
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
    await Promise.all([...this.transports.values()].map((t) => t.close()));
  }

  private open(): StreamableHTTPServerTransport {
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: new BoundedEventStore(),
      onsessioninitialized: (id) => void this.transports.set(id, transport),
      onsessionclosed: (id) => void this.transports.delete(id),
    });
    const session = this.fleet.openSession({
      kind: 'streamable-http',
      send: (message: JsonRpcMessage, relatedRequestId) => transport.send(message as never, { relatedRequestId }),
      close: () => transport.close(),
    });
    transport.onmessage = (m) => session.receive(m as JsonRpcMessage);
    transport.onerror = (err) => this.log.debug({ err: err.message, session: session.id }, 'streamable HTTP transport error');
    transport.onclose = () => {
      if (transport.sessionId) this.transports.delete(transport.sessionId);
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
