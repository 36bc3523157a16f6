/**
 * Serves the fixture over Streamable HTTP at /mcp, both protocol eras on the one URL, the way the
 * SDK documents for a dual-era server: its own classifier (isLegacyRequest) sends 2025 traffic to a
 * sessionful transport, one server per session, so server-to-client requests, log levels,
 * subscriptions and stream resumption work; every other POST goes to createMcpHandler with legacy: 'reject', a fresh
 * server per 2026-07-28 request. A list change reaches both: the modern handler's listen streams
 * and every 2025 session. Plain node:http, with the loopback Host check DNS rebinding protection needs.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NodeStreamableHTTPServerTransport, toNodeHandler, toWebRequest } from '@modelcontextprotocol/node';
import { createMcpHandler, isInitializeRequest, isLegacyRequest, type McpServer } from '@modelcontextprotocol/server';
import { BoundedEventStore } from './event-store';
import { connectionChanges } from './fixtures/server';
import type { ListChanges } from './fixtures/types';

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const MAX_SESSIONS = 1_000;
/** How soon a 2025 client whose stream the server closed should reconnect (the SSE retry field). */
const RECONNECT_AFTER_MS = 500;
const LOOPBACK_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

export interface HttpHost {
  /** The MCP endpoint, e.g. http://127.0.0.1:PORT/mcp. */
  url: string;
  close(): Promise<void>;
}

interface Session {
  transport: NodeStreamableHTTPServerTransport;
  mcp: McpServer;
  changes: ListChanges;
}

type Body = { ok: true; value: unknown } | { ok: false; status: number; code: number; message: string };

/** Listens on HOST:PORT (port 0 picks a free one); `createMcpServer` builds a server per 2025 session and per 2026 request. */
export async function serveHttp(options: { host: string; port: number; createMcpServer: (changes: ListChanges) => McpServer }): Promise<HttpHost> {
  const sessions = new Map<string, Session>();
  const changes: ListChanges = {
    toolsChanged() {
      modern.notify.toolsChanged();
      for (const session of sessions.values()) session.changes.toolsChanged();
    },
    promptsChanged() {
      modern.notify.promptsChanged();
      for (const session of sessions.values()) session.changes.promptsChanged();
    },
  };
  const modern = createMcpHandler(() => options.createMcpServer(changes), {
    legacy: 'reject',
    // Rejections the suite provokes on purpose land here too; the log is for reading after a failure.
    onerror: (err) => process.stderr.write(`fixture (2026-07-28): ${err.message}\n`),
  });
  const serveModern = toNodeHandler(modern);

  async function openSession(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    if (sessions.size >= MAX_SESSIONS) return sendError(res, 503, `Too many open sessions (${MAX_SESSIONS}): end one with DELETE first`);
    const mcp = options.createMcpServer(changes);
    const transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      eventStore: new BoundedEventStore(),
      retryInterval: RECONNECT_AFTER_MS,
      onsessioninitialized: (id) => void sessions.set(id, { transport, mcp, changes: connectionChanges(mcp) }),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await mcp.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  async function serveLegacy(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId);
      if (!session) return sendError(res, 404, `Unknown session: ${sessionId}`);
      return session.transport.handleRequest(req, res, body);
    }
    if (req.method === 'POST' && isInitializeRequest(body)) return openSession(req, res, body);
    return sendError(res, 400, 'Missing mcp-session-id header (only initialize may omit it)');
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!isLoopbackHost(req.headers.host)) return sendError(res, 403, `Host not allowed: ${req.headers.host}`);
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/mcp') return sendError(res, 404, 'Not found: use /mcp');
    // Only POSTs can be 2026-07-28 (which has no GET stream and no sessions); GET and DELETE are 2025 session traffic.
    if (req.method !== 'POST') return serveLegacy(req, res, undefined);

    const body = await readJson(req);
    if (!body.ok) return sendError(res, body.status, body.message, body.code);
    if (await isLegacyRequest(await toWebRequest(req, body.value), body.value)) return serveLegacy(req, res, body.value);
    return serveModern(req, res, body.value);
  }

  const http = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, `Internal error: ${(err as Error).message}`, -32603);
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, resolve);
  });
  const { port } = http.address() as AddressInfo;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;

  return {
    url: `http://${hostForUrl}:${port}/mcp`,
    async close() {
      await modern.close();
      await Promise.allSettled([...sessions.values()].map((session) => session.mcp.close()));
      sessions.clear();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** Only loopback names, with any port: a rebinding attack arrives with the attacker's Host. */
function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  try {
    return LOOPBACK_HOSTNAMES.has(new URL(`http://${host}`).hostname);
  } catch {
    return false;
  }
}

async function readJson(req: IncomingMessage): Promise<Body> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return { ok: false, status: 413, code: -32000, message: `Request body over ${MAX_BODY_BYTES} bytes` };
    chunks.push(chunk);
  }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
  } catch (err) {
    return { ok: false, status: 400, code: -32700, message: `Parse error: ${(err as Error).message}` };
  }
}

function sendError(res: ServerResponse, status: number, message: string, code = -32000): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}
