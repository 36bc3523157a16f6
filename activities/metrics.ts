/**
 * health-monitoring: scrape the gateway's Prometheus endpoint around one MCP round trip and check
 * what an operator's dashboards rely on: the metric families exist, every upstream reports up,
 * and the request counter moved with the call.
 */
import type { StepInput, StepResult } from '../pipeline/types';
import { gatewayUrl } from './engine';
import { mcpRoundTrip } from './gateway';
import { cancellation } from './runtime';

export const REQUIRED_FAMILIES = ['mcp_gateway_requests_total', 'mcp_gateway_request_duration_seconds', 'mcp_gateway_sessions', 'mcp_gateway_upstream_up'];

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  /** Families declared by `# TYPE` (a labelled family may have no samples yet). */
  families: Set<string>;
  samples: Sample[];
}

/** The Prometheus text format: declared families and samples (label values unescaped). */
export function parsePrometheus(text: string): Scrape {
  const samples: Sample[] = [];
  const families = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) /.exec(line);
    if (type) families.add(type[1]);
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { families, samples };
}

async function scrape(base: string): Promise<Scrape> {
  const res = await fetch(`${base}/metrics`, { signal: AbortSignal.any([AbortSignal.timeout(10_000), ...(cancellation() ? [cancellation()!] : [])]) });
  if (res.status !== 200) throw new Error(`${base}/metrics answered ${res.status}`);
  return parsePrometheus(await res.text());
}

const total = (samples: Sample[], name: string) => samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);

export async function checkMetrics(input: StepInput): Promise<StepResult> {
  const base = await gatewayUrl(input);
  let before: Scrape;
  try {
    before = await scrape(base);
  } catch (err) {
    return {
      outcome: 'failed',
      summary: `cannot scrape the gateway's metrics (${(err as Error).message}); is the gateway up and serving /metrics?`,
      details: { url: base },
    };
  }
  const trip = await mcpRoundTrip({ ...input, params: { ...input.params, transports: ['streamable-http'] } });
  const { families, samples: after } = await scrape(base);
  const missing = REQUIRED_FAMILIES.filter((f) => !families.has(f));
  const down = after.filter((s) => s.name === 'mcp_gateway_upstream_up' && s.value !== 1).map((s) => `${s.labels.server}/${s.labels.backend}`);
  const moved = total(after, 'mcp_gateway_requests_total') - total(before.samples, 'mcp_gateway_requests_total');
  const upstreams = after.filter((s) => s.name === 'mcp_gateway_upstream_up').length;
  const details = { url: base, samples: after.length, upstreams, down, missing, requestsCounted: moved, roundTrip: trip.outcome };
  const problems = [
    ...(missing.length ? [`missing metric families ${missing.join(', ')}`] : []),
    ...(down.length ? [`upstreams down: ${down.join(', ')}`] : []),
    ...(trip.outcome !== 'passed'
      ? [`the round trip failed (${trip.summary})`]
      : moved < 1
        ? ['a tool call through the gateway did not move mcp_gateway_requests_total']
        : []),
  ];
  if (problems.length) return { outcome: 'failed', summary: `${base}/metrics: ${problems.join('; ')}`, details };
  return { outcome: 'passed', summary: `${after.length} samples; ${upstreams} upstreams up; a round trip counted ${moved} request(s)`, details };
}
