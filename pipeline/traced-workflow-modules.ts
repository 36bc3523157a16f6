/**
 * The workflow-side interceptors the traced workflow code bundles in (they run in Temporal's
 * workflow sandbox): pipeline/tracing.ts gives them to the worker, scripts/docker-build.sh bundles
 * them ahead. A path only, so nothing of OpenTelemetry loads where this is read.
 */
export const TRACED_WORKFLOW_MODULES: readonly string[] = [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')];
