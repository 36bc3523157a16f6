/**
 * Connecting the official SDK v2 client to a gateway in the 2026-07-28 era (stateless: no
 * session, every request carries its own envelope), for the tools around the gateway. The SDK
 * speaks 2026-07-28 only when asked to; this pins it, so a client never falls back unnoticed.
 * Closing has no session to end: it closes the transport (and with it any listen stream).
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { MODERN_VERSION } from '../protocol/eras';
import { version } from '../version';
import { frontUrl } from './connect';

export interface ModernConnectOptions {
  name?: string;
  /** Capabilities every request declares (elicitation, sampling, roots); default none. */
  capabilities?: Record<string, unknown>;
  /** Runs before connect: request handlers for the questions a server may ask (elicitation/create, …). */
  setup?: (client: Client) => void;
  /** Sent with every request (a credential: Authorization, X-API-Key). */
  headers?: Record<string, string>;
}

export interface ModernConnection {
  client: Client;
  close: () => Promise<void>;
}

/** An SDK v2 client speaking 2026-07-28 to the gateway at `base` over Streamable HTTP. */
export async function connectModernGateway(base: string, options: ModernConnectOptions = {}): Promise<ModernConnection> {
  const client = new Client(
    { name: options.name ?? 'mcp-fleet-client', version },
    { capabilities: options.capabilities ?? {}, versionNegotiation: { mode: { pin: MODERN_VERSION } } },
  );
  options.setup?.(client);
  const transport = new StreamableHTTPClientTransport(
    frontUrl(base, 'streamable-http'),
    options.headers ? { requestInit: { headers: options.headers } } : undefined,
  );
  try {
    await client.connect(transport);
  } catch (err) {
    await transport.close().catch(() => {});
    throw err;
  }
  let closing: Promise<void> | undefined;
  return { client, close: () => (closing ??= client.close()) };
}
