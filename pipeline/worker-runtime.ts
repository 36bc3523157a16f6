/**
 * The Temporal SDK runtime of a process that runs a pipeline worker, installed once before the
 * worker starts. With MCP_FLEET_WORKER_METRICS=host:port the SDK serves the worker's own metrics
 * (workflow and activity completions, failures, latencies, task slots, polls) for Prometheus at
 * http://host:port/metrics, named the Prometheus way: counters end in `_total`, durations are
 * `_seconds`. The pipeline-runs panels of grafana/mcp-fleet-dashboard.json read them.
 */
import type { DefaultLogger, Runtime as RuntimeType } from '@temporalio/worker';

export const WORKER_METRICS_ENV = 'MCP_FLEET_WORKER_METRICS';

export interface WorkerRuntimeOptions {
  logger: DefaultLogger;
  /** Default the SDK's (SIGINT, SIGTERM, ...): a process that owns its signals passes []. */
  shutdownSignals?: NodeJS.Signals[];
  /** Default process.env[WORKER_METRICS_ENV]; empty or absent serves no metrics. */
  metricsAddress?: string;
}

/** host:port with a port in range, or a clear error naming the variable (the SDK's own is a panic). */
export function parseMetricsAddress(value: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new Error(`${WORKER_METRICS_ENV}="${value}" is not host:port (for example 0.0.0.0:9464)`);
  return value;
}

export function installWorkerRuntime(opts: WorkerRuntimeOptions): void {
  const address = opts.metricsAddress ?? process.env[WORKER_METRICS_ENV] ?? '';
  // Loaded only here: callers load the worker lazily (the native bridge is some 60 MB).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Runtime } = require('@temporalio/worker') as { Runtime: typeof RuntimeType };
  Runtime.install({
    logger: opts.logger,
    ...(opts.shutdownSignals ? { shutdownSignals: opts.shutdownSignals } : {}),
    ...(address
      ? {
          telemetryOptions: {
            metrics: {
              prometheus: { bindAddress: parseMetricsAddress(address), countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true },
            },
          },
        }
      : {}),
  });
}
