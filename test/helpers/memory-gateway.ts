/**
 * The gateway core in memory, for unit tests of the relay, the sessions and the upstream
 * supervision: its upstreams are official SDK servers (v1 McpServer) over the SDK's in-memory
 * transports, and its clients are official SDK clients over an in-memory front. No process or
 * socket: what is tested is the gateway's own logic, with real MCP peers on both sides.
 */
import { Client, type ClientOptions } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { parseConfig } from '../../gateway/config/load';
import { ANONYMOUS } from '../../gateway/auth/principal';
import type { ServerConfig } from '../../gateway/config/schema';
import { assembleCore, type GatewayCore } from '../../gateway/core';
import { capturingLogger, type LogLine, type LogWait } from './log-lines';
import { FleetError } from '../../gateway/protocol/errors';
import { fromSdkTransport } from '../../gateway/protocol/sdk-transport';
import type { MessageTransport } from '../../gateway/protocol/transport';
import type { JsonRpcMessage, JsonRpcResponse, RequestId } from '../../gateway/protocol/jsonrpc';
import type { ClientSession } from '../../gateway/session/client-session';
import type { UpstreamTransports } from '../../gateway/upstream/transports';
import { waitFor } from './wait';

/** Makes the server behind one connection attempt of a backend (a new one each time, as a restarted process would be). */
export type ServerFactory = (backend: string) => McpServer;

/** Upstream transports that reach in-memory SDK servers, one per connection attempt. */
export class MemoryUpstreams implements UpstreamTransports {
  readonly allPools = [];
  /** Connection attempts so far, by `server/backend`. */
  readonly attempts = new Map<string, number>();
  private readonly live = new Map<string, { server: McpServer; gatewaySide: InMemoryTransport }>();

  constructor(private readonly factories: Record<string, ServerFactory>) {}

  async create(config: ServerConfig, backend: string): Promise<MessageTransport> {
    const key = `${config.name}/${backend}`;
    this.attempts.set(key, (this.attempts.get(key) ?? 0) + 1);
    const factory = this.factories[key] ?? this.factories[config.name];
    if (!factory) throw new FleetError('UPSTREAM_UNAVAILABLE', `no in-memory server for ${key}`);
    const [gatewaySide, serverSide] = InMemoryTransport.createLinkedPair();
    const server = factory(backend);
    await server.connect(serverSide);
    this.live.set(key, { server, gatewaySide });
    return fromSdkTransport(gatewaySide);
  }

  openPool(): void {}

  async closePool(): Promise<void> {}

  /** Ends a backend's live upstream from the server side, as a crashed process would. */
  async crash(server: string, backend = 'primary'): Promise<void> {
    const entry = this.live.get(`${server}/${backend}`);
    this.live.delete(`${server}/${backend}`);
    await entry?.server.close();
  }
}

/**
 * A client that speaks raw JSON-RPC to the gateway: for what an SDK client never sends (requests
 * before initialize, a reused id) and for asserting exact ids, tokens and what never came.
 */
export class RawClient {
  /** Every message the gateway sent this client, in arrival order. */
  readonly received: JsonRpcMessage[] = [];

  constructor(
    readonly session: ClientSession,
    private readonly transport: InMemoryTransport,
  ) {
    transport.onmessage = (m) => void this.received.push(m as unknown as JsonRpcMessage);
  }

  send(message: Record<string, unknown>): Promise<void> {
    return this.transport.send({ jsonrpc: '2.0', ...message } as never);
  }

  /** Sends a request and resolves with the gateway's answer to it. */
  async request(id: RequestId, method: string, params?: Record<string, unknown>): Promise<JsonRpcResponse> {
    const before = this.responsesTo(id).length;
    await this.send(params === undefined ? { id, method } : { id, method, params });
    return waitFor(() => this.responsesTo(id)[before], `the answer to ${method} (id ${JSON.stringify(id)})`, 10_000, 5);
  }

  /** The handshake, as an SDK client does it; resolves with the answer to initialize. */
  async initialize(capabilities: Record<string, unknown> = {}): Promise<JsonRpcResponse> {
    const answer = await this.request('init', 'initialize', { protocolVersion: '2025-06-18', capabilities, clientInfo: { name: 'raw-test', version: '1' } });
    await this.send({ method: 'notifications/initialized' });
    return answer;
  }

  responsesTo(id: RequestId): JsonRpcResponse[] {
    return this.received.filter((m): m is JsonRpcResponse => !('method' in m) && m.id === id);
  }

  notifications(method: string): Record<string, unknown>[] {
    return this.received
      .filter((m) => 'method' in m && m.method === method && !('id' in m))
      .map((m) => (m as { params?: Record<string, unknown> }).params ?? {});
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

export interface MemoryGateway {
  core: GatewayCore;
  upstreams: MemoryUpstreams;
  logs: LogLine[];
  /** The first of its log lines (from `wait.from` on) that `match`es, once it arrived (log-lines.ts). */
  waitForLog(match: (line: LogLine) => boolean, what: string, wait?: LogWait): Promise<LogLine>;
  /** An SDK client connected to the gateway through an in-memory front. */
  connect(options?: ClientOptions & { setup?: (client: Client) => void }): Promise<Client>;
  /** A raw JSON-RPC client through the same front, not yet initialized. */
  connectRaw(): Promise<RawClient>;
  stop(): Promise<void>;
}

/**
 * `servers` are config entries without transport fields (each gets a placeholder command; the
 * in-memory upstreams ignore it); `factories` make the SDK server of each, by name or `name/backend`.
 */
export async function memoryGateway(
  servers: Record<string, Record<string, unknown>>,
  factories: Record<string, ServerFactory>,
  settings: Record<string, unknown> = {},
): Promise<MemoryGateway> {
  const { log, capture } = capturingLogger('debug');
  const entries = Object.fromEntries(Object.entries(servers).map(([name, entry]) => [name, { command: 'in-memory', ...entry }]));
  const config = parseConfig({ ...settings, servers: entries }, 'in-memory test config');
  const upstreams = new MemoryUpstreams(factories);
  const core = assembleCore(config, upstreams, log);
  await core.start();
  const closers: (() => Promise<void>)[] = [];
  /** One in-memory front: a session, and the client's end of its transport. */
  const openFront = async () => {
    const [clientSide, frontSide] = InMemoryTransport.createLinkedPair();
    const front = fromSdkTransport(frontSide);
    const session = core.sessions.openSession({ kind: 'stdio', principal: ANONYMOUS, send: (message) => front.send(message), close: () => front.close() });
    front.onmessage = (m) => session.receive(m);
    front.onclose = () => void session.close();
    await front.start();
    return { session, clientSide };
  };
  return {
    core,
    upstreams,
    logs: capture.lines,
    waitForLog: capture.waitFor.bind(capture),
    async connect({ setup, ...options } = {}) {
      const { clientSide } = await openFront();
      const client = new Client({ name: 'memory-test', version: '1.0.0' }, options);
      setup?.(client);
      await client.connect(clientSide);
      closers.push(() => client.close());
      return client;
    },
    async connectRaw() {
      const { session, clientSide } = await openFront();
      const raw = new RawClient(session, clientSide);
      await clientSide.start();
      closers.push(() => raw.close());
      return raw;
    },
    async stop() {
      await Promise.all(closers.map((close) => close()));
      await core.stop();
    },
  };
}
