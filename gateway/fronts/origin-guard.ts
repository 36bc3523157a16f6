/**
 * DNS-rebinding protection for every HTTP and WebSocket front: a browser page from a foreign
 * origin must not reach a gateway on loopback. Requests without Origin (non-browser clients) pass.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { FleetError } from '../protocol/errors';

export interface OriginPolicy {
  allowedOrigins: string[];
  allowedHosts: string[];
  /** True when the gateway listens on a loopback address, so Host must name loopback too. */
  loopbackOnly: boolean;
}

const LOOPBACK_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTNAMES.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Returns the 403 error to answer with, or undefined when the request may proceed. */
export function checkOrigin(headers: IncomingHttpHeaders, policy: OriginPolicy): FleetError | undefined {
  const origin = headers.origin;
  if (origin !== undefined && !policy.allowedOrigins.includes('*') && !policy.allowedOrigins.includes(origin)) {
    let hostname: string | undefined;
    try {
      hostname = new URL(origin).hostname;
    } catch {
      hostname = undefined;
    }
    if (hostname === undefined || !isLoopbackHost(hostname)) {
      return new FleetError('FORBIDDEN_ORIGIN', `Origin ${origin} is not allowed; add it to http.allowedOrigins to let browsers from it connect`);
    }
  }
  const host = headers.host;
  if (policy.allowedHosts.includes('*') || host === undefined) return undefined;
  if (policy.allowedHosts.includes(host)) return undefined;
  if (!policy.loopbackOnly && policy.allowedHosts.length === 0) return undefined;
  const hostname = host.replace(/:\d+$/, '');
  if (policy.loopbackOnly && isLoopbackHost(hostname)) return undefined;
  if (policy.allowedHosts.includes(hostname)) return undefined;
  return new FleetError('FORBIDDEN_HOST', `Host ${host} is not allowed; add it to http.allowedHosts`);
}
