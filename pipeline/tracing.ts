/**
 * OpenTelemetry traces of pipeline runs (switched on by pipeline/tracing-env.ts): Temporal's
 * interceptors (@temporalio/interceptors-opentelemetry) give the client's start of a run, the
 * workflow's run, each activity's scheduling and each activity's execution a span, all in one
 * trace, exported the way the gateway exports its own (gateway/tracing/tracing.ts: batched,
 * bounded, flushed at shutdown) under settings.serviceName (mcp-fleet-pipeline). One process
 * makes one of these, gives it to its client and its worker, and shuts it down after both stopped.
 */
import { TRACED_WORKFLOW_MODULES } from './traced-workflow-modules';
import { context, propagation } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { StackContextManager } from '@opentelemetry/sdk-trace';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  type OpenTelemetrySinks,
} from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { TracingSettings } from '../gateway/config/tracing-schema';
import { createLogger } from '../gateway/log';
import { startTracing, type Tracing } from '../gateway/tracing/tracing';

export interface PipelineTracing {
  /** What the workflow bundle takes the workflow-side interceptors from (they run in the sandbox). */
  readonly workflowInterceptorModules: string[];
  readonly clientInterceptors: WorkflowClientInterceptor[];
  readonly activityInterceptors: ActivityInterceptorsFactory[];
  /** The sink the workflow-side interceptors hand their ended spans to (they cannot export from the sandbox). */
  readonly sinks: InjectedSinks<OpenTelemetrySinks>;
  /** Sends the spans still queued and closes the exporter; after the worker and the client stopped. */
  shutdown(): Promise<void>;
}

/** `settings` as the gateway's config has them (tracing-env.ts makes them). */
export function startPipelineTracing(settings: TracingSettings): PipelineTracing {
  const tracing = startTracing(settings, {
    instance: `${settings.serviceName}-${process.pid}`,
    countSpans: () => {},
    // warnings only (an export failing, spans lost at shutdown): the CLI's stderr is a terminal
    log: createLogger('warn', 2, settings.serviceName),
    scope: settings.serviceName,
  });
  const releaseGlobals = registerGlobals();
  const options = { tracer: tracing.tracer };
  let stopped: Promise<void> | undefined;
  return {
    workflowInterceptorModules: [...TRACED_WORKFLOW_MODULES],
    clientInterceptors: [new OpenTelemetryWorkflowClientInterceptor(options)],
    activityInterceptors: [
      (ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx, options), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) }),
    ],
    // the resource given here is SDK 1's type, and unused: sdk1Spans() sets the provider's
    sinks: { exporter: makeWorkflowExporter(sdk1Spans(tracing), tracing.resource as unknown as Parameters<typeof makeWorkflowExporter>[1]) },
    shutdown() {
      stopped ??= tracing.shutdown().finally(releaseGlobals);
      return stopped;
    },
  };
}

/**
 * The interceptors take a tracer, but read the active span and write and read the trace context
 * in Temporal headers through the process-wide API: without a global context manager and
 * propagator, the workflow's spans would start traces of their own. They do both synchronously
 * inside the span's scope, which the SDK's stack context manager covers; registered only if nobody
 * else did, and taken back at shutdown.
 */
function registerGlobals(): () => void {
  const ownContext = context.setGlobalContextManager(new StackContextManager().enable());
  const ownPropagator = propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return () => {
    if (ownContext) context.disable();
    if (ownPropagator) propagation.disable();
  };
}

/**
 * Workflow spans arrive from the sandbox in the shape of OpenTelemetry SDK 1 (which the
 * interceptors package bundles into the workflow code): `parentSpanId` and
 * `instrumentationLibrary`. The exporter here is SDK 3's, which reads `parentSpanContext` and
 * `instrumentationScope`; without them the span would lose its parent and fail to serialize.
 */
function sdk1Spans(tracing: Tracing): Sdk1Processor {
  const { processor } = tracing;
  return {
    onStart: () => {},
    onEnd: ({ parentSpanId, instrumentationLibrary, ...span }: Sdk1Span) => {
      const own = span.spanContext();
      processor.onEnd({
        ...span,
        resource: tracing.resource,
        instrumentationScope: instrumentationLibrary,
        ...(parentSpanId ? { parentSpanContext: { traceId: own.traceId, spanId: parentSpanId, traceFlags: own.traceFlags } } : {}),
      });
    },
    forceFlush: () => processor.forceFlush(),
    shutdown: () => Promise.resolve(), // the exporter's shutdown is the owner's (shutdown() above)
  };
}

/** The SpanProcessor and ReadableSpan of SDK 1, as the interceptors package declares them (its last overload takes a processor). */
type Sdk1Processor = Parameters<typeof makeWorkflowExporter>[0];
type Sdk1Span = Parameters<Sdk1Processor['onEnd']>[0];
