/**
 * What an operator runs beside a gateway to watch it, for the observability scenario: a real
 * tracing backend (Jaeger v2, test/helpers/jaeger.ts) the gateway exports its spans to over OTLP,
 * and a scrape loop that GETs its /metrics every second, as Prometheus would at a 1 s interval.
 * The loop keeps what the last scrape said about the span export, so the run can show that the
 * spans did reach the backend and were not dropped.
 */
import { resolve } from 'node:path';
import { startDevJaeger, type DevJaeger } from '../test/helpers/jaeger';
import { parseMetrics, sampleValue } from '../test/helpers/metrics';

/** Prometheus' shortest common scrape interval; the default is 15 s, so this is the heavy end. */
export const SCRAPE_INTERVAL_MS = 1000;

/** The Jaeger binary scripts/install-jaeger.sh builds, from the build (dist/bench) or the source (bench). */
const JAEGER_BIN = process.env.MCP_FLEET_JAEGER_BIN ?? resolve(__dirname, ...(__dirname.includes('/dist/') ? ['..', '..'] : ['..']), '.cache', 'bin', 'jaeger');

export function startTracingBackend(): Promise<DevJaeger> {
  return startDevJaeger(JAEGER_BIN);
}

export interface ScrapeTotals {
  scrapes: number;
  /** Scrapes that did not answer 200 with samples. */
  failures: number;
  /** mcp_gateway_trace_spans_total by outcome at the last scrape (exported, failed, dropped). */
  spans: Record<string, number>;
}

export interface ScrapeLoop {
  stop(): Promise<ScrapeTotals>;
}

/** Scrapes `metricsUrl` every SCRAPE_INTERVAL_MS until stopped; a scrape in flight is awaited. */
export function startScrapeLoop(metricsUrl: string): ScrapeLoop {
  const totals: ScrapeTotals = { scrapes: 0, failures: 0, spans: {} };
  let inFlight: Promise<void> = Promise.resolve();
  const scrape = async () => {
    totals.scrapes++;
    try {
      const res = await fetch(metricsUrl);
      const samples = parseMetrics(await res.text());
      if (res.status !== 200 || samples.length === 0) throw new Error(`HTTP ${res.status}`);
      for (const outcome of ['exported', 'failed', 'dropped']) totals.spans[outcome] = sampleValue(samples, 'mcp_gateway_trace_spans_total', { outcome }) ?? 0;
    } catch {
      totals.failures++;
    }
  };
  const timer = setInterval(() => {
    inFlight = inFlight.then(scrape);
  }, SCRAPE_INTERVAL_MS);
  return {
    stop: async () => {
      clearInterval(timer);
      await inFlight;
      // one last scrape, so the span counts include the run's last blocks as far as they are exported
      await scrape();
      return totals;
    },
  };
}
