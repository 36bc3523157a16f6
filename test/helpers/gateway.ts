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
import { OUTPUT_TAP_VAR } from '../../gateway/output-tap';
import { capturingLogger, LogCapture, type LogLine, type LogWait } from './log-lines';
import { MARKER_VAR } from './servers';
import { ROOT } from '../containers/support/docker';

export type FrontKind = NetworkFront | 'stdio';
export const FRONTS: FrontKind[] = [...NETWORK_FRONTS, 'stdio'];

export interface TestGateway extends RunningGateway {
  url: string;
  /** The config document the gateway runs, for starting the stdio front as a process with the same fleet. */
  doc: Record<string, unknown>;
  logs: LogLine[];
  /** The first of its log lines (from `wait.from` on) that `match`es, once it arrived (log-lines.ts). */
  waitForLog(match: (line: LogLine) => boolean, what: string, wait?: LogWait): Promise<LogLine>;
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
  const config = parseConfig({ listen: '127.0.0.1:0', ...doc }, 'test config');
  const { log, capture } = capturingLogger('debug');
  const gw = await startGateway(config, { log });
  return Object.assign(gw, { url: gw.url!, doc, logs: capture.lines, waitForLog: capture.waitFor.bind(capture), marker });
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
 * The log lines so far of the gateway serving `client`: the in-process gateway's, or for the stdio
 * front the JSON lines its child process wrote to stderr.
 */
export function gatewayLogs(gw: TestGateway, client: Client): LogLine[] {
  return stdioLog(client)?.lines ?? gw.logs;
}

/** TestGateway.waitForLog for the log of the gateway serving `client` (see gatewayLogs). */
export function waitForGatewayLog(gw: TestGateway, client: Client, match: (line: LogLine) => boolean, what: string, wait?: LogWait): Promise<LogLine> {
  const capture = stdioLog(client);
  return capture ? capture.waitFor(match, what, wait) : gw.waitForLog(match, what, wait);
}

/** The log of the gateway CLI behind a stdio client (stdioGatewayTransport); none for the network fronts. */
function stdioLog(client: Client): LogCapture | undefined {
  return (client.transport as { gatewayLog?: LogCapture } | undefined)?.gatewayLog;
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
  // Drain stderr (the gateway's logs) so a full pipe never blocks it; keep its lines for the tests.
  const gatewayLog = new LogCapture();
  transport.stderr?.on('data', (chunk: Buffer) => gatewayLog.feed(chunk));
  Object.assign(transport, { gatewayLog });
  const close = transport.close.bind(transport);
  transport.close = async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  };
  return transport;
}
