#!/usr/bin/env node
/**
 * The pipeline MCP server (the seed's "Pipeline MCP server"): tools to list the phases, run one,
 * read a run's status and answer its approval gate, so an MCP client (an agent, through the
 * gateway) drives the pipeline. Serves stdio: `node dist/pipeline/mcp-server.js [--worker]`, to
 * clients of either protocol era (SDK v2: the connection's first message picks 2025-11-25 or
 * 2026-07-28).
 * Temporal comes from TEMPORAL_ADDRESS (namespace, TLS, API key as for the CLI) or the local dev
 * server; `--worker` also runs a pipeline worker in this process.
 */
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';
import { PipelineClient, TASK_QUEUE } from './client';
import { PHASE_DEFS, stepsFor } from './phases';
import { ensureTemporal } from './temporal-server';
import { pipelineTracingFromEnv } from './tracing-env';
import type { PipelineWorker } from './worker';
import { installWorkerRuntime } from './worker-runtime';
import type { PhaseName, Verb } from './types';
import { version } from '../gateway/version';

type ToolResult = { content: { type: 'text'; text: string }[]; isError?: boolean; structuredContent?: Record<string, unknown> };

function ok(value: Record<string, unknown>): ToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) }], structuredContent: value };
}

/** Tool failures are results with isError, so the calling model reads what went wrong and what to do. */
async function guarded(fn: () => Promise<ToolResult>): Promise<ToolResult> {
  try {
    return await fn();
  } catch (err) {
    return { content: [{ type: 'text', text: (err as Error).message }], isError: true };
  }
}

export function createPipelineMcpServer(client: PipelineClient): McpServer {
  const server = new McpServer({ name: 'mcp-fleet-pipeline', version });
  server.registerTool(
    'list_phases',
    {
      description: 'The pipeline phases, what each does, and the verbs (step lists) each accepts.',
      inputSchema: {},
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async () => ok({ phases: Object.values(PHASE_DEFS).map((p) => ({ name: p.name, summary: p.summary, verbs: Object.keys(p.verbs) })) }),
  );
  server.registerTool(
    'run_phase',
    {
      description: 'Starts a phase run (a durable Temporal workflow) and returns its workflow id. Gates wait for approve_gate unless approve_all is true.',
      inputSchema: {
        phase: z.string().describe('a phase name from list_phases'),
        verb: z.string().describe("one of the phase's verbs, e.g. validate or deploy"),
        target: z.string().optional().describe('compose project or server the phase acts on'),
        params: z.record(z.string(), z.unknown()).optional().describe('extra step input, e.g. {"url": "http://127.0.0.1:8080"}'),
        approve_all: z.boolean().optional().describe('approve every gate up front (like --yes)'),
      },
      // every call starts another run
      annotations: { readOnlyHint: false, idempotentHint: false, destructiveHint: true, openWorldHint: false },
    },
    async ({ phase, verb, target, params, approve_all }) =>
      guarded(async () => {
        const steps = stepsFor(phase, verb, params ?? {});
        const handle = await client.start({ phase: phase as PhaseName, verb: verb as Verb, target, params, autoApprove: approve_all ?? false }, steps);
        return ok({ workflowId: handle.workflowId, steps: steps.map((s) => s.id) });
      }),
  );
  server.registerTool(
    'run_status',
    {
      description: "A run's steps with outcomes and durations, the gate it waits at (if any), and its result once finished.",
      inputSchema: { workflow_id: z.string() },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ workflow_id }) =>
      guarded(async () => {
        const status = await client.status(workflow_id);
        const description = await client.client.workflow.getHandle(workflow_id).describe();
        const finished = description.status.name !== 'RUNNING';
        const result = finished && description.status.name === 'COMPLETED' ? await client.result(workflow_id) : undefined;
        return ok({ workflowId: workflow_id, workflowStatus: description.status.name, ...status, ...(result ? { result } : {}) });
      }),
  );
  server.registerTool(
    'approve_gate',
    {
      description: 'Answers the approval gate a run waits at: approve (true) runs the step, reject (false) rolls back what the run changed.',
      inputSchema: { workflow_id: z.string(), approve: z.boolean(), step: z.string().optional(), reason: z.string().optional() },
      // a second answer finds the gate gone, or answers the next one
      annotations: { readOnlyHint: false, idempotentHint: false, destructiveHint: true, openWorldHint: false },
    },
    async ({ workflow_id, approve, step, reason }) =>
      guarded(async () => {
        const answer = { by: 'pipeline MCP server', ...(step ? { stepId: step } : {}), ...(reason ? { reason } : {}) };
        const gate = approve ? await client.approve(workflow_id, answer) : await client.reject(workflow_id, answer);
        return ok({ workflowId: workflow_id, answered: approve ? 'approved' : 'rejected', gate });
      }),
  );
  return server;
}

async function main(): Promise<void> {
  const temporal = await ensureTemporal();
  const tracing = pipelineTracingFromEnv();
  const client = await PipelineClient.connect(temporal, TASK_QUEUE, tracing);
  let worker: PipelineWorker | undefined;
  if (process.argv.includes('--worker')) {
    // Loaded only here: the worker brings the native bridge and every activity, some 60 MB a
    // server without it (the compose stack's, whose worker is the pipeline-worker container) never needs.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { DefaultLogger } = require('@temporalio/worker') as typeof import('@temporalio/worker');
    // stdout carries the MCP protocol: the worker's logs go to stderr, warnings and worse only
    installWorkerRuntime({
      logger: new DefaultLogger('WARN', (entry) => process.stderr.write(`${entry.level} ${entry.message} ${JSON.stringify(entry.meta ?? {})}\n`)),
    });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startPipelineWorker } = require('./worker') as typeof import('./worker');
    worker = await startPipelineWorker({ temporal, ...(tracing ? { tracing } : {}) });
  }
  const connection = serveStdio(() => createPipelineMcpServer(client), {
    onerror: (err) => process.stderr.write(`mcp-fleet pipeline server: ${err.message}\n`),
  });
  const stop = async () => {
    await connection.close().catch(() => {});
    await worker?.stop();
    await client.close();
    await tracing?.shutdown();
    await temporal.stop();
    process.exit(0);
  };
  process.stdin.once('end', () => void stop());
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`mcp-fleet pipeline server: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
