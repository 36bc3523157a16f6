/**
 * The gateway's admin API as activities use it: servers and their backends, weights, windowed call
 * statistics and pools. The token never travels in a workflow's input (it would sit in the run's
 * history): the worker reads MCP_FLEET_ADMIN_TOKEN, else the file MCP_FLEET_ADMIN_TOKEN_FILE names
 * (the same variable picks the compose stack's admin_token secret), else the stack's default
 * secret file docker/secrets/admin-token.example.
 */
import type { StepInput } from '../pipeline/types';
import { MAX_WINDOW_SEC, type BackendStats } from '../gateway/metrics/call-stats';
import type { ServerSummary, SessionsBody } from '../gateway/admin/api';
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

  /** GET /admin/sessions with these filters (principal, front, limit). */
  sessions(query: Record<string, string> = {}): Promise<SessionsBody> {
    return this.call('GET', `/admin/sessions?${new URLSearchParams(query)}`);
  }

  /**
   * Follows GET /admin/debug/stream with these filters: each event as the gateway sends it, until
   * `signal` aborts. Resolves once subscribed: an event published from then on is in the stream.
   */
  async debugStream(query: Record<string, string>, signal: AbortSignal): Promise<AsyncIterable<Record<string, unknown>>> {
    const path = `/admin/debug/stream?${new URLSearchParams(query)}`;
    const res = await this.open('GET', path, undefined, AbortSignal.any([signal, ...(cancellation() ? [cancellation()!] : [])]));
    if (!res.ok || !res.body) await this.answer(res, 'GET', path);
    return sseEvents(res.body!);
  }

  /** JSON in and out. A 4xx is the caller's mistake (fatal, with the gateway's reason); a 5xx or no answer may pass. */
  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const signal = AbortSignal.any([AbortSignal.timeout(30_000), ...(cancellation() ? [cancellation()!] : [])]);
    return this.answer<T>(await this.open(method, path, body, signal), method, path);
  }

  private async open(method: string, path: string, body: unknown, signal: AbortSignal): Promise<Response> {
    try {
      return await fetch(`${this.base}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal,
      });
    } catch (err) {
      throw failure('COMMAND_FAILED', `the gateway's admin API at ${this.base} does not answer (${(err as Error).message}); is the gateway up?`);
    }
  }

  private async answer<T>(res: Response, method: string, path: string): Promise<T> {
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
    // the admin API's `{ error }`, or the JSON-RPC error the listener's door answers with
    const error = doc.error as string | { message?: unknown } | undefined;
    const reason = typeof error === 'string' ? error : typeof error?.message === 'string' ? error.message : text.slice(0, 300);
    const what = `${method} ${path} answered ${res.status}: ${reason}`;
    if (res.status === 401 || res.status === 403)
      throw Object.assign(failure('BAD_INPUT', `${what}; the worker's MCP_FLEET_ADMIN_TOKEN must equal the gateway's admin.token`), { status: res.status });
    if (res.status < 500) throw Object.assign(failure('BAD_INPUT', what), { status: res.status });
    throw Object.assign(failure('COMMAND_FAILED', what), { status: res.status });
  }
}

/** The JSON events of a Server-Sent Events body (`data:` lines; comments and keep-alives skipped). */
async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncIterable<Record<string, unknown>> {
  const decoder = new TextDecoder();
  let buffered = '';
  try {
    for await (const chunk of body) {
      buffered += decoder.decode(chunk, { stream: true });
      const parts = buffered.split('\n\n');
      buffered = parts.pop()!;
      for (const part of parts) if (part.startsWith('data: ')) yield JSON.parse(part.slice(6)) as Record<string, unknown>;
    }
  } catch (err) {
    // the follower stopped reading on purpose
    if ((err as Error).name !== 'AbortError') throw err;
  }
}
