/**
 * One real gateway with real server-everything behind it, and the SDK clients a test connects to
 * it. The fixture owns them all: `stop()` closes every client (ending Streamable HTTP sessions
 * with DELETE), stops the gateway, and returns the server processes still alive (none, or a leak).
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { connectClient, disconnect, newMarker, startTestGateway, type FrontKind, type TestGateway } from '../../helpers/gateway';
import { waitForNoProcesses } from '../../helpers/processes';
import { everything } from '../../helpers/servers';
import { Inbox } from './inbox';
import type { WireTap } from './wire-tap';

/** The server's name in the fleet, and so the prefix of its tools. */
export const SERVER = 'everything';

/** The name a server-everything tool has behind the gateway. */
export function tool(name: string): string {
  return `${SERVER}__${name}`;
}

export interface FleetOptions {
  mode?: 'shared' | 'per-session';
  /** Records the upstream's wire traffic. */
  tap?: WireTap;
  /** Further server settings (requestTimeoutMs, restart, ...). */
  server?: Record<string, unknown>;
}

export interface ClientSetup {
  capabilities?: ClientCapabilities;
  /** Receives every raw message the client gets. */
  inbox?: Inbox;
  /** Registers request handlers (sampling, elicitation, roots) before connecting. */
  setup?: (client: Client) => void;
}

export class RelayFixture {
  readonly marker = newMarker();
  gw: TestGateway | undefined;
  private readonly clients: Client[] = [];
  private tap: WireTap | undefined;

  async start(options: FleetOptions = {}): Promise<TestGateway> {
    const entry = everything(this.marker, { mode: options.mode ?? 'shared', ...options.server });
    this.tap = options.tap;
    this.gw = await startTestGateway({ servers: { [SERVER]: options.tap ? options.tap.wrap(entry) : entry } }, this.marker);
    return this.gw;
  }

  async connect(front: FrontKind, { capabilities = {}, inbox, setup }: ClientSetup = {}): Promise<Client> {
    if (!this.gw) throw new Error('start the fixture before connecting clients');
    const client = await connectClient(this.gw, front, {
      capabilities,
      setup: (c) => {
        inbox?.attach(c);
        setup?.(c);
      },
    });
    this.clients.push(client);
    return client;
  }

  /** The pid of the gateway process serving `client`: this test process, or the stdio front's own child. */
  gatewayPid(client: Client): number {
    const stdio = client.transport as StdioClientTransport & { gatewayLog?: unknown };
    return stdio.gatewayLog ? stdio.pid! : process.pid;
  }

  /** Closes one client as a well-behaved one would: a Streamable HTTP session ends with DELETE. */
  async disconnect(client: Client): Promise<void> {
    const i = this.clients.indexOf(client);
    if (i >= 0) this.clients.splice(i, 1);
    await disconnect(client);
  }

  /** Closes everything (its wire tap too, after letting held messages go); resolves to the marked processes still alive afterwards. */
  async stop(): Promise<number[]> {
    this.tap?.release();
    for (const client of [...this.clients]) await this.disconnect(client);
    await this.gw?.stop();
    this.gw = undefined;
    const left = await waitForNoProcesses(this.marker);
    this.tap?.remove();
    return left;
  }
}

/** Pairs of network fronts for two-client tests: each front meets each other one (stdio clients run a gateway each). */
export const FRONT_PAIRS: [FrontKind, FrontKind][] = [
  ['streamable-http', 'websocket'],
  ['sse', 'streamable-http'],
  ['websocket', 'sse'],
];
