/**
 * A small real MCP server over Streamable HTTP (the official SDK, stateful sessions) that answers
 * only requests whose Authorization header is one of `accepted`, or that a `Check` accepts (an
 * OAuth resource server's token verification), and 401 quoting the header otherwise, for tests of
 * upstream credentials. Its tool `whoami` returns the Authorization header of the request that
 * called it, `claims` what the check found in it, `correlation` its X-Request-Id and `_meta`; `seen`
 * lists every Authorization it got, in order.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

export interface AuthCheckingServer {
  url: string;
  /** The Authorization values answered; change it to make the server refuse old credentials. */
  accepted: Set<string>;
  seen: string[];
  /** How many upstream MCP sessions were opened (a rotation should open none). */
  readonly sessionsOpened: number;
  stop(): Promise<void>;
}

/** What a request's Authorization header says (e.g. a verified token's claims), or undefined to refuse it. */
export type Check = (authorization: string) => Promise<Record<string, unknown> | undefined>;

export async function startAuthCheckingServer(accept: Iterable<string> | Check): Promise<AuthCheckingServer> {
  const state = { accepted: new Set(typeof accept === 'function' ? [] : accept), seen: [] as string[], sessionsOpened: 0 };
  const check: Check = typeof accept === 'function' ? accept : async (auth) => (state.accepted.has(auth) ? {} : undefined);
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const server = createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    state.seen.push(auth);
    void check(auth).then(async (claims) => {
      if (!claims) {
        // quoting the credential back, as a careless server might: the gateway must not pass it on
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unauthorized', got: auth }));
        return;
      }
      const [transport, body] = await handle(req).catch((err: Error) => {
        res.writeHead(400).end(err.message);
        return [];
      });
      if (transport) await transport.handleRequest(req, res, body);
    });
  });
  async function handle(req: IncomingMessage): Promise<[StreamableHTTPServerTransport, unknown]> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
    const sid = req.headers['mcp-session-id'];
    const existing = typeof sid === 'string' ? transports.get(sid) : undefined;
    if (existing) return [existing, body];
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        state.sessionsOpened++;
        transports.set(id, transport);
      },
    });
    transport.onclose = () => transport.sessionId && transports.delete(transport.sessionId);
    const mcp = new McpServer({ name: 'auth-checking', version: '1.0.0' });
    mcp.registerTool('whoami', { description: 'the Authorization header of this request' }, (extra) => ({
      content: [{ type: 'text', text: String(extra.requestInfo?.headers.authorization ?? '') }],
    }));
    mcp.registerTool('correlation', { description: "this request's X-Request-Id header and _meta" }, (extra) => ({
      content: [{ type: 'text', text: JSON.stringify({ header: extra.requestInfo?.headers['x-request-id'], meta: extra._meta ?? {} }) }],
    }));
    mcp.registerTool('claims', { description: 'what the check found in the Authorization of this request' }, async (extra) => ({
      content: [{ type: 'text', text: JSON.stringify((await check(String(extra.requestInfo?.headers.authorization ?? ''))) ?? {}) }],
    }));
    await mcp.connect(transport);
    return [transport, body];
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    accepted: state.accepted,
    seen: state.seen,
    get sessionsOpened() {
      return state.sessionsOpened;
    },
    async stop() {
      await Promise.all([...transports.values()].map((t) => t.close()));
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
