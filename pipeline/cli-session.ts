/**
 * What every CLI command shares: the output channel (--json keeps stdout for the final document),
 * the session (Temporal, client, optional worker, closed in reverse on exit or Ctrl-C), the Docker
 * pre-check, and following a run until it ends while answering its gates.
 */
import { createInterface } from 'node:readline/promises';
import Docker from 'dockerode';
import type { RunStatus } from '../workflows/run-state';
import { PipelineClient, TASK_QUEUE } from './client';
import { FleetError } from '../gateway/protocol/errors';
import { onTermination, safeWrite } from '../gateway/termination';
import { ActivityPrinter, ProgressPrinter, runJson, summaryLines } from './progress';
import { ensureTemporal, type TemporalHandle } from './temporal-server';
import type { PhaseRunResult, StepDef } from './types';
import { pipelineTracingFromEnv } from './tracing-env';
import { installWorkerRuntime } from './worker-runtime';

export const CLI = 'run-pipeline-claude-interactive';
/** Activities that need a Docker engine where the worker runs (checked before a run starts). */
const DOCKER_ACTIVITIES = new Set([
  'buildImages',
  'validateCompose',
  'composeUp',
  'composeDown',
  'healthStatus',
  'inspectHardening',
  'killReplicaAndMeasureRecovery',
  'killGatewayReplicaAndMeasureRecovery',
  'collectLogs',
]);
const POLL_MS = 500;

export interface Common {
  json: boolean;
  yes: boolean;
  worker: boolean;
  'temporal-address'?: string;
  namespace?: string;
  tls?: boolean;
  'api-key'?: string;
}

/**
 * Output channel: with --json, stdout carries only the final JSON line; people read stderr. A
 * reader that went away (`| tee log`, then Ctrl-C) loses the lines, never the teardown.
 */
export class Out {
  constructor(readonly json: boolean) {}
  line(text: string): void {
    safeWrite(this.json ? process.stderr : process.stdout, `${text}\n`);
  }
  result(doc: Record<string, unknown>): void {
    if (this.json) safeWrite(process.stdout, `${JSON.stringify(doc)}\n`);
  }
}

/** Everything a command opened, closed in reverse order. */
export class Session {
  private readonly closers: { client?: boolean; close: () => Promise<void> }[] = [];
  temporal!: TemporalHandle;
  client!: PipelineClient;

