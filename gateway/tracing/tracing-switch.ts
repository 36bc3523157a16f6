/**
 * The trace export as a hot reload can turn it on, off or change it (config `tracing`): an
 * operator records every call for the minutes an incident takes, without a restart and without a
 * client losing its session. Each change starts a new export (tracing.ts) and ends the one before,
 * which sends what it still holds within its export timeout; a call in flight across the change
 * ends its spans on the export it started with, and those that end after it was shut down are not
 * sent. The export's metrics are registered with the first export and stay (a counter never goes
 * back), so they keep counting across changes.
 *
 * The SDK is loaded only when an export starts: the OpenTelemetry SDK and the OTLP exporter (with
 * the metrics SDK its transformer pulls in) are 186 files and 1.5 MB of heap that a gateway
 * without tracing never uses.
 */
import type { Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { TracingSettings } from '../config/tracing-schema';
import type { SpanOutcome } from './bounded-export';
import type { Tracing } from './tracing';

/** Where the spans' ends are counted, given how many wait for the collector now. */
export type SpanCounter = (pending: () => number) => { record(outcome: SpanOutcome, count: number): void };

export interface TracingSwitchDeps {
  /** This gateway's instance name, the spans' service.instance.id. */
  instance: string;
  /** Made with the first export (the metrics exist from then on). */
  counter: SpanCounter;
  log: Logger;
}

export class TracingSwitch {
  private current: Tracing | undefined;
  private counted: ReturnType<SpanCounter> | undefined;
  /** Exports ended by a change, still sending what they held. */
  private readonly ending = new Map<Tracing, Promise<void>>();

  constructor(private readonly deps: TracingSwitchDeps) {}

  /** The tracer of the export in force; undefined while tracing is off (calls then carry trace ids only). */
  get tracer(): Tracer | undefined {
    return this.current?.tracer;
  }

  /** Spans ended and not yet answered for by the collector, of every export still sending. */
  get pending(): number {
    let held = this.current?.pending ?? 0;
    for (const tracing of this.ending.keys()) held += tracing.pending;
    return held;
  }

  /** Starts the export `settings` ask for (none when off) and ends the one in force. */
  apply(settings: TracingSettings): void {
    const before = this.current;
    this.current = settings.enabled ? this.start(settings) : undefined;
    if (!before) return;
    this.ending.set(
      before,
      before.shutdown().finally(() => this.ending.delete(before)),
    );
  }

  /** Ends the export in force and waits for those a change ended. */
  async stop(): Promise<void> {
    const last = this.current;
    this.current = undefined;
    await Promise.all([last?.shutdown(), ...this.ending.values()]);
  }

  private start(settings: TracingSettings): Tracing {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startTracing } = require('./tracing') as typeof import('./tracing');
    this.counted ??= this.deps.counter(() => this.pending);
    const counted = this.counted;
    return startTracing(settings, {
      instance: this.deps.instance,
      countSpans: (outcome, count) => counted.record(outcome, count),
      log: this.deps.log,
    });
  }
}
