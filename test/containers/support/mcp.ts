/** An official SDK client over Streamable HTTP to a gateway's published port, closed with its session. */
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { clientHeaders } from '../../../activities/credentials';
import { connectGateway, type GatewayConnection } from '../../../gateway/client/connect';

export interface HttpClient extends GatewayConnection {
  /** For the session id. */
  transport: StreamableHTTPClientTransport;
}

export async function connectHttp(address: string, name = 'container-test'): Promise<HttpClient> {
  const connection = await connectGateway(`http://${address}`, 'streamable-http', { name, headers: clientHeaders() });
  return { ...connection, transport: connection.client.transport as StreamableHTTPClientTransport };
}

/** The text of a tool result's first content item. */
export function text(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.find((c) => c.type === 'text')?.text ?? '';
}
