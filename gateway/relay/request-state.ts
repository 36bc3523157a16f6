/**
 * The requestState the gateway hands a 2026-07-28 client in a multi-round-trip result, and reads
 * back from its retry. The client must not read or change it, and a retry may come to another
 * gateway instance, so it is sealed with AES-256-GCM under a key all instances share: tampering,
 * expiry, a retry of another method or with other arguments are refused. What it holds (which
 * upstream call waits where, or the upstream's own state) stays unreadable to the client; no
 * upstream credential is ever put in it.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { FleetError } from '../protocol/errors';
import { canonicalJson } from '../protocol/canonical-json';

const PREFIX = 'fs1.';
const MAX_STATE_CHARS = 64 * 1024;

/** What a sealed state says. Short keys: it travels in every retry. */
export interface RequestState {
  /** `held`: a call to a 2025 upstream waits in gateway instance `i` for its answers; `wrapped`: the upstream's own state `u`. */
  kind: 'held' | 'wrapped';
  /** The method and a digest of the retried request's salient params (name or URI, arguments). */
  m: string;
  h: string;
  /** The server the request was routed to. */
  s: string;
  /** The principal whose request it continues: nobody else's retry may use it. */
  p: string;
  /** held: the call's id, and the instance holding it. */
  x?: string;
  i?: string;
  /** wrapped: the upstream's requestState, and the backend that issued it. */
  u?: string;
  b?: string;
  /** Expiry, epoch ms. */
  exp: number;
}

export interface StateKey {
  id: string;
  secret: string;
}

export class RequestStateSealer {
  private readonly keys: Map<string, Buffer>;
  private readonly sealingKey: string;

  /** `keys`: the first seals, all open; none = a random key for this process alone. */
  constructor(
    keys: readonly StateKey[],
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    const material = keys.length > 0 ? keys : [{ id: 'process', secret: randomBytes(32).toString('hex') }];
    this.keys = new Map(material.map((k) => [k.id, Buffer.from(hkdfSync('sha256', k.secret, 'mcp-fleet', `requestState/v1/${k.id}`, 32))]));
    this.sealingKey = material[0].id;
  }

  seal(state: Omit<RequestState, 'exp'>): string {
    const kid = Buffer.from(this.sealingKey);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.sealingKey)!, iv);
    cipher.setAAD(Buffer.from(`${PREFIX}${state.m}`));
    const body = Buffer.concat([cipher.update(JSON.stringify({ ...state, exp: this.now() + this.ttlMs })), cipher.final()]);
    return PREFIX + Buffer.concat([Buffer.from([kid.length]), kid, iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** The state a retry of `method` with `digest` carries; INVALID_REQUEST_STATE for anything else. */
  open(value: unknown, method: string, digest: string): RequestState {
    if (typeof value !== 'string' || !value.startsWith(PREFIX) || value.length > MAX_STATE_CHARS) throw invalid('not a requestState this gateway issued');
    const raw = Buffer.from(value.slice(PREFIX.length), 'base64url');
    const kidLength = raw[0] ?? 0;
    const key = this.keys.get(raw.subarray(1, 1 + kidLength).toString());
    if (!key || raw.length < 1 + kidLength + 12 + 16) throw invalid('not a requestState this gateway issued');
    const iv = raw.subarray(1 + kidLength, 13 + kidLength);
    const tag = raw.subarray(raw.length - 16);
    let state: RequestState;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(Buffer.from(`${PREFIX}${method}`));
      decipher.setAuthTag(tag);
      state = JSON.parse(Buffer.concat([decipher.update(raw.subarray(13 + kidLength, raw.length - 16)), decipher.final()]).toString('utf8')) as RequestState;
    } catch {
      throw invalid('it was altered, or it belongs to another method');
    }
    if (state.exp < this.now()) throw invalid('it expired');
    if (state.m !== method || state.h !== digest) throw invalid('it belongs to another request (the method, name or arguments differ)');
    return state;
  }
}

/**
 * What identifies a request across its retries: its name or URI and arguments, in a canonical form
 * (keys sorted), without what changes between rounds (inputResponses, requestState, _meta).
 */
export function requestDigest(params: Record<string, unknown>): string {
  const { inputResponses: _responses, requestState: _state, _meta, ...salient } = params;
  return createHash('sha256').update(canonicalJson(salient)).digest('base64url');
}

function invalid(why: string): FleetError {
  return new FleetError('INVALID_REQUEST_STATE', `Invalid or expired requestState: ${why}`, { data: { reason: 'invalid_request_state' } });
}
