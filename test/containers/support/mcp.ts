/** An official SDK client over Streamable HTTP to a gateway's published port, closed with its session. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export interface HttpClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
  /** Ends the session (DELETE) and closes the transport. */
  close(): Promise<void>;
}

export async function connectHttp(address: string, name = 'container-test'): Promise<HttpClient> {
  const client = new Client({ name, version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`http://${address}/mcp`));
  await client.connect(transport);
  return {
    client,
    transport,
    close: async () => {
      await transport.terminateSession().catch(() => {});
      await client.close();
    },
  };
}

/** The text of a tool result's first content item. */
export function text(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.find((c) => c.type === 'text')?.text ?? '';
}
