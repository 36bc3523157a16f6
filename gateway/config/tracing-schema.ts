/**
 * The `tracing` part of the gateway config: OpenTelemetry spans of each forwarded call, exported
 * over OTLP/HTTP (protobuf) to a collector or tracing backend (Jaeger, the OpenTelemetry
 * Collector, ...). Off unless `enabled: true`. The export is batched and bounded (`batch`): spans
 * beyond `maxQueueSize` waiting for a slow or dead collector are dropped and counted, never held.
 */
import { z } from 'zod';

/** RFC 9110 field names: what an HTTP header may be called. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const tracingSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** The collector's OTLP/HTTP traces URL (the path included: collectors serve it at /v1/traces). */
    endpoint: z
      .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL, e.g. http://127.0.0.1:4318/v1/traces' })
      .default('http://127.0.0.1:4318/v1/traces'),
    /** Headers every export carries (a hosted backend's API key: write it as a `${secret:...}` reference). */
    headers: z
      .record(z.string(), z.string().regex(/^[^\r\n]*$/, 'must be one line'))
      .superRefine((headers, ctx) => {
        for (const name of Object.keys(headers))
          if (!HEADER_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" is not an HTTP header name` });
      })
      .default({}),
    /** The service.name resource attribute the backend lists the gateway's spans under. */
    serviceName: z.string().min(1).default('mcp-gateway'),
    /**
     * The share of new traces recorded (0..1). A call that continues a client's trace follows the
     * client's decision (its traceparent's sampled flag), so a trace is whole or absent.
     */
    samplingRatio: z.number().min(0).max(1).default(1),
    batch: z
      .object({
        /** Ended spans waiting for export at most; more are dropped (counted in mcp_gateway_trace_spans_total). */
        maxQueueSize: z.number().int().positive().default(2048),
        /** Spans in one export request at most. */
        maxExportBatchSize: z.number().int().positive().default(512),
        /** How long an ended span waits for a batch to fill before it is sent anyway. */
        scheduledDelayMs: z.number().int().positive().default(1000),
        /** One export request gives up after this long (a collector that accepts and never answers). */
        exportTimeoutMs: z.number().int().positive().default(10_000),
      })
      .strict()
      .prefault({})
      .refine((b) => b.maxExportBatchSize <= b.maxQueueSize, {
        path: ['maxExportBatchSize'],
        message: 'must not exceed maxQueueSize',
      }),
  })
  .strict();

export type TracingSettings = z.output<typeof tracingSchema>;
