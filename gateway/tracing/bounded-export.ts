/**
 * The bound on what the span export may hold, and its account. The SDK's BatchSpanProcessor
 * batches; in front of it, this processor admits an ended span only while fewer than `maxHeld`
 * are waiting or being sent, counting the span from the moment it ends until the exporter
 * answered for its batch. So a collector that is slow, refuses connections or never answers costs
 * at most `maxHeld` spans of memory, whatever the call rate: the rest are dropped at once and
 * counted, and the calls never wait for the export. Each span ends counted once: exported,
 * failed (its batch was refused or timed out) or dropped.
 */
import { TraceFlags, type Context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';

export type SpanOutcome = 'exported' | 'failed' | 'dropped';

export interface ExportAccount {
  /** `count` spans ended this way. */
  spans(outcome: SpanOutcome, count: number): void;
  /** The export started failing (`error`), or works again (undefined). */
  health(error: Error | undefined): void;
}

export class BoundedExport {
  private held = 0;
  private closed = false;
  private failing = false;
  private readonly batcher: SpanProcessor;

  /** Wraps `exporter`, whose answers free the held spans; `makeBatcher` builds the batching processor on top of the wrapped exporter. */
  constructor(
    exporter: SpanExporter,
    private readonly maxHeld: number,
    private readonly account: ExportAccount,
    makeBatcher: (exporter: SpanExporter) => SpanProcessor,
  ) {
    this.batcher = makeBatcher(this.accounted(exporter));
  }

  /** Spans ended and not yet answered for by the collector (at most maxHeld). */
  get pending(): number {
    return this.held;
  }

  /** The processor to give the tracer provider. */
  readonly processor: SpanProcessor = {
    onStart: (_span: Span, _context: Context) => {},
    onEnd: (span: ReadableSpan) => {
      // an unsampled span is never exported: it holds nothing
      if (this.closed || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
      if (this.held >= this.maxHeld) {
        this.account.spans('dropped', 1);
        return;
      }
      this.held++;
      this.batcher.onEnd(span);
    },
    forceFlush: () => this.batcher.forceFlush(),
    shutdown: () => {
      this.closed = true;
      return this.batcher.shutdown();
    },
  };

  private accounted(exporter: SpanExporter): SpanExporter {
    return {
      export: (spans: ReadableSpan[], done: (result: ExportResult) => void) => {
        exporter.export(spans, (result) => {
          this.held -= spans.length;
          const ok = result.code === ExportResultCode.SUCCESS;
          this.account.spans(ok ? 'exported' : 'failed', spans.length);
          // only the turns are told: a dead collector is one warning, not one per batch
          if (ok === this.failing) {
            this.failing = !ok;
            this.account.health(ok ? undefined : (result.error ?? new Error('the collector refused the spans')));
          }
          done(result);
        });
      },
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
    };
  }
}
