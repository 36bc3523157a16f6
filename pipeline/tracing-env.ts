/**
 * The pipeline's tracing switch: MCP_FLEET_PIPELINE_TRACING=<OTLP/HTTP traces URL> (the
 * gateway's `tracing.endpoint`, e.g. http://127.0.0.1:4318/v1/traces) turns on the spans of
 * pipeline/tracing.ts in the process that reads it; unset or empty, nothing of them is loaded or
 * made (no exporter, no interceptors, the untraced workflow bundle).
 */
import { tracingSchema } from '../gateway/config/tracing-schema';
import type { PipelineTracing } from './tracing';

export const PIPELINE_TRACING_ENV = 'MCP_FLEET_PIPELINE_TRACING';
/** The service.name the backend lists the pipeline's spans under (the gateway's is `tracing.serviceName`). */
export const PIPELINE_SERVICE_NAME = 'mcp-fleet-pipeline';

/** The tracing the variable asks for, or undefined when it is unset or empty; a value that is no http(s) URL is an error naming it. */
export function pipelineTracingFromEnv(env: NodeJS.ProcessEnv = process.env): PipelineTracing | undefined {
  const endpoint = env[PIPELINE_TRACING_ENV] ?? '';
  if (!endpoint) return undefined;
  const parsed = tracingSchema.safeParse({ enabled: true, endpoint, serviceName: PIPELINE_SERVICE_NAME });
  if (!parsed.success) throw new Error(`${PIPELINE_TRACING_ENV}="${endpoint}": ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  // Loaded only here: the OpenTelemetry SDK and the interceptors, some 300 ms a run without tracing never spends.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startPipelineTracing } = require('./tracing') as typeof import('./tracing');
  return startPipelineTracing(parsed.data);
}
