/**
 * Checks whose capability the gateway does not deliver yet. They report `not-available` with the
 * missing capability, never `passed`, so a phase shows what it could not check.
 */
import type { StepInput, StepResult } from '../pipeline/types';

function notAvailable(capability: string, input: StepInput): StepResult {
  return { outcome: 'not-available', summary: `not available: the gateway does not deliver ${capability} yet`, details: { capability, phase: input.phase, verb: input.verb } };
}

/** debugging-tools: request tracing through the gateway. */
export async function requestTracing(input: StepInput): Promise<StepResult> {
  return notAvailable('request tracing (trace ids across gateway and upstreams)', input);
}
