/**
 * The trace export's own metrics, in the gateway's registry while `tracing` is on: every span's
 * end (exported, failed: its batch was refused or timed out, dropped: the export bound was full)
 * and the spans waiting for the collector. A dead collector shows as failed and dropped climbing
 * while the pending gauge stays at its bound.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { SpanOutcome } from '../tracing/bounded-export';

export class TraceMetrics {
  private readonly spans: Counter<'outcome'>;

  constructor(registry: Registry, pending: () => number) {
    const registers = [registry];
    this.spans = new Counter({
      name: 'mcp_gateway_trace_spans_total',
      help: 'Spans the gateway ended for export, by outcome: exported, failed (the collector refused the batch or did not answer in time), dropped (tracing.batch.maxQueueSize were already waiting)',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of ['exported', 'failed', 'dropped'] as const) this.spans.inc({ outcome }, 0);
    new Gauge({
      name: 'mcp_gateway_trace_spans_pending',
      help: 'Spans ended and not yet answered for by the collector (at most tracing.batch.maxQueueSize)',
      registers,
      collect() {
        this.set(pending());
      },
    });
  }

  record(outcome: SpanOutcome, count: number): void {
    this.spans.inc({ outcome }, count);
  }
}
