/**
 * The HTTP side of HashiCorp Vault (and OpenBao, which speaks the same API): KV v2 reads, AppRole
 * login and the token's own lookup and renewal, over node:http/https with an optional CA bundle
 * and namespace. Answers are bounded in size and time; errors name the operation and what Vault
 * said, never a token or a secret value.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { FleetError } from '../../protocol/errors';

export interface VaultClientOptions {
  address: string;
  namespace?: string;
  /** PEM CA bundle for an https address with a private CA. */
  caFile?: string;
  timeoutMs: number;
}

/** What Vault says about a token it issued or renewed. */
export interface TokenInfo {
  token: string;
  /** Seconds the token lives from now (0 = never expires). */
  ttl: number;
  renewable: boolean;
  accessor?: string;
}

/** A KV v2 secret's fields and version. */
export interface KvSecret {
  data: Record<string, unknown>;
  version: number | undefined;
}

const MAX_ANSWER_BYTES = 1024 * 1024;

export class VaultError extends FleetError {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super('CONFIG_INVALID', message, { data: status === undefined ? undefined : { status } });
  }
}

export class VaultClient {
  private readonly base: URL;
  private readonly agent: http.Agent;

  constructor(private readonly options: VaultClientOptions) {
    this.base = new URL(options.address.endsWith('/') ? options.address : `${options.address}/`);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') {
      throw new FleetError('CONFIG_INVALID', `vault.address must start with http: or https: (got ${this.base.protocol})`);
    }
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, maxSockets: 8, ca: options.caFile ? readFileSync(options.caFile) : undefined })
        : new http.Agent({ keepAlive: true, maxSockets: 8 });
  }

  get address(): string {
    return this.base.origin;
  }

  /** Reads a KV v2 secret (GET MOUNT/data/PATH). */
  async readKv(token: string, mount: string, path: string): Promise<KvSecret> {
    const body = await this.call('GET', `${mount}/data/${path}`, token, undefined, `read ${mount}/${path}`);
    const data = asRecord(asRecord(body?.data)?.data);
    if (!data) throw new VaultError(`read ${mount}/${path}: not a KV v2 secret (is ${mount} a KV version 2 mount?)`, 200);
    const version = asRecord(asRecord(body?.data)?.metadata)?.version;
    return { data, version: typeof version === 'number' ? version : undefined };
  }

  /** AppRole login at auth/MOUNT/login. */
  async loginAppRole(mount: string, roleId: string, secretId: string): Promise<TokenInfo> {
    const body = await this.call('POST', `auth/${mount}/login`, undefined, { role_id: roleId, secret_id: secretId }, `AppRole login at auth/${mount}`);
    return authInfo(body, `AppRole login at auth/${mount}`);
  }

  /** auth/token/renew-self: extends the token's ttl (Vault caps it at the token's max ttl). */
  async renewSelf(token: string): Promise<TokenInfo> {
    return authInfo(await this.call('POST', 'auth/token/renew-self', token, {}, 'token renewal'), 'token renewal');
  }

  /** auth/token/lookup-self: the ttl and renewability of a token given as is (token auth). */
  async lookupSelf(token: string): Promise<TokenInfo> {
    const data = asRecord((await this.call('GET', 'auth/token/lookup-self', token, undefined, 'token lookup'))?.data);
    return {
      token,
      ttl: Number(data?.ttl ?? 0),
      renewable: data?.renewable === true,
      accessor: typeof data?.accessor === 'string' ? data.accessor : undefined,
    };
  }

  close(): void {
    this.agent.destroy();
  }

  private call(method: 'GET' | 'POST', path: string, token: string | undefined, body: unknown, what: string): Promise<Record<string, unknown> | undefined> {
    const url = new URL(`v1/${path.split('/').map(encodeURIComponent).join('/')}`, this.base);
    const headers: Record<string, string> = { 'x-vault-request': 'true' };
    if (token !== undefined) headers['x-vault-token'] = token;
    if (this.options.namespace) headers['x-vault-namespace'] = this.options.namespace;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(url, { method, headers, agent: this.agent, timeout: this.options.timeoutMs }, (res) => {
        let text = '';
        let size = 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          size += Buffer.byteLength(chunk);
          if (size > MAX_ANSWER_BYTES) req.destroy(new Error(`answer larger than ${MAX_ANSWER_BYTES} bytes`));
          else text += chunk;
        });
        res.once('end', () => {
          const status = res.statusCode ?? 0;
          const parsed = parseJson(text);
          if (status >= 200 && status < 300) return resolve(status === 204 ? undefined : parsed);
          reject(new VaultError(`${what}: ${describeStatus(status, parsed)}`, status));
        });
      });
      req.once('timeout', () => req.destroy(new Error(`no answer within ${this.options.timeoutMs} ms`)));
      req.once('error', (err) => reject(new VaultError(`${what}: cannot reach Vault at ${this.base.origin}: ${err.message}`, undefined)));
      req.end(payload);
    });
  }
}

function describeStatus(status: number, body: Record<string, unknown> | undefined): string {
  const errors = Array.isArray(body?.errors) ? body.errors.map((e) => String(e).replace(/\s+/g, ' ').trim()).filter(Boolean) : [];
  const said = errors.length > 0 ? `: ${errors.join('; ').slice(0, 300)}` : '';
  if (status === 404) return `not found (HTTP 404)${said}`;
  if (status === 403) return `permission denied (HTTP 403: the token's policies do not allow it)${said}`;
  return `HTTP ${status}${said}`;
}

function authInfo(body: Record<string, unknown> | undefined, what: string): TokenInfo {
  const auth = asRecord(body?.auth);
  if (!auth || typeof auth.client_token !== 'string') throw new VaultError(`${what}: the answer has no auth.client_token`, 200);
  return {
    token: auth.client_token,
    ttl: Number(auth.lease_duration ?? 0),
    renewable: auth.renewable === true,
    accessor: typeof auth.accessor === 'string' ? auth.accessor : undefined,
  };
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    return asRecord(JSON.parse(text));
  } catch {
    return undefined;
  }
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
