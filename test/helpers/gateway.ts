/**
 * Starts a real gateway for a test (in-process, on a free loopback port) and connects official SDK
 * clients to it over any of the four fronts. Logs are captured so tests can assert on them.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { connectGateway, connectTransport, NETWORK_FRONTS, type ConnectOptions, type GatewayConnection, type NetworkFront } from '../../gateway/client/connect';
import { parseConfig } from '../../gateway/config/load';
import { startGateway, type RunningGateway } from '../../gateway/gateway';
import { createLogger } from '../../gateway/log';
import { OUTPUT_TAP_VAR } from '../../gateway/output-tap';
import { lineSink } from './log-lines';
import { MARKER_VAR } from './servers';
import { ROOT } from '../containers/support/docker';

export type FrontKind = NetworkFront | 'stdio';
export const FRONTS: FrontKind[] = [...NETWORK_FRONTS, 'stdio'];

export interface TestGateway extends RunningGateway {
  url: string;
  /** The config document the gateway runs, for starting the stdio front as a process with the same fleet. */
  doc: Record<string, unknown>;
  logs: Record<string, unknown>[];
  marker: string;
}

export const CLI_JS = join(ROOT, 'dist', 'gateway', 'cli.js');

/** What a gateway CLI spawned with an env of its own needs of this one: the test run's output tap (gateway/output-tap.ts). */
export function tapEnv(): Record<string, string> {
  const tap = process.env[OUTPUT_TAP_VAR];
  return tap ? { [OUTPUT_TAP_VAR]: tap } : {};
}

/** `doc` is a config document without `listen`; every stdio server in it should carry `marker`. */
export async function startTestGateway(doc: Record<string, unknown>, marker: string): Promise<TestGateway> {
  const logs: Record<string, unknown>[] = [];
  const config = parseConfig({ listen: '127.0.0.1:0', ...doc }, 'test config');
  const gw = await startGateway(config, {
    log: createLogger(
      'debug',
      lineSink((line) => logs.push(JSON.parse(line))),
    ),
  });
  return Object.assign(gw, { url: gw.url!, doc, logs, marker });
}

export function newMarker(): string {
  return randomUUID();
}

/** How each connected client ends its session, for disconnect(). */
const connections = new WeakMap<Client, GatewayConnection>();

/**
 * An official SDK client connected to the gateway over `front`. `disconnect(client)` ends its
 * session as a well-behaved client would; `client.close()` just drops the connection.
 */
export async function connectClient(gw: TestGateway, front: FrontKind, options: Pick<ConnectOptions, 'capabilities' | 'setup' | 'tls'> = {}): Promise<Client> {
  const clientOptions = { ...options, name: `test-${front}`, version: '1.0.0' };
  const connection =
    front === 'stdio'
      ? await connectTransport(stdioGatewayTransport(gw.doc, gw.marker), 'the gateway CLI over stdio', clientOptions)
      : await connectGateway(gw.url, front, clientOptions);
  connections.set(connection.client, connection);
  return connection.client;
}

/** Ends a client's session (over Streamable HTTP with DELETE, see gateway/client/connect.ts) and closes it. */
export async function disconnect(client: Client): Promise<void> {
  const connection = connections.get(client);
  if (!connection) throw new Error('disconnect() takes a client from connectClient()');
  await connection.close();
}

/**
 * The logs of the gateway serving `client`: the in-process gateway's, or for the stdio front the
 * JSON lines its child process wrote to stderr.
 */
export function gatewayLogs(gw: TestGateway, client: Client): Record<string, unknown>[] {
  const stderr = (client.transport as { gatewayStderr?: string[] } | undefined)?.gatewayStderr;
  if (!stderr) return gw.logs;
  return stderr
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The gateway CLI itself as a stdio server (as a desktop client would launch it). */
export function stdioGatewayTransport(doc: Record<string, unknown>, marker: string): StdioClientTransport {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-cfg-'));
  const file = join(dir, 'gateway.json');
  writeFileSync(file, JSON.stringify(doc));
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI_JS, '--stdio', '--config', file],
    env: { PATH: process.env.PATH ?? '', [MARKER_VAR]: marker, ...tapEnv() },
    stderr: 'pipe',
  });
  // Drain stderr (the gateway's logs) so a full pipe never blocks it; keep it for failure messages.
  const stderr: string[] = [];
  transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  Object.assign(transport, { gatewayStderr: stderr });
  const close = transport.close.bind(transport);
  transport.close = async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  };
  return transport;
}