  /** `worker: 'if-started'`: only when this process started the dev server, so nobody else hosts a worker. */
  static async open(argv: Common, out: Out, withWorker: boolean | 'if-started'): Promise<Session> {
    const s = new Session();
    // Ctrl-C, a kill or a closed terminal: stop the stack, the worker and the dev server this
    // process started, not just exit (gateway/termination.ts exits 128 + the signal's number).
    const offSignals = onTermination(async (signal) => {
      out.line(`${signal}: stopping; runs are durable, \`${CLI} watch ID\` resumes one`);
      // The client stays open: its pending long-poll would throw from a timer once closed.
      await s.close({ keepClient: true });
    });
    s.closers.push({ close: async () => offSignals() });
    try {
      // MCP_FLEET_PIPELINE_TRACING: shut down after the worker and the client (closers run in reverse)
      const tracing = pipelineTracingFromEnv();
      if (tracing) s.closers.push({ close: () => tracing.shutdown() });
      // registered before it starts: a signal while the dev server starts waits for it, then stops it
      const starting = ensureTemporal({
        ...(argv['temporal-address'] ? { address: argv['temporal-address'] } : {}),
        ...(argv.namespace ? { namespace: argv.namespace } : {}),
        ...(argv.tls !== undefined ? { tls: argv.tls } : {}),
        ...(argv['api-key'] ? { apiKey: argv['api-key'] } : {}),
      });
      s.closers.push({ close: async () => (await starting.catch(() => undefined))?.stop() });
      s.temporal = await starting;
      if (s.temporal.uiUrl) out.line(`Temporal UI: ${s.temporal.uiUrl}/namespaces/${s.temporal.namespace}/workflows`);
      s.client = await PipelineClient.connect(s.temporal, TASK_QUEUE, tracing);
      s.closers.push({ client: true, close: () => s.client.close() });
      if (withWorker === true || (withWorker === 'if-started' && s.temporal.started && argv.worker)) {
        // Loaded only here: the worker pulls in the native bridge and every activity (a CommonJS lazy require).
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { DefaultLogger } = require('@temporalio/worker') as typeof import('@temporalio/worker');
        // this process owns the signals (onTermination above): the worker stops when the session closes
        installWorkerRuntime({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { startPipelineWorker } = require('./worker') as typeof import('./worker');
        const worker = startPipelineWorker({ temporal: s.temporal, ...(tracing ? { tracing } : {}) });
        s.closers.push({ close: async () => (await worker.catch(() => undefined))?.stop() });
        await worker;
      }
      return s;
    } catch (err) {
      await s.close();
      throw err;
    }
  }

  /** Runs `fn` first when the session closes (on exit or Ctrl-C). */
  onClose(fn: () => Promise<void>): void {
    this.closers.push({ close: fn });
  }

  async close(opts: { keepClient?: boolean } = {}): Promise<void> {
    const closers = this.closers.splice(0).reverse();
    for (const c of closers) if (!(opts.keepClient && c.client)) await c.close().catch(() => {});
  }
}

export async function checkDocker(steps: StepDef[]): Promise<void> {
  if (!steps.some((s) => DOCKER_ACTIVITIES.has(s.activity))) return;
  try {
    await new Docker().ping();
  } catch (err) {
    throw new FleetError('DOCKER_UNAVAILABLE', `this phase needs a Docker engine and none answers (${(err as Error).message}); start one or set DOCKER_HOST`);
  }
}

/** Polls the status query, printing step lines, answering gates; resolves with the result. */
export async function follow(client: PipelineClient, workflowId: string, out: Out, interactive: boolean): Promise<PhaseRunResult> {
  const printer = new ProgressPrinter();
  const activity = new ActivityPrinter();
  let asked: string | undefined;
  const resultP = client.result(workflowId);
  let done = false;
  void resultP.finally(() => (done = true)).catch(() => {});
  while (!done) {
    let status: RunStatus | undefined;
    try {
      status = await client.status(workflowId);
    } catch {
      status = undefined; // no worker has picked the run up yet
    }
    if (status) {
      for (const l of printer.update(status)) out.line(l);
      // what a long step does as it goes; --json stays quiet (its readers get the final document)
      const running = status.steps.find((s) => s.outcome === 'running');
      if (running && !out.json) {
        const [pending] = await client.activity(workflowId).catch(() => []);
        for (const l of activity.update(running.id, pending, Date.now())) out.line(l);
      }
      if (status.gate && asked !== status.gate.stepId) {
        asked = status.gate.stepId;
        if (interactive) await ask(client, workflowId, status.gate.prompt, out);
        else out.line(`  waiting for approval: ${status.gate.prompt}\n  run \`${CLI} approve ${workflowId}\` (or \`reject\`) from another terminal`);
      }
    }
    await Promise.race([resultP.catch(() => {}), new Promise((r) => setTimeout(r, POLL_MS))]);
  }
  const result = await resultP;
  for (const l of printer.update({ ...result, state: result.status })) out.line(l);
  return result;
}

async function ask(client: PipelineClient, workflowId: string, prompt: string, out: Out): Promise<void> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`  approve: ${prompt} [y/N] `)).trim().toLowerCase();
    if (answer === 'y' || answer === 'yes') await client.approve(workflowId, { by: 'cli' });
    else await client.reject(workflowId, { by: 'cli', reason: 'declined at the prompt' });
  } catch (err) {
    out.line(`  ${(err as Error).message}`);
  } finally {
    rl.close();
  }
}

/**
 * Follows a sweep (`--phase all`): each child run in turn as it starts, with its step lines and
 * gates, until the parent ends. Resolves with every child's JSON document.
 */
export async function followAll(client: PipelineClient, parentId: string, out: Out, interactive: boolean): Promise<Record<string, unknown>[]> {
  const runs: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  for (;;) {
    const children = await client.children(parentId).catch(() => undefined);
    const next = [...(children?.done.map((d) => d.workflowId) ?? []), children?.current].find((id): id is string => !!id && !seen.has(id));
    if (next) {
      seen.add(next);
      out.line(`${next.slice(parentId.length + 2)}: ${next}`);
      const result = await follow(client, next, out, interactive);
      for (const l of summaryLines(next, result)) out.line(l);
      runs.push(runJson(next, result));
      continue;
    }
    if (!(await client.describe(parentId)).running) return runs;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
