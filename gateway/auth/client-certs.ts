/**
 * Client certificates as principals (mTLS). The TLS layer has already verified the certificate
 * against the configured CA; this names the principal by the certificate's subject (`CN=...`), and
 * gives it the roles and scopes of the first `auth.mtls.principals` entry whose pattern matches its
 * subject or one of its SANs.
 */
import type { MtlsSettings } from '../config/auth-schema';
import type { ClientCertificateIdentity } from './client-cert';
import { compilePattern } from './patterns';
import { principal, type Principal } from './principal';

export class ClientCerts {
  private readonly mappings: { test: (s: string) => boolean; roles: string[]; scopes: string[] }[];

  constructor(settings: MtlsSettings) {
    this.mappings = settings.principals.map((p) => ({ test: compilePattern(p.match), roles: p.roles, scopes: p.scopes }));
  }

  principal(identity: ClientCertificateIdentity): Principal {
    const names = [identity.subject, ...identity.sans];
    const mapping = this.mappings.find((m) => names.some((n) => m.test(n)));
    return principal('mtls', identity.subject, mapping?.scopes ?? [], mapping?.roles ?? []);
  }
}
