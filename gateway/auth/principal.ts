/**
 * Who a request comes from, as authentication found it. Policies, session binding, the admin API's
 * roles and per-principal caps all name a principal by its `id`, which is stable across requests
 * and credentials of the same identity (a rotated API key keeps its name, a refreshed token its
 * subject), and never contains a credential.
 */
export type PrincipalKind = 'oauth' | 'api-key' | 'mtls' | 'admin-token' | 'anonymous';

export interface Principal {
  /** `kind:name`, e.g. `oauth:alice`, `api-key:ci`, `mtls:CN=agent-1`. */
  readonly id: string;
  readonly kind: PrincipalKind;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
}

export function principal(kind: PrincipalKind, name: string, scopes: readonly string[] = [], roles: readonly string[] = []): Principal {
  return { id: `${kind}:${name}`, kind, name, scopes, roles };
}

/** A client of a gateway that authenticates nobody (`auth: none`, or a loopback listener without auth). */
export const ANONYMOUS: Principal = principal('anonymous', 'anonymous');
