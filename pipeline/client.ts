/**
 * The client side of the pipeline: resolve (phase, verb) to steps, start the phase workflow with a
 * readable ID, memo and search attributes, and read, watch, approve or reject runs.
 */
import {
  defaultPayloadConverter,
  Client,
  Connection,
  isGrpcDeadlineError,
  ServiceError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type WorkflowHandle,
} from '@temporalio/client';
import { approveUpdate, rejectUpdate, statusQuery, type GateAnswer } from '../workflows/phase';
import { childrenQuery, type AllPhasesInput, type AllPhasesResult } from '../workflows/all-phases';
import type { PendingGate, PhaseWorkflowInput, RunStatus } from '../workflows/run-state';
import { FleetError } from '../gateway/protocol/errors';
import type { TemporalHandle } from './temporal-server';
import type { PipelineTracing } from './tracing';
import { runLabels, type PhaseName, type PhaseRunInput, type PhaseRunResult, type StepDef, type Verb } from './types';

export const WORKFLOW_TYPE = 'runPhase';
export const ALL_WORKFLOW_TYPE = 'runAllPhases';
export const TASK_QUEUE = 'mcp-fleet-pipeline';

/** `mcp-fleet-<phase>-<verb>-<UTC timestamp with ms>`, e.g. mcp-fleet-docker-compose-deploy-20261125-192104-123. */
export function workflowIdFor(phase: PhaseName | 'all', verb: Verb, now = new Date()): string {
  const iso = now.toISOString(); // 2026-11-25T19:21:04.123Z
  const stamp = `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}-${iso.slice(20, 23)}`;
  return `mcp-fleet-${phase}-${verb}-${stamp}`;
}

/** An activity of a run that has not finished: its type, last heartbeat details, start (epoch ms). */
export interface PendingActivity {
  type: string;
  details?: string;
  startedMs?: number;
}

export class PipelineClient {
  private constructor(
    readonly client: Client,
    private readonly connection: Connection,
    private readonly searchAttributes: boolean,
    private readonly taskQueue: string,
  ) {}

