/**
 * `--phase all --<verb>`: one parent run whose children are the phases' own runs (runPhase), one
 * after another. The sweep is durable as a whole — a CLI that goes away does not stop it — and the
 * Temporal UI shows it as one run with its children. A failed phase does not stop the next (a
 * sweep reports every phase); the sweep passed only when every phase passed.
 */
import { defineQuery, setHandler, startChild, workflowInfo } from '@temporalio/workflow';
import { runLabels, type PhaseRunResult, type Verb } from '../pipeline/types';
import { runPhase } from './phase';
import type { PhaseWorkflowInput } from './run-state';

export interface AllPhasesInput {
  verb: Verb;
  runs: PhaseWorkflowInput[];
  /** The namespace has the McpFleet* search attributes (the children carry them too). */
  searchAttributes?: boolean;
}

export interface AllPhasesResult {
  status: 'passed' | 'failed';
  verb: Verb;
  runs: { workflowId: string; result: PhaseRunResult }[];
}

/** The child runs so far: the one running (named once it has started, so a reader can follow it), and those done with their verdicts. */
export const childrenQuery = defineQuery<{ current?: string; done: { workflowId: string; status: PhaseRunResult['status'] }[] }>('children');

/** A child's workflow ID: the parent's, then the phase (so the CLI can follow it without asking). */
export function childIdOf(parentId: string, phase: string): string {
  return `${parentId}--${phase}`;
}

export async function runAllPhases(input: AllPhasesInput): Promise<AllPhasesResult> {
  const done: AllPhasesResult['runs'] = [];
  let current: string | undefined;
  setHandler(childrenQuery, () => ({ ...(current ? { current } : {}), done: done.map((d) => ({ workflowId: d.workflowId, status: d.result.status })) }));
  for (const run of input.runs) {
    const workflowId = childIdOf(workflowInfo().workflowId, run.phase);
    const child = await startChild(runPhase, {
      workflowId,
      args: [run],
      ...runLabels(run.phase, run.verb, run.target ?? '', input.searchAttributes ?? false),
    });
    current = workflowId;
    const result = await child.result();
    done.push({ workflowId, result });
  }
  current = undefined;
  return { status: done.every((d) => d.result.status === 'passed') ? 'passed' : 'failed', verb: input.verb, runs: done };
}
