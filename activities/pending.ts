/**
 * Checks whose capability the gateway does not deliver yet. They report `not-available` with the
 * missing capability, never `passed`, so a phase shows what it could not check.
 */
import type { StepInput, StepResult } from '../pipeline/types';

function notAvailable(capability: string, input: StepInput): StepResult {
  return { outcome: 'not-available', summary: `not available: the gateway does not deliver ${capability} yet`, details: { capability, phase: input.phase, verb: input.verb } };
}

/** health-monitoring: scrape and check the gateway's metrics (request rates, errors, latency). */
export async function checkMetrics(input: StepInput): Promise<StepResult> {
  return notAvailable('a metrics endpoint (Prometheus /metrics)', input);
}

/** connection-fabric: the gateway's upstream connection pool statistics. */
export async function poolStatistics(input: StepInput): Promise<StepResult> {
  return notAvailable('connection pool statistics (admin API)', input);
}

/** service-mesh: per-upstream routing weights and traffic shifting. */
export async function routingWeights(input: StepInput): Promise<StepResult> {
  return notAvailable('routing weights and traffic shifting (admin API)', input);
}

/** debugging-tools: request tracing through the gateway. */
export async function requestTracing(input: StepInput): Promise<StepResult> {
  return notAvailable('request tracing (trace ids across gateway and upstreams)', input);
}
