/**
 * The gateway's admin API as activities use it: servers and their backends, weights, windowed call
 * statistics and pools. The token never travels in a workflow's input (it would sit in the run's
 * history): the worker reads MCP_FLEET_ADMIN_TOKEN, else the file MCP_FLEET_ADMIN_TOKEN_FILE names
 * (the same variable picks the compose stack's admin_token secret), else the stack's default
 * secret file docker/secrets/admin-token.example.
 */
import type { StepInput } from '../pipeline/types';
import { MAX_WINDOW_SEC, type BackendStats } from '../gateway/metrics/call-stats';
import type { ServerSummary } from '../gateway/admin/api';
import { adminToken } from './credentials';
import { gatewayUrl } from './engine';
import { cancellation, failure } from './runtime';

/** The admin API's documents, typed as the gateway writes them. */
export type ServerInfo = ServerSummary;
export type BackendInfo = ServerSummary['backends'][number];
export type { BackendStats };

export interface StatsDoc {
  windowSec: number;
  servers: Record<string, Record<string, BackendStats>>;
}

export interface PoolInfo {
  server: string;
  backend: string;
  warm: number;
  busy: number;
  max: number;
  waiting: number;
}

function requiredAdminToken(): string {
  const token = adminToken();
  if (token) return token;
  throw failure(
    'BAD_INPUT',
    `no admin token for the gateway: set MCP_FLEET_ADMIN_TOKEN (or MCP_FLEET_ADMIN_TOKEN_FILE) where the worker runs, to the gateway's admin.token`,
  );
}

export class AdminApi {
  private constructor(
    readonly base: string,
    private readonly token: string,
  ) {}

  static async of(input: Pick<StepInput, 'target' | 'params'>): Promise<AdminApi> {
    return new AdminApi(await gatewayUrl(input), requiredAdminToken());
  }

  servers(): Promise<{ servers: ServerInfo[] }> {
    return this.call('GET', '/admin/servers');
  }

  async server(name: string): Promise<ServerInfo> {
    const found = (await this.servers()).servers.find((s) => s.name === name);
    if (!found) throw failure('BAD_INPUT', `the gateway at ${this.base} has no server ${JSON.stringify(name)}; pass --server with one of its servers`);
    return found;
  }

  /** Registers `{ name, …one servers entry }`; answers after its first connection attempt. */
  addServer(spec: Record<string, unknown>): Promise<ServerInfo> {
    return this.call('POST', '/admin/servers', spec);
  }

  removeServer(name: string): Promise<void> {
    return this.call('DELETE', `/admin/servers/${encodeURIComponent(name)}`);
  }

  addBackend(server: string, body: Record<string, unknown>): Promise<BackendInfo> {
    return this.call('POST', `/admin/servers/${encodeURIComponent(server)}/backends`, body);
  }

  /** Removes a backend; one that is already gone counts as removed (compensations repeat). */
  async removeBackend(server: string, id: string): Promise<boolean> {
    try {
      await this.call('DELETE', `/admin/servers/${encodeURIComponent(server)}/backends/${encodeURIComponent(id)}`);
      return true;
    } catch (err) {
      if ((err as { status?: number }).status === 404) return false;
      throw err;
    }
  }

  setWeights(server: string, weights: Record<string, number>): Promise<{ name: string; weights: Record<string, number> }> {
    return this.call('PUT', `/admin/servers/${encodeURIComponent(server)}/weights`, weights);
  }

  stats(windowSec: number): Promise<StatsDoc> {
    return this.call('GET', `/admin/stats?windowSec=${Math.max(1, Math.min(MAX_WINDOW_SEC, Math.ceil(windowSec)))}`);
  }

  pools(): Promise<{ pools: PoolInfo[] }> {
    return this.call('GET', '/admin/pools');
  }

  /** JSON in and out. A 4xx is the caller's mistake (fatal, with the gateway's reason); a 5xx or no answer may pass. */
  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.any([AbortSignal.timeout(30_000), ...(cancellation() ? [cancellation()!] : [])]),
      });
    } catch (err) {
      throw failure('COMMAND_FAILED', `the gateway's admin API at ${this.base} does not answer (${(err as Error).message}); is the gateway up?`);
    }
    const text = await res.text();
    let doc: Record<string, unknown> = {};
    try {
      if (text) doc = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw failure(
        'COMMAND_FAILED',
        `${method} ${path} at ${this.base} answered ${res.status} with a body that is not JSON (${text.slice(0, 120)}); is that the mcp-fleet gateway?`,
      );
    }
    if (res.ok) return doc as T;
    const reason = typeof doc.error === 'string' ? doc.error : text.slice(0, 300);
    const what = `${method} ${path} answered ${res.status}: ${reason}`;
    if (res.status === 401 || res.status === 403)
      throw Object.assign(failure('BAD_INPUT', `${what}; the worker's MCP_FLEET_ADMIN_TOKEN must equal the gateway's admin.token`), { status: res.status });
    if (res.status < 500) throw Object.assign(failure('BAD_INPUT', what), { status: res.status });
    throw Object.assign(failure('COMMAND_FAILED', what), { status: res.status });
  }
}
