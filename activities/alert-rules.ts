/**
 * health-monitoring: the fleet's alerting as a running Prometheus has it. The Prometheus of the
 * compose stack's `observability` profile (or the one params.prometheusUrl or
 * MCP_FLEET_PROMETHEUS_URL names) must have loaded every rule the gateway ships
 * (prometheus/mcp-rules.yml: recording and alert rules, by group), none failing to evaluate, and
 * scrape the gateway: its `mcp-gateway` target up. Without a Prometheus there is nothing to check:
 * the step fails saying how to deploy the profile, never passes.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import type { StepInput, StepResult } from '../pipeline/types';
import { publishedUrl, stackOf } from './engine';
import { cancellation, checkoutRoot, failure, pause } from './runtime';

/** The scrape job of the gateway in prometheus/mcp-metrics.yml. */
const GATEWAY_JOB = 'mcp-gateway';
/** The stack scrapes every 15 s: a target Prometheus has not scraped yet is `unknown` that long. */
const DEFAULT_SCRAPE_WAIT_SEC = 45;

interface LoadedGroup {
  name: string;
  file: string;
  rules: { name: string; type: string; health: string; lastError?: string }[];
}

interface Target {
  labels: Record<string, string>;
  health: string;
  lastError?: string;
  scrapeUrl?: string;
}

/**
 * params.rulesFile (default prometheus/mcp-rules.yml of the checkout) are the rules to find;
 * params.scrapeWaitSec (default 45) how long a gateway target may stay unscraped.
 */
export async function alertRules(input: StepInput): Promise<StepResult> {
  const where = await prometheusOf(input);
  if ('failed' in where) return { outcome: 'failed', summary: where.failed };
  const api = where.url;
  const shipped = shippedRules(String(input.params.rulesFile ?? 'prometheus/mcp-rules.yml'));
  const groups = await prometheusApi<{ groups: LoadedGroup[] }>(api, '/api/v1/rules');
  const loaded = new Map(groups.groups.map((g) => [g.name, new Map(g.rules.map((r) => [r.name, r]))]));
  const missing = shipped.flatMap(({ group, names }) => names.filter((n) => !loaded.get(group)?.has(n)).map((n) => `${group}/${n}`));
  const failing = shipped.flatMap(({ group, names }) =>
    names.flatMap((n) => {
      const r = loaded.get(group)?.get(n);
      return r?.health === 'err' ? [`${group}/${n} (${r.lastError ?? 'error'})`] : [];
    }),
  );
  const targets = await gatewayTargets(api, Number(input.params.scrapeWaitSec ?? DEFAULT_SCRAPE_WAIT_SEC));
  const down = targets.filter((t) => t.health !== 'up').map((t) => `${t.labels.instance} ${t.health}${t.lastError ? ` (${t.lastError})` : ''}`);
  const ruleCount = shipped.reduce((n, g) => n + g.names.length, 0);
  const details = { prometheus: api, found: where.found, rules: ruleCount, missing, failing, targets: targets.map((t) => `${t.labels.instance} ${t.health}`) };
  const problems = [
    ...(missing.length ? [`${missing.length} of the ${ruleCount} shipped rules are not loaded: ${missing.join(', ')}`] : []),
    ...(failing.length ? [`rules fail to evaluate: ${failing.join(', ')}`] : []),
    ...(targets.length === 0 ? [`it has no ${GATEWAY_JOB} target: its config must scrape the gateway (prometheus/mcp-metrics.yml)`] : []),
    ...(down.length ? [`its ${GATEWAY_JOB} target is not up: ${down.join(', ')}`] : []),
  ];
  if (problems.length) return { outcome: 'failed', summary: `Prometheus at ${api}: ${problems.join('; ')}`, details };
  return {
    outcome: 'passed',
    summary: `Prometheus at ${api} has loaded all ${ruleCount} rules the gateway ships (${shipped.map((g) => `${g.group}: ${g.names.length}`).join(', ')}) and scrapes the gateway: ${targets.map((t) => `${t.labels.instance} up`).join(', ')}`,
    details,
  };
}