  /** `tracing` (pipeline/tracing.ts) gives each start of a run a span that the run's spans hang below; the caller owns it. */
  static async connect(
    temporal: Pick<TemporalHandle, 'connectionOptions' | 'namespace' | 'searchAttributes'>,
    taskQueue = TASK_QUEUE,
    tracing?: Pick<PipelineTracing, 'clientInterceptors'>,
  ): Promise<PipelineClient> {
    const connection = await Connection.connect(temporal.connectionOptions);
    const client = new Client({ connection, namespace: temporal.namespace, ...(tracing ? { interceptors: { workflow: tracing.clientInterceptors } } : {}) });
    return new PipelineClient(client, connection, temporal.searchAttributes, taskQueue);
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  /** Starts a run; the steps come from the caller (stepsFor), so the workflow does no lookup. */
  async start(request: PhaseRunInput, steps: StepDef[], workflowId = workflowIdFor(request.phase, request.verb)): Promise<WorkflowHandle> {
    const input: PhaseWorkflowInput = { ...request, steps };
    return this.client.workflow.start(WORKFLOW_TYPE, {
      taskQueue: this.taskQueue,
      workflowId,
      args: [input],
      ...runLabels(request.phase, request.verb, request.target ?? '', this.searchAttributes),
    });
  }

  /** `--phase all`: one parent run with a child run per phase (workflows/all-phases.ts). */
  async startAll(verb: Verb, runs: (PhaseRunInput & { steps: StepDef[] })[], workflowId = workflowIdFor('all', verb)): Promise<WorkflowHandle> {
    const input: AllPhasesInput = { verb, runs, searchAttributes: this.searchAttributes };
    return this.client.workflow.start(ALL_WORKFLOW_TYPE, {
      taskQueue: this.taskQueue,
      workflowId,
      args: [input],
      ...runLabels('all', verb, undefined, this.searchAttributes),
    });
  }

  async allResult(workflowId: string): Promise<AllPhasesResult> {
    return this.known(workflowId, (h) => h.result() as Promise<AllPhasesResult>);
  }

  /** A sweep's child runs so far (the `children` query of runAllPhases). */
  async children(workflowId: string): Promise<{ current?: string; done: { workflowId: string; status: string }[] }> {
    return this.known(workflowId, (h) => this.answered(() => h.query(childrenQuery)));
  }

  /** The workflow type and whether it still runs. */
  async describe(workflowId: string): Promise<{ type: string; running: boolean }> {
    return this.known(workflowId, async (h) => {
      const d = await h.describe();
      return { type: d.type, running: d.status.name === 'RUNNING' };
    });
  }

  /**
   * What the run's activities are doing now, from the server (no worker needed): each pending
   * one with its last heartbeat's details (a string, for the fleet's activities) and when it started.
   */
  async activity(workflowId: string): Promise<PendingActivity[]> {
    return this.known(workflowId, async (h) => {
      const { raw } = await h.describe();
      return (raw.pendingActivities ?? []).map((a) => {
        const payload = a.heartbeatDetails?.payloads?.[0];
        const details = payload ? defaultPayloadConverter.fromPayload<unknown>(payload) : undefined;
        const started = a.lastStartedTime ?? a.lastHeartbeatTime;
        return {
          type: a.activityType?.name ?? '',
          ...(typeof details === 'string' ? { details } : {}),
          ...(started?.seconds != null ? { startedMs: Number(started.seconds.toString()) * 1000 + Math.floor((started.nanos ?? 0) / 1e6) } : {}),
        };
      });
    });
  }

  async status(workflowId: string): Promise<RunStatus> {
    return this.known(workflowId, (h) => this.answered(() => h.query(statusQuery)));
  }

  async result(workflowId: string): Promise<PhaseRunResult> {
    return this.known(workflowId, (h) => h.result() as Promise<PhaseRunResult>);
  }

  async approve(workflowId: string, answer: GateAnswer = {}): Promise<PendingGate> {
    return this.known(workflowId, (h) => this.answered(() => h.executeUpdate(approveUpdate, { args: [answer] })));
  }

  async reject(workflowId: string, answer: GateAnswer = {}): Promise<PendingGate> {
    return this.known(workflowId, (h) => this.answered(() => h.executeUpdate(rejectUpdate, { args: [answer] })));
  }

  /** Recent pipeline runs, newest first. */
  async list(limit = 20): Promise<{ workflowId: string; status: string; startTime: Date; memo?: Record<string, unknown> }[]> {
    const out: { workflowId: string; status: string; startTime: Date; memo?: Record<string, unknown> }[] = [];
    for await (const wf of this.client.workflow.list({ query: `WorkflowType = '${WORKFLOW_TYPE}' OR WorkflowType = '${ALL_WORKFLOW_TYPE}'` })) {
      out.push({ workflowId: wf.workflowId, status: wf.status.name, startTime: wf.startTime, ...(wf.memo ? { memo: wf.memo } : {}) });
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Queries and updates need a worker to answer; without one they would wait forever. */
  private async answered<T>(fn: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
    try {
      return await this.client.withDeadline(Date.now() + timeoutMs, fn);
    } catch (err) {
      // an update not answered in time is also reported as timed out "or cancelled": nothing here cancels it
      if (
        isGrpcDeadlineError(err) ||
        (err instanceof ServiceError && isGrpcDeadlineError(err.cause)) ||
        err instanceof WorkflowUpdateRPCTimeoutOrCancelledError
      ) {
        throw new FleetError(
          'NO_WORKER',
          `no worker answered within ${timeoutMs / 1000}s: run the CLI without --no-worker, or start one (\`node dist/pipeline/worker.js\`)`,
          { cause: err },
        );
      }
      throw err;
    }
  }

  private async known<T>(workflowId: string, fn: (h: WorkflowHandle) => Promise<T>): Promise<T> {
    try {
      return await fn(this.client.workflow.getHandle(workflowId));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new FleetError('UNKNOWN_RUN', `no pipeline run ${workflowId}`, { cause: err });
      // The validator's reason (e.g. "no approval gate is waiting") is the useful part.
      if (err instanceof WorkflowUpdateFailedError && err.cause) throw new FleetError('NO_GATE', `${workflowId}: ${err.cause.message}`, { cause: err });
      throw err;
    }
  }
}
