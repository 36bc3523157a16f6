/**
 * The gateway's OpenTelemetry trace export (config `tracing`): a tracer provider of its own (never
 * the process-wide global one, so two gateways in one process keep apart), a ratio sampler that
 * follows a client's sampled flag, and the OTLP/HTTP protobuf exporter behind the SDK's batching
 * processor and the export bound (bounded-export.ts). The relay makes the spans (relay/spans.ts);
 * this module only decides where they go. shutdown() sends what is still queued, within the
 * export timeout, and closes the exporter's connections.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Logger } from 'pino';
import type { TracingSettings } from '../config/tracing-schema';
import { version } from '../version';
import { BoundedExport, type SpanOutcome } from './bounded-export';

// incubating in the conventions (copied, as their guide asks)
const ATTR_SERVICE_INSTANCE_ID = 'service.instance.id';

export interface Tracing {
  readonly tracer: Tracer;
  /** The provider's resource and processor, for spans made outside it (the pipeline's workflow spans, made in Temporal's sandbox). */
  readonly resource: Resource;
  readonly processor: SpanProcessor;
  /** Ended spans not yet answered for by the collector (at most batch.maxQueueSize). */
  readonly pending: number;
  /** Sends what is queued (each batch within batch.exportTimeoutMs) and closes the exporter; safe to call more than once. */
  shutdown(): Promise<void>;
}

export interface TracingDeps {
  /** This gateway's instance name (config `instance`): the backend tells replicas apart by it. */
  instance: string;
  /** Each span's end: exported, failed or dropped (for the metrics). */
  countSpans: (outcome: SpanOutcome, count: number) => void;
  log: Logger;
  /** The instrumentation scope the tracer's spans name (default mcp-fleet-gateway). */
  scope?: string;
}

/** The export, for `tracing.enabled` (without it the relay makes trace ids only, and nothing of this runs). */
export function startTracing(settings: TracingSettings, deps: TracingDeps): Tracing {
  const { batch } = settings;
  const where = redactedUrl(settings.endpoint);
  // the exporter's connections are this module's: closed at shutdown, so nothing outlives the gateway
  const agent = settings.endpoint.startsWith('https:') ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const exporter = new OTLPTraceExporter({
    url: settings.endpoint,
    headers: settings.headers,
    timeoutMillis: batch.exportTimeoutMs,
    httpAgentOptions: () => Promise.resolve(agent),
  });
  const bounded = new BoundedExport(
    exporter,
    batch.maxQueueSize,
    {
      spans: deps.countSpans,
      health: (error) => {
        if (error)
          deps.log.warn(
            { endpoint: where, err: error.message },
            'trace export failing: spans beyond tracing.batch.maxQueueSize are dropped until the collector answers',
          );
        else deps.log.info({ endpoint: where }, 'trace export works again');
      },
    },
    (accounted) =>
      new BatchSpanProcessor({
        exporter: accounted,
        maxQueueSize: batch.maxQueueSize,
        maxExportBatchSize: batch.maxExportBatchSize,
        scheduledDelayMillis: batch.scheduledDelayMs,
        // a little over the exporter's own timeout, so that the exporter's answer (and its error) comes first
        exportTimeoutMillis: batch.exportTimeoutMs + 1000,
      }),
  );
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: settings.serviceName,
    [ATTR_SERVICE_VERSION]: version,
    [ATTR_SERVICE_INSTANCE_ID]: deps.instance,
  });
  const provider = new TracerProvider({
    resource,
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.samplingRatio) }),
    spanProcessors: [bounded.processor],
  });
  deps.log.info({ endpoint: where, samplingRatio: settings.samplingRatio, serviceName: settings.serviceName }, 'exporting traces over OTLP');
  let stopped: Promise<void> | undefined;
  return {
    tracer: provider.getTracer(deps.scope ?? 'mcp-fleet-gateway', version),
    resource,
    processor: bounded.processor,
    get pending() {
      return bounded.pending;
    },
    shutdown() {
      stopped ??= provider
        .shutdown()
        .catch((err: unknown) => deps.log.warn({ endpoint: where, err: (err as Error).message }, 'trace export: spans still queued at shutdown were not sent'))
        .finally(() => agent.destroy());
      return stopped;
    },
  };
}

/** The endpoint as the log may show it: without credentials in the URL. */
function redactedUrl(endpoint: string): string {
  const url = new URL(endpoint);
  url.username = '';
  url.password = '';
  return url.toString();
}
