/**
 * The OAuth access token a principal authenticated with, kept so that token exchange (RFC 8693)
 * can act on it towards an upstream that asks for it, and for nothing else: it never serializes
 * (JSON gives a placeholder, so no log line, metric or admin answer can carry it) and never shows
 * in util.inspect. Its SHA-256 names it in caches.
 */
import { inspect } from 'node:util';
import type { SubjectToken } from '../upstream/token-exchange';

const PLACEHOLDER = '[access token]';

export class PresentedToken implements SubjectToken {
  readonly #value: string;

  /** `hash`: the token's SHA-256 (base64url), which the verifier computed already. */
  constructor(
    value: string,
    readonly hash: string,
  ) {
    this.#value = value;
  }

  /** The token itself, for the one request that needs it: the exchange at the authorization server. */
  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return PLACEHOLDER;
  }

  [inspect.custom](): string {
    return PLACEHOLDER;
  }
}
