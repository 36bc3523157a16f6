/**
 * Official SDK clients for the load: over Streamable HTTP to a URL (an upstream or the gateway),
 * over stdio to an upstream process of their own, or (SDK v2, 2026-07-28, stateless) to the
 * gateway. Each one knows how to close itself fully.
 */
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { connectGateway, connectTransport } from '../gateway/client/connect';
import { connectModernGateway } from '../gateway/client/connect-modern';
import { MARKER_VAR, waitForExit } from './processes';

export interface BenchClient {
  /** Calls the echo tool once; rejects on a protocol error or a tool error. */
  call(message: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * `url` of an http target is its Streamable HTTP endpoint, at /mcp on the gateway and on the
 * upstreams alike; a modern target is the same endpoint, spoken to in 2026-07-28.
 */
export type Target =
  | { kind: 'http' | 'modern'; url: string; /** Sent with every request: the gateway's credential. */ headers?: Record<string, string> }
  | { kind: 'stdio'; command: string; args: string[]; marker: string };

/** What both SDK generations' clients share, as far as the echo tool needs. */
interface EchoCaller {
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<Record<string, unknown>>;
}

const CLIENT = { name: 'mcp-fleet-bench' };

/** Connects one client to `target`; `tool` is the echo tool's name as that target lists it. */
export async function connectClient(target: Target, tool: string): Promise<BenchClient> {
  if (target.kind !== 'stdio') {
    const base = target.url.replace(/\/mcp$/, '');
    if (base === target.url) throw new Error(`an http target is a Streamable HTTP endpoint at /mcp (got ${target.url})`);
    const { client, close } =
      target.kind === 'http' ? await connectGateway(base, 'streamable-http', { ...CLIENT, headers: target.headers }) : await connectModernGateway(base, CLIENT);
    return { call: (message) => callEcho(client, tool, message), close };
  }
  const transport = new StdioClientTransport({
    command: target.command,
    args: target.args,
    env: { [MARKER_VAR]: target.marker },
    stderr: 'ignore',
  });
  const { client, close } = await connectTransport(transport, describe(target), CLIENT);
  const pid = transport.pid!;
  return {
    call: (message) => callEcho(client, tool, message),
    // The SDK's close() may send SIGKILL and return before the process is gone; wait, so nothing outlives its client.
    close: async () => {
      await close();
      await waitForExit(pid);
    },
  };
}

/** Connects `n` clients at once; if any fails, closes the ones that connected and throws. */
export async function connectClients(n: number, target: Target, tool: string): Promise<BenchClient[]> {
  const settled = await Promise.allSettled(Array.from({ length: n }, () => connectClient(target, tool)));
  const clients = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failure = settled.find((s) => s.status === 'rejected');
  if (failure) {
    await closeClients(clients);
    throw new Error(`cannot connect ${n} clients to ${describe(target)}: ${(failure.reason as Error).message}`);
  }
  return clients;
}

export async function closeClients(clients: BenchClient[]): Promise<void> {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
}

async function callEcho(client: EchoCaller, tool: string, message: string): Promise<string> {
  const result = await client.callTool({ name: tool, arguments: { message } });
  const first = (result.content as { type: string; text?: string }[] | undefined)?.[0];
  if (result.isError || first?.type !== 'text') throw new Error(`${tool} failed: ${JSON.stringify(result).slice(0, 300)}`);
  return first.text!;
}

function describe(target: Target): string {
  return target.kind !== 'stdio' ? target.url : `${target.command} ${target.args.join(' ')}`;
}
