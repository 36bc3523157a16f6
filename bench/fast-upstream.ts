/**
 * A minimal MCP server for benchmarks: one `echo` tool, answered as cheaply as Node allows, over
 * stdio (`fast-upstream stdio`) or Streamable HTTP (`fast-upstream http`; port from PORT, path
 * /mcp, JSON responses, a session id on initialize). Hand-rolled JSON-RPC without the SDK, so that
 * when it sits behind the gateway the upstream costs next to nothing and the gateway's own cost
 * shows. It answers initialize, ping, tools/list and tools/call; anything else is -32601.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const PROTOCOL_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'];

const ECHO_TOOL = {
  name: 'echo',
  description: 'Echoes back the input',
  inputSchema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
};

interface Message {
  jsonrpc: '2.0';
  id?: string | number | null;
  method?: string;
  params?: { name?: unknown; arguments?: { message?: unknown }; protocolVersion?: unknown };
}

/** The response to one message, or undefined when it needs none (notifications and responses). */
export function answer(m: Message): object | undefined {
  if (m.method === undefined || m.id === undefined) return undefined;
  const id = m.id;
  switch (m.method) {
    case 'tools/call':
      if (m.params?.name !== 'echo') return { jsonrpc: '2.0', id, error: { code: -32602, message: `Unknown tool: ${String(m.params?.name)}` } };
      return { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: `Echo: ${String(m.params.arguments?.message)}` }] } };
    case 'initialize': {
      const asked = m.params?.protocolVersion;
      const protocolVersion = typeof asked === 'string' && PROTOCOL_VERSIONS.includes(asked) ? asked : PROTOCOL_VERSIONS[0];
      return { jsonrpc: '2.0', id, result: { protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'bench-fast-upstream', version: '1.0.0' } } };
    }
    case 'tools/list':
      return { jsonrpc: '2.0', id, result: { tools: [ECHO_TOOL] } };
    case 'ping':
      return { jsonrpc: '2.0', id, result: {} };
    default:
      return { jsonrpc: '2.0', id, error: { code: -32601, message: `Method not found: ${m.method}` } };
  }
}

/** Newline-delimited JSON-RPC on stdin/stdout; exits when stdin ends, as a stdio server should. */
function serveStdio(): void {
  let buffered = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    buffered += chunk;
    let out = '';
    let nl: number;
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.trim()) continue;
      const reply = answer(JSON.parse(line) as Message);
      if (reply) out += JSON.stringify(reply) + '\n';
    }
    // One write per chunk: under load several requests arrive together and leave together.
    if (out) process.stdout.write(out);
  });
  process.stdin.on('end', () => process.exit(0));
}

function serveHttp(port: number): void {
  const server = createServer((req, res) => void route(req, res));
  server.listen(port, '127.0.0.1', () => {
    const addr = server.address();
    const bound = typeof addr === 'object' && addr ? addr.port : port;
    process.stderr.write(`fast-upstream listening on http://127.0.0.1:${bound}/mcp\n`);
  });
  process.once('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
  });
}

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.url !== '/mcp') return reply(res, 404);
  if (req.method === 'DELETE') return reply(res, 200);
  // No standalone SSE stream: the spec lets a server refuse GET with 405, and clients accept that.
  if (req.method !== 'POST') return reply(res, 405, undefined, { allow: 'POST, DELETE' });
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  let body: Message | Message[];
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return reply(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
  }
  const messages = Array.isArray(body) ? body : [body];
  const replies = messages.map(answer).filter((r) => r !== undefined);
  if (replies.length === 0) return reply(res, 202);
  const headers: Record<string, string> = messages.some((m) => m.method === 'initialize') ? { 'mcp-session-id': randomUUID() } : {};
  reply(res, 200, Array.isArray(body) ? replies : replies[0], headers);
}

function reply(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers }).end(text);
}

if (require.main === module) {
  const mode = process.argv[2];
  if (mode === 'stdio') serveStdio();
  else if (mode === 'http') serveHttp(Number(process.env.PORT ?? 0));
  else {
    process.stderr.write(`usage: fast-upstream stdio|http (got ${JSON.stringify(mode)})\n`);
    process.exit(2);
  }
}
