/** Builds the client-side transport for a configured server: a child process or a remote endpoint. */
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Logger } from 'pino';
import type { ServerConfig } from '../config/schema';
import { WebSocketTransport } from '../protocol/ws-transport';
import { ProcessTransport } from './process-transport';

export async function createUpstreamTransport(server: ServerConfig, log: Logger): Promise<Transport> {
  if (server.kind === 'stdio') {
    return new ProcessTransport({ command: server.command, args: server.args, env: server.env, cwd: server.cwd, log });
  }
  const url = new URL(server.url);
  switch (server.transport) {
    case 'streamable-http':
      return withSessionEnd(new StreamableHTTPClientTransport(url, { requestInit: { headers: server.headers } }));
    case 'sse':
      return new SSEClientTransport(url, {
        requestInit: { headers: server.headers },
        eventSourceInit: { fetch: (u, init) => fetch(u, { ...init, headers: { ...(init?.headers as Record<string, string>), ...server.headers } }) },
      });
    case 'websocket':
      return WebSocketTransport.connect(server.url, server.headers);
  }
}

/** The SDK's close() sends no DELETE; end the upstream session explicitly so the server can free it. */
function withSessionEnd(transport: StreamableHTTPClientTransport): Transport {
  const close = transport.close.bind(transport);
  transport.close = async () => {
    if (transport.sessionId) await transport.terminateSession().catch(() => {});
    await close();
  };
  return transport;
}
