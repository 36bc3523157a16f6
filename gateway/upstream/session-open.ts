/**
 * Opening an upstream session in the era the server speaks: with the era known (configured, or
 * learnt by an earlier probe) it is `initialize` for a 2025 server and `server/discover` for a
 * 2026-07-28 one; with `protocol: auto` a `server/discover` probe comes first, and a 2025 verdict
 * goes on to `initialize` on the same transport (era-probe.ts says how the answer is read).
 */
import type { Era } from '../protocol/eras';
import { FleetError } from '../protocol/errors';
import type { InitializeParams, InitializeResult, PendingRequest, RequestOptions } from './session-types';
import { classifyProbe, discoverParams, type Verdict } from './era-probe';

/** How to open: the era, when it is known, and the probe's timeout otherwise. */
export interface OpenOptions {
  timeoutMs: number;
  era: Era | undefined;
  probeTimeoutMs: number;
  /** Told the verdict as soon as the probe has one, also when opening fails after it. */
  learnt?(era: Era, why: string): void;
}

/** What opening needs of the connection. */
export interface OpeningConnection {
  readonly serverName: string;
  isOpen(): boolean;
  send(method: string, params: Record<string, unknown>, options: RequestOptions): PendingRequest;
  notify(method: string): Promise<void>;
  setProtocolVersion(version: string): void;
}

/** Runs the handshake of the server's era; rejects with a FleetError naming the server when it fails. */
export async function openSession(conn: OpeningConnection, params: InitializeParams, options: OpenOptions): Promise<{ era: Era; init: InitializeResult }> {
  const verdict = options.era === undefined ? await probe(conn, params, options) : undefined;
  if ((verdict?.era ?? options.era) === 'legacy') return { era: 'legacy', init: await initialize(conn, params, options.timeoutMs) };
  const { version, capabilities, serverInfo, instructions } = (verdict?.era === 'modern' ? verdict : await discover(conn, params, options)).discovery;
  return { era: 'modern', init: { protocolVersion: version, capabilities, serverInfo, ...(instructions === undefined ? {} : { instructions }) } };
}

async function probe(conn: OpeningConnection, params: InitializeParams, options: OpenOptions): Promise<Verdict> {
  const pending = conn.send('server/discover', discoverParams(params.capabilities, params.clientInfo), { timeoutMs: options.probeTimeoutMs, probe: true });
  const outcome = await pending.response.then(
    (answer) => ({ answer }),
    (failure: FleetError) => ({ failure }),
  );
  // A server that exits when probed (an SDK that ends on any request before initialize) is a 2025 server.
  if (!conn.isOpen()) {
    options.learnt?.('legacy', 'the server closed the connection when probed with server/discover');
    throw new FleetError(
      'UPSTREAM_UNAVAILABLE',
      `server "${conn.serverName}" closed the connection when probed with server/discover; the next attempt initializes`,
    );
  }
  const verdict = classifyProbe(outcome, conn.serverName);
  options.learnt?.(verdict.era, verdict.era === 'modern' ? `server/discover offers ${verdict.discovery.version}` : verdict.why);
  return verdict;
}

/** protocol: 2026-07-28 (or a verdict remembered): discover, without falling back. */
async function discover(conn: OpeningConnection, params: InitializeParams, options: OpenOptions): Promise<Extract<Verdict, { era: 'modern' }>> {
  const answer = await conn.send('server/discover', discoverParams(params.capabilities, params.clientInfo), { timeoutMs: options.timeoutMs }).response;
  const verdict = classifyProbe({ answer }, conn.serverName);
  if (verdict.era === 'legacy') throw new FleetError('UPSTREAM_UNAVAILABLE', `server "${conn.serverName}" is configured as 2026-07-28 but ${verdict.why}`);
  return verdict;
}

async function initialize(conn: OpeningConnection, params: InitializeParams, timeoutMs: number): Promise<InitializeResult> {
  const response = await conn.send('initialize', { ...params }, { timeoutMs }).response;
  if ('error' in response) throw new FleetError('UPSTREAM_UNAVAILABLE', `server "${conn.serverName}" refused initialize: ${response.error.message}`);
  const init = response.result as InitializeResult;
  conn.setProtocolVersion(init.protocolVersion);
  await conn.notify('notifications/initialized');
  return init;
}
