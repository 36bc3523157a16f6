/**
 * Where the pipeline's Temporal lives. With an address (option or TEMPORAL_ADDRESS) it is that
 * cluster, with its namespace, TLS and API key. Without one, a local dev server: reused when one
 * already listens on the port, else started from the `temporal` CLI (TEMPORAL_CLI_PATH, PATH, or
 * downloaded once the way the SDKs do) with a SQLite file under .state/, and stopped again by
 * whoever started it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, openSync, closeSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, dirname, join, resolve } from 'node:path';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import { FleetError } from '../gateway/protocol/errors';
import { downloadTemporalCli } from './temporal-download';

/** Search attributes the dev server registers so runs are filterable in the UI by phase, verb, target. */
export const SEARCH_ATTRIBUTES = { McpFleetPhase: 'Keyword', McpFleetVerb: 'Keyword', McpFleetTarget: 'Keyword' } as const;

export interface TemporalOptions {
  /** host:port of an existing cluster; default TEMPORAL_ADDRESS; absent = local dev server. */
  address?: string;
  /** Default TEMPORAL_NAMESPACE or `default`. */
  namespace?: string;
  /** TLS for a remote cluster (TEMPORAL_TLS=1); implied by an API key. */
  tls?: boolean;
  /** Default TEMPORAL_API_KEY. */
  apiKey?: string;
  /** Local dev server settings (defaults: 127.0.0.1:7233, UI on 8233, .state/temporal.db). */
  local?: { ip?: string; port?: number; uiPort?: number; headless?: boolean; dbFile?: string; logFile?: string; startTimeoutMs?: number };
}

export interface TemporalHandle {
  address: string;
  namespace: string;
  connectionOptions: ConnectionOptions;
  /** The Web UI, when known (local dev server). */
  uiUrl?: string;
  /** True when this process started the dev server (and stop() will end it). */
  started: boolean;
  /** True when the dev server registered the pipeline's search attributes. */
  searchAttributes: boolean;
  stop(): Promise<void>;
}

export async function ensureTemporal(opts: TemporalOptions = {}): Promise<TemporalHandle> {
  const namespace = opts.namespace ?? process.env.TEMPORAL_NAMESPACE ?? 'default';
  const address = opts.address ?? process.env.TEMPORAL_ADDRESS;
  if (address) return remote(address, namespace, opts);

  const ip = opts.local?.ip ?? '127.0.0.1';
  const port = opts.local?.port ?? 7233;
  const uiPort = opts.local?.uiPort ?? port + 1000;
  const headless = opts.local?.headless ?? false;
  const local = `${ip}:${port}`;
  const base = { address: local, namespace, connectionOptions: { address: local }, uiUrl: headless ? undefined : `http://${ip}:${uiPort}` };
  if (await listening(ip, port)) {
    // Someone (an earlier CLI run, a developer) already runs it: use it, leave it running.
    await probe(local, namespace, 10_000);
    return { ...base, started: false, searchAttributes: await hasSearchAttributes(local, namespace), stop: async () => {} };
  }

  const bin = findTemporalCli() ?? (await downloadTemporalCli());
  const dbFile = resolve(opts.local?.dbFile ?? '.state/temporal.db');
  mkdirSync(dirname(dbFile), { recursive: true });
  const args = ['server', 'start-dev', '--db-filename', dbFile, '--ip', ip, '--port', String(port), '--namespace', namespace, '--log-level', 'warn'];
  if (headless) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  for (const [k, v] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${k}=${v}`);
  const logFile = resolve(opts.local?.logFile ?? join(dirname(dbFile), 'temporal.log'));
  const fd = openSync(logFile, 'a');
  const child = spawn(bin, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const stop = () => stopChild(child, exited);
  try {
    await Promise.race([
      probe(local, namespace, opts.local?.startTimeoutMs ?? 60_000),
      exited.then((code) => {
        throw new FleetError('TEMPORAL_UNREACHABLE', `temporal dev server exited (code ${code}) before it served ${local}; see ${logFile}`);
      }),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { ...base, started: true, searchAttributes: true, stop };
}

async function remote(address: string, namespace: string, opts: TemporalOptions): Promise<TemporalHandle> {
  const apiKey = opts.apiKey ?? process.env.TEMPORAL_API_KEY;
  const tls = opts.tls ?? (process.env.TEMPORAL_TLS === '1' || process.env.TEMPORAL_TLS === 'true' || !!apiKey);
  const connectionOptions: ConnectionOptions = { address, ...(tls ? { tls: true } : {}), ...(apiKey ? { apiKey } : {}) };
  await probe(address, namespace, 10_000, connectionOptions);
  return {
    address,
    namespace,
    connectionOptions,
    started: false,
    searchAttributes: await hasSearchAttributes(address, namespace, connectionOptions),
    stop: async () => {},
  };
}

/** TEMPORAL_CLI_PATH (which must be executable), else `temporal` on PATH, else undefined. */
export function findTemporalCli(): string | undefined {
  const explicit = process.env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (!executable(explicit)) throw new FleetError('TEMPORAL_MISSING', `TEMPORAL_CLI_PATH is not an executable file (got ${explicit})`);
    return explicit;
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'temporal');
    if (dir && executable(candidate)) return candidate;
  }
  return undefined;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function listening(host: string, port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = connect({ host, port });
    s.once('connect', () => (s.destroy(), r(true)));
    s.once('error', () => r(false));
  });
}

/** Waits until the frontend answers for the namespace. */
async function probe(address: string, namespace: string, timeoutMs: number, options: ConnectionOptions = { address }): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    let conn: Connection | undefined;
    try {
      conn = await Connection.connect({ ...options, connectTimeout: 2_000 });
      await conn.workflowService.describeNamespace({ namespace });
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 250));
    } finally {
      await conn?.close();
    }
  }
  const why = last instanceof Error ? last.message : String(last);
  throw new FleetError('TEMPORAL_UNREACHABLE', `Temporal at ${address} (namespace ${namespace}) is unreachable: ${why}`);
}

async function hasSearchAttributes(address: string, namespace: string, options: ConnectionOptions = { address }): Promise<boolean> {
  const conn = await Connection.connect(options);
  try {
    const res = await conn.operatorService.listSearchAttributes({ namespace });
    return Object.keys(SEARCH_ATTRIBUTES).every((k) => k in (res.customAttributes ?? {}));
  } catch {
    return false; // not allowed on this cluster: the memo carries phase/verb/target instead
  } finally {
    await conn.close();
  }
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
