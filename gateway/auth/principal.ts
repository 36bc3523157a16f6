/**
 * Who a request comes from, as authentication found it. Policies, session binding, the admin API's
 * roles and per-principal caps all name a principal by its `id`, which is stable across requests
 * and credentials of the same identity (a rotated API key keeps its name, a refreshed token its
 * subject), and never contains a credential. An OAuth principal also holds the access token it
 * came with, sealed (presented-token.ts), for token exchange towards upstreams that ask for it.
 */
import type { PresentedToken } from './presented-token';

export type PrincipalKind = 'oauth' | 'api-key' | 'mtls' | 'admin-token' | 'anonymous';

export interface Principal {
  /** `kind:name`, e.g. `oauth:alice`, `api-key:ci`, `mtls:CN=agent-1`. */
  readonly id: string;
  readonly kind: PrincipalKind;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
  /** The verified access token (a JWT or an introspected token) of an `oauth` principal; never serialized. */
  readonly token?: PresentedToken;
}

export function principal(kind: PrincipalKind, name: string, scopes: readonly string[] = [], roles: readonly string[] = [], token?: PresentedToken): Principal {
  return token ? { id: `${kind}:${name}`, kind, name, scopes, roles, token } : { id: `${kind}:${name}`, kind, name, scopes, roles };
}

/** A client of a gateway that authenticates nobody (`auth: none`, or a loopback listener without auth). */
export const ANONYMOUS: Principal = principal('anonymous', 'anonymous');