/** params.prometheusUrl, else MCP_FLEET_PROMETHEUS_URL, else the published port of the project's running prometheus service. */
async function prometheusOf(input: StepInput): Promise<{ url: string; found: string } | { failed: string }> {
  if (typeof input.params.prometheusUrl === 'string') return { url: input.params.prometheusUrl.replace(/\/+$/, ''), found: 'params.prometheusUrl' };
  if (process.env.MCP_FLEET_PROMETHEUS_URL) return { url: process.env.MCP_FLEET_PROMETHEUS_URL.replace(/\/+$/, ''), found: 'MCP_FLEET_PROMETHEUS_URL' };
  const { project } = stackOf(input);
  let url: string | undefined;
  let why = `no running prometheus container publishes its port in compose project ${project}`;
  try {
    url = await publishedUrl(project, 'prometheus', 9090);
  } catch (err) {
    why = `the Docker engine cannot say whether one runs (${(err as Error).message})`;
  }
  if (url) return { url, found: `the prometheus service of ${project}` };
  return {
    failed:
      `no Prometheus to read the alert rules from: ${why}. Deploy the observability profile: set COMPOSE_PROFILES=observability where the worker runs and run --phase health-monitoring --deploy again ` +
      `(or: docker compose -p ${project} --profile observability up -d prometheus), or point params.prometheusUrl or MCP_FLEET_PROMETHEUS_URL at a Prometheus that scrapes the gateway`,
  };
}

/** The groups of a rules file and the names of their rules (alert or record). */
function shippedRules(file: string): { group: string; names: string[] }[] {
  const path = isAbsolute(file) ? file : join(checkoutRoot(), file);
  let doc: { groups?: { name: string; rules?: { alert?: string; record?: string }[] }[] };
  try {
    doc = parse(readFileSync(path, 'utf8')) as typeof doc;
  } catch (err) {
    throw failure('BAD_INPUT', `cannot read the rules file ${path} (${(err as Error).message}); pass params.rulesFile`);
  }
  const groups = (doc?.groups ?? []).map((g) => ({ group: g.name, names: (g.rules ?? []).flatMap((r) => r.alert ?? r.record ?? []) }));
  if (groups.every((g) => g.names.length === 0)) throw failure('BAD_INPUT', `the rules file ${path} has no rules: nothing to look for`);
  return groups;
}

/** The active targets of the gateway's job, waiting up to `waitSec` for there to be one and for each to have been scraped once. */
async function gatewayTargets(api: string, waitSec: number): Promise<Target[]> {
  for (const until = Date.now() + waitSec * 1000; ;) {
    const { activeTargets } = await prometheusApi<{ activeTargets: Target[] }>(api, '/api/v1/targets?state=active');
    const gateway = activeTargets.filter((t) => t.labels.job === GATEWAY_JOB);
    // a Prometheus that just started may not have its targets yet
    if ((gateway.length > 0 && !gateway.some((t) => t.health === 'unknown')) || Date.now() > until) return gateway;
    await pause(1000, `waiting for Prometheus to scrape the gateway`);
  }
}

async function prometheusApi<T>(api: string, path: string): Promise<T> {
  let body: { status?: string; data?: T; error?: string };
  try {
    const res = await fetch(`${api}${path}`, { signal: AbortSignal.any([AbortSignal.timeout(10_000), ...(cancellation() ? [cancellation()!] : [])]) });
    body = (await res.json()) as typeof body;
  } catch (err) {
    throw failure('COMMAND_FAILED', `Prometheus at ${api} does not answer ${path} (${(err as Error).message}); is it running there?`);
  }
  if (body.status !== 'success' || body.data === undefined)
    throw failure('COMMAND_FAILED', `Prometheus at ${api} refused ${path}: ${body.error ?? JSON.stringify(body).slice(0, 200)}`);
  return body.data;
}
