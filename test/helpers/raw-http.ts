/**
 * Raw Streamable HTTP for tests that must see the exact bytes: no SDK schema strips or adds a
 * field. Posts JSON-RPC and returns the HTTP status with the JSON-RPC messages of the reply,
 * whether the gateway answered with JSON or with an SSE stream.
 */
export interface RawReply {
  status: number;
  headers: Headers;
  messages: any[];
}

const ACCEPT = 'application/json, text/event-stream';

export async function postRaw(url: string, body: string, headers: Record<string, string> = {}): Promise<RawReply> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers }, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, messages: parseReply(res.headers.get('content-type') ?? '', text) };
}

function parseReply(contentType: string, text: string): any[] {
  if (!text) return [];
  if (contentType.includes('text/event-stream')) {
    return text
      .split('\n')
      .filter((l) => l.startsWith('data:') && l.slice(5).trim())
      .map((l) => JSON.parse(l.slice(5)));
  }
  const value = JSON.parse(text);
  return Array.isArray(value) ? value : [value];
}

/** A 2025-11-25 initialize request (id 0), as a POST body. */
export const INITIALIZE_BODY = JSON.stringify({
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

/** An initialized raw session: `call` sends one request and returns its response message; `extra` headers (a credential) go with every request. */
export async function rawSession(mcpUrl: string, extra: Record<string, string> = {}) {
  const init = await postRaw(mcpUrl, INITIALIZE_BODY, extra);
  const sessionId = init.headers.get('mcp-session-id');
  if (init.status !== 200 || !sessionId) throw new Error(`initialize failed: ${init.status} ${JSON.stringify(init.messages)}`);
  const headers = { ...extra, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' };
  await postRaw(mcpUrl, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), headers);
  let nextId = 1;
  return {
    sessionId,
    headers,
    async call(method: string, params: Record<string, unknown> = {}): Promise<any> {
      const id = nextId++;
      const reply = await postRaw(mcpUrl, JSON.stringify({ jsonrpc: '2.0', id, method, params }), headers);
      const response = reply.messages.find((m) => m.id === id);
      if (!response) throw new Error(`no response to ${method}: ${reply.status} ${JSON.stringify(reply.messages)}`);
      return response;
    },
    close: () => fetch(mcpUrl, { method: 'DELETE', headers }),
  };
}

export interface SseEvent {
  id?: string;
  data: any;
}

/** Opens a GET event stream (or, with a `body`, a POST answered as one) and collects its events until `close()`. */
export async function openEventStream(url: string, headers: Record<string, string>, body?: string) {
  const controller = new AbortController();
  const init =
    body === undefined
      ? { method: 'GET', headers: { accept: 'text/event-stream', ...headers } }
      : { method: 'POST', headers: { 'content-type': 'application/json', accept: ACCEPT, ...headers }, body };
  const res = await fetch(url, { ...init, signal: controller.signal });
  const events: SseEvent[] = [];
  const done = (async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let id: string | undefined;
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('id:')) id = line.slice(3).trim();
            if (line.startsWith('data:')) data += line.slice(5).trim();
          }
          if (data) events.push({ id, data: JSON.parse(data) });
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return {
    status: res.status,
    events,
    async close() {
      controller.abort();
      await done;
    },
  };
}
