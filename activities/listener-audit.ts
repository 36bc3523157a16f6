/**
 * security-hardening, the stack's gateway listeners (activities/listeners.ts):
 * - client authentication: every gateway config declares `auth:`, an object with oauth, apiKeys
 *   or mtls, or the explicit string `none`, which is a finding on a listener that is not
 *   loopback-only (a warning on loopback);
 * - TLS: a listener between containers without `tls`, and an upstream URL that is plain http://
 *   or ws:// to another container, are findings in the prod variant and warnings in dev.
 * A stack with no gateway listener to check fails: nothing was proved.
 */
import type { StepInput, StepResult } from '../pipeline/types';
import type { Finding } from './hardening';
import { hostOf, isLoopbackHost, stackListeners, type Listener } from './listeners';
import { checkoutRoot } from './runtime';
import { COMPOSE_VARIANTS, composeConfig, findingsResult, stepPolicy } from './stack-config';

const AUTH_KINDS = ['oauth', 'apiKeys', 'mtls'];

const subjectOf = (l: Listener) => `${l.service} (${l.file})`;

/** Findings and warnings about one listener's client authentication; pure, exported for tests. */
export function authFindings(l: Listener): { findings: Finding[]; warnings: Finding[] } {
  const subject = subjectOf(l);
  const findings: Finding[] = [];
  const warnings: Finding[] = [];
  const on = `on ${l.listen}`;
  if (l.problem) findings.push({ subject, rule: 'has a valid gateway config', found: l.problem });
  else if (l.auth === undefined)
    findings.push({ subject, rule: 'declares client authentication (auth: oauth, apiKeys, mtls or none)', found: `no auth key, listening ${on}` });
  else if (l.auth === 'none') {
    const item = { subject, rule: 'authenticates clients on a listener that is not loopback-only', found: `auth: none ${on}` };
    if (isLoopbackHost(hostOf(l.listen))) warnings.push({ ...item, rule: 'authenticates clients (auth: none on loopback)' });
    else findings.push(item);
  } else if (typeof l.auth !== 'object' || l.auth === null || !AUTH_KINDS.some((k) => (l.auth as Record<string, unknown>)[k] != null)) {
    findings.push({ subject, rule: `declares one of ${AUTH_KINDS.join(', ')} under auth (or auth: none)`, found: `auth: ${JSON.stringify(l.auth)}` });
  }
  return { findings, warnings };
}

/** Plain-text links of one listener: itself between containers without tls, and http:// or ws:// upstreams; pure, exported for tests. */
export function plainTextLinks(l: Listener): Finding[] {
  const subject = subjectOf(l);
  const out: Finding[] = [];
  if (!l.problem && !isLoopbackHost(hostOf(l.listen)) && l.tls === undefined)
    out.push({ subject, rule: 'serves TLS between containers (tls: certFile, keyFile)', found: `plain HTTP on ${l.listen}` });
  for (const u of l.upstreams) {
    const url = new URL(u.url);
    if ((url.protocol === 'http:' || url.protocol === 'ws:') && !isLoopbackHost(url.hostname))
      out.push({ subject, rule: `reaches upstream ${u.name} over TLS (https:// or wss://)`, found: u.url });
  }
  return out;
}

async function listenersOf(input: StepInput, variant: keyof typeof COMPOSE_VARIANTS) {
  const { policy } = stepPolicy(input);
  return stackListeners(policy, await composeConfig(COMPOSE_VARIANTS[variant]), checkoutRoot());
}

const nothingToCheck = (what: string): StepResult => ({
  outcome: 'failed',
  summary: `no gateway listener to ${what}: the network policy names no gateway config (services.*.listen[].config) of a service in the stack`,
});

/** Client authentication of every gateway listener of the base stack (the configs are the same in every variant). */
export async function auditListenerAuth(input: StepInput): Promise<StepResult> {
  const listeners = await listenersOf(input, 'base');
  if (listeners.length === 0) return nothingToCheck('audit for client authentication');
  const results = listeners.map(authFindings);
  const findings = results.flatMap((r) => r.findings);
  const warnings = results.flatMap((r) => r.warnings);
  return findingsResult('client authentication', findings, `${listeners.length} gateway listeners declare client authentication`, {
    listeners: listeners.map((l) => `${subjectOf(l)} on ${l.listen}`),
    warnings,
  });
}

/** TLS between containers: findings for the prod variant, warnings for dev. */
export async function auditListenerTls(input: StepInput): Promise<StepResult> {
  const [prod, dev] = [await listenersOf(input, 'prod'), await listenersOf(input, 'dev')];
  if (prod.length === 0) return nothingToCheck('audit for TLS');
  const findings = prod.flatMap(plainTextLinks).map((f) => ({ ...f, found: `${f.found} (prod)` }));
  const warnings = dev.flatMap(plainTextLinks).map((f) => ({ ...f, found: `${f.found} (dev)` }));
  const links = prod.reduce((n, l) => n + 1 + l.upstreams.length, 0);
  return findingsResult(
    'TLS',
    findings,
    `${links} listeners and upstream links of the prod stack use TLS${warnings.length ? ` (${warnings.length} plain-text in dev: warnings)` : ''}`,
    {
      listeners: prod.map((l) => `${subjectOf(l)} on ${l.listen}`),
      warnings,
    },
  );
}
