/**
 * The pipeline worker: the phase workflow (bundled once) and the activities of activities/index.ts
 * on the task queue `mcp-fleet-pipeline`. One owner starts it and stops it: `stop()` drains the
 * worker, then closes its connection. Run alone with `node dist/pipeline/worker.js`.
 */
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import * as fleetActivities from '../activities/index';
import { TASK_QUEUE } from './client';
import { ensureTemporal, type TemporalHandle } from './temporal-server';
import type { PipelineTracing } from './tracing';
import { pipelineTracingFromEnv } from './tracing-env';
import { installWorkerRuntime } from './worker-runtime';

const bundles = new Map<boolean, Promise<WorkflowBundleOption>>();

/** The prebuilt workflow code, untraced and with the OpenTelemetry workflow interceptors in (scripts/docker-build.sh makes both). */
export const PREBUILT_BUNDLE_ENV = { plain: 'MCP_FLEET_WORKFLOW_BUNDLE', traced: 'MCP_FLEET_WORKFLOW_BUNDLE_TRACED' } as const;

/**
 * The workflow code: the file MCP_FLEET_WORKFLOW_BUNDLE names (MCP_FLEET_WORKFLOW_BUNDLE_TRACED with
 * `tracing`: the OpenTelemetry workflow interceptors of pipeline/tracing.ts bundled in), bundled
 * ahead from the same build (the images carry both, made by scripts/docker-build.sh), else bundled
 * once per process (webpack: a second or more on two cores, and about 100 MB of memory the process
 * keeps). The interceptors add no commands and the workflows draw no random numbers (the span ids
 * do), so a run started on one replays on the other.
 */
export function workflowBundle(tracing?: Pick<PipelineTracing, 'workflowInterceptorModules'>): Promise<WorkflowBundleOption> {
  const traced = tracing !== undefined;
  const prebuilt = process.env[traced ? PREBUILT_BUNDLE_ENV.traced : PREBUILT_BUNDLE_ENV.plain];
  let bundle = bundles.get(traced);
  if (!bundle) {
    bundle = prebuilt
      ? Promise.resolve({ codePath: prebuilt })
      : bundleWorkflowCode({
          workflowsPath: require.resolve('../workflows/index'),
          ...(tracing ? { workflowInterceptorModules: tracing.workflowInterceptorModules } : {}),
          logger: quietLogger,
        });
    bundles.set(traced, bundle);
  }
  return bundle;
}

/** Where the worker's workflow code comes from, for its start line. */
function bundleOrigin(traced: boolean): string {
  const prebuilt = process.env[traced ? PREBUILT_BUNDLE_ENV.traced : PREBUILT_BUNDLE_ENV.plain];
  return `${traced ? 'traced ' : ''}workflow code ${prebuilt ? `from ${prebuilt}` : 'bundled at start'}`;
}

export interface PipelineWorkerOptions {
  temporal: Pick<TemporalHandle, 'connectionOptions' | 'namespace'>;
  /** Default TASK_QUEUE. */
  taskQueue?: string;
  /** Default every export of activities/index.ts; tests register their own. */
  activities?: object;
  identity?: string;
  /** Spans of the workflow and its activities (pipeline/tracing.ts); the caller owns it and shuts it down after stop(). */
  tracing?: PipelineTracing;
}

export interface PipelineWorker {
  worker: Worker;
  /** Resolves when the worker stopped; rejects if it failed. */
  done: Promise<void>;
  stop(): Promise<void>;
}

export async function startPipelineWorker(opts: PipelineWorkerOptions): Promise<PipelineWorker> {
  const { address, tls, apiKey } = opts.temporal.connectionOptions;
  const connection = await NativeConnection.connect({ address, ...(tls ? { tls } : {}), ...(typeof apiKey === 'string' ? { apiKey } : {}) });
  let worker: Worker;
  try {
    worker = await Worker.create({
      connection,
      namespace: opts.temporal.namespace,
      taskQueue: opts.taskQueue ?? TASK_QUEUE,
      workflowBundle: await workflowBundle(opts.tracing),
      activities: opts.activities ?? fleetActivities,
      ...(opts.tracing ? { interceptors: { activity: opts.tracing.activityInterceptors }, sinks: opts.tracing.sinks } : {}),
      // heartbeat details are what the CLI shows of a long step (which image, which service is
      // still starting); the SDK's default throttle (up to 0.8 of the heartbeat timeout, 24 s for
      // compose up) would leave them stale that long
      maxHeartbeatThrottleInterval: '2s',
      defaultHeartbeatThrottleInterval: '2s',
      ...(opts.identity ? { identity: opts.identity } : {}),
    });
  } catch (err) {
    await connection.close();
    throw err;
  }
  const done = worker.run().finally(() => connection.close());
  let stopping: Promise<void> | undefined;
  return {
    worker,
    done,
    stop() {
      stopping ??= (async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await done;
      })();
      return stopping;
    },
  };
}

const quietLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn(message: string, meta?: Record<string, unknown>) {
    console.error(`workflow bundle: ${message}`, meta ?? '');
  },
  error(message: string, meta?: Record<string, unknown>) {
    console.error(`workflow bundle: ${message}`, meta ?? '');
  },
};

/** `node dist/pipeline/worker.js`: a standalone worker until SIGINT/SIGTERM. */
async function main(): Promise<void> {
  installWorkerRuntime({ logger: new DefaultLogger('INFO') });
  const temporal = await ensureTemporal({});
  const tracing = pipelineTracingFromEnv();
  const w = await startPipelineWorker({ temporal, ...(tracing ? { tracing } : {}) });
  console.error(`mcp-fleet worker on ${temporal.address} (${temporal.namespace}), task queue ${TASK_QUEUE}, ${bundleOrigin(tracing !== undefined)}`);
  const stop = () => void w.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await w.done.finally(() => tracing?.shutdown());
  await temporal.stop();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
