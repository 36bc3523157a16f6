/**
 * When each certificate the gateway serves or trusts expires (its notAfter), as a gauge the alert
 * rules watch (prometheus/mcp-rules.yml McpCertificateExpiresSoon): a listener's certificate
 * (`server`) and client CA (`client_ca`), and the CA (`upstream_ca`) and client certificate
 * (`upstream_client`) a remote server is reached with. Each value is that of the material in use:
 * a listener's as last loaded (at startup, then by each reload of its files), a remote server's as
 * read at its last connection attempt; so the gauge follows a rotation once the gateway takes it.
 * A file of several certificates (a chain, a CA bundle) counts as its earliest expiry, the first
 * to break it. Labels are the role and a name from the config (`public`, `management`, a server's
 * name), never text from the certificate, so their number is bounded by the config.
 */
import { X509Certificate } from 'node:crypto';
import { Gauge, type Registry } from 'prom-client';

export type CertificateRole = 'server' | 'client_ca' | 'upstream_ca' | 'upstream_client';

const UPSTREAM_ROLES: ReadonlySet<CertificateRole> = new Set(['upstream_ca', 'upstream_client']);

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The earliest notAfter (Unix seconds) of the PEM certificates in `pem`; undefined when it holds none that parse. */
export function earliestExpiry(pem: Buffer | string): number | undefined {
  let earliest: number | undefined;
  for (const [block] of pem.toString().matchAll(PEM_CERTIFICATE)) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block);
    } catch {
      continue; // the TLS stack refuses such a file itself; this gauge has nothing to say of it
    }
    const seconds = cert.validToDate.getTime() / 1000;
    if (earliest === undefined || seconds < earliest) earliest = seconds;
  }
  return earliest;
}

export class CertificateExpiry {
  /** Keyed by role and name; the value is Unix seconds. */
  private readonly expiries = new Map<string, { role: CertificateRole; name: string; seconds: number }>();

  /** The certificates now in use for `role` of `name`; none (`undefined`) removes its series. */
  set(role: CertificateRole, name: string, pem: Buffer | string | undefined): void {
    const key = JSON.stringify([role, name]);
    const seconds = pem === undefined ? undefined : earliestExpiry(pem);
    if (seconds === undefined) this.expiries.delete(key);
    else this.expiries.set(key, { role, name, seconds });
  }

  /**
   * Exports the gauge in `registry`. `remote(name)` says whether a remote server of that name with
   * `tls:` is still configured: the upstream series of one removed (or changed to have none) go.
   */
  register(registry: Registry, remote: (name: string) => boolean): void {
    const expiries = this.expiries;
    new Gauge({
      name: 'mcp_gateway_tls_certificate_expiry_timestamp_seconds',
      help: "When a certificate in use expires (its notAfter, Unix time), by role (server: a listener's certificate; client_ca: the CA a listener verifies client certificates with; upstream_ca, upstream_client: a remote server's tls.caFile and tls.certFile) and name (public, management: the listener; else the server); a file of several counts as its earliest",
      labelNames: ['role', 'name'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [key, { role, name, seconds }] of expiries) {
          if (UPSTREAM_ROLES.has(role) && !remote(name)) expiries.delete(key);
          else this.set({ role, name }, seconds);
        }
      },
    });
  }
}
