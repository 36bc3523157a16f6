/**
 * The identity in a client's TLS certificate, for mTLS: only a certificate the listener verified
 * against its client CA (`socket.authorized`) counts; an unverified one (`clientCert: optional`
 * lets those through) or a plain TCP socket has none.
 */
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';

export interface ClientCertificateIdentity {
  /** The subject's attributes in certificate order, `CN=alice,O=Example`. */
  subject: string;
  /** The subjectAltName entries as `DNS:host`, `URI:spiffe://…`, `email:a@b`, `IP:10.0.0.1`. */
  sans: string[];
  /** SHA-256 of the DER certificate, colon-separated hex as node prints it. */
  fingerprint256: string;
}

export function clientCertificateIdentity(socket: Duplex): ClientCertificateIdentity | undefined {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const cert = socket.getPeerX509Certificate();
  if (!cert) return undefined;
  return { subject: cert.subject.split('\n').join(','), sans: parseSubjectAltName(cert.subjectAltName), fingerprint256: cert.fingerprint256 };
}

/** node's subjectAltName text is `TYPE:value, TYPE:value`; a value with a comma or quote in it comes JSON-quoted. */
const SAN_ENTRY = /(?:^|, )([A-Za-z][A-Za-z ]*):("(?:[^"\\]|\\.)*"|[^,]*)/g;

function parseSubjectAltName(text: string | undefined): string[] {
  if (!text) return [];
  return [...text.matchAll(SAN_ENTRY)].map(([, type, value]) => {
    const plain = value.startsWith('"') ? (JSON.parse(value) as string) : value;
    return `${type === 'IP Address' ? 'IP' : type}:${plain}`;
  });
}
