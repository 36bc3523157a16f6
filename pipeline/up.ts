/**
 * `up`: the whole fleet in one command on the embedded defaults. It starts (or reuses) the local
 * Temporal dev server, runs the pipeline worker in this process, runs `docker-compose --deploy`
 * (build the images, bring the stack up healthy, check the gateway), reports where the gateway and
 * the Temporal UI are, and keeps the worker serving runs until Ctrl-C. Asking for `up` is the
 * approval of the deploy's gate. On Ctrl-C the stack goes down (volumes kept) unless --keep-stack,
 * then the worker and the dev server this command started stop.
 */
import { composeDown } from '../activities/compose';
import { clientKeyFile } from '../activities/credentials';
import { DEFAULT_PROJECT, gatewayUrl, projectContainers } from '../activities/engine';
import { TASK_QUEUE } from './client';
import { CLI, checkDocker, follow, Session, type Common, type Out } from './cli-session';
import { stepsFor } from './phases';
import { runJson, summaryLines } from './progress';

export interface UpOptions extends Common {
  'keep-stack': boolean;
  /** false: use the images as they are (built or loaded before). */
  build: boolean;
  /** Compose project (default mcp-fleet). */
  target?: string;
  /** Published gateway port (default 8080; 0 = any free port). */
  'gateway-port'?: number;
}

/** Resolves only when the deploy failed (exit code 1); on success it serves until a signal ends the process. */
export async function fleetUp(argv: UpOptions, out: Out): Promise<number> {
  const steps = stepsFor('docker-compose', 'deploy').filter((s) => argv.build || s.activity !== 'buildImages');
  const target = argv.target ?? DEFAULT_PROJECT;
  const params = argv['gateway-port'] !== undefined ? { gatewayPort: argv['gateway-port'] } : {};
  await checkDocker(steps);
  const session = await Session.open(argv, out, true);
  try {
    const handle = await session.client.start({ phase: 'docker-compose', verb: 'deploy', target, params, autoApprove: true }, steps);
    out.line(`docker-compose --deploy: ${handle.workflowId}`);
    const result = await follow(session.client, handle.workflowId, out, false);
    for (const l of summaryLines(handle.workflowId, result)) out.line(l);
    if (result.status !== 'passed') {
      out.result({ ...runJson(handle.workflowId, result), status: 'failed' });
      await session.close();
      return 1;
    }
    // The deploy's own compensation takes the stack down when a later step fails; after success
    // this command owns it until the user stops it.
    if (!argv['keep-stack']) {
      session.onClose(async () => {
        out.line(`taking ${target} down (volumes kept)`);
        const down = await composeDown({ runId: handle.workflowId, phase: 'docker-compose', verb: 'deploy', target, params, previous: {} });
        out.line(`  ${down.summary}`);
      });
    }
    const base = await gatewayUrl({ target, params: {} });
    const ui = session.temporal.uiUrl ? `${session.temporal.uiUrl}/namespaces/${session.temporal.namespace}/workflows` : undefined;
    out.line('');
    out.line('mcp-fleet is up');
    out.line(`  MCP endpoint  ${base}/mcp   (legacy SSE ${base}/sse, WebSocket ${base.replace(/^http/, 'ws')}/ws)`);
    out.line(`  API key       ${clientKeyFile()}   (send it as Authorization: Bearer <key>; MCP_FLEET_CLIENT_KEY_FILE picks another)`);
    out.line(`  health        ${base}/health/readiness`);
    out.line(`  Temporal UI   ${ui ?? `not served by this process (cluster ${session.temporal.address})`}`);
    const stackUi = await stackTemporalUi(target);
    if (stackUi) out.line(`  stack's Temporal UI  ${stackUi}   (runs started through pipeline__run_phase)`);
    out.line(`  worker        in this process, task queue ${TASK_QUEUE}: \`${CLI} --phase NAME --<verb>\` from another terminal uses it`);
    out.line(
      `Ctrl-C stops ${argv['keep-stack'] ? 'the worker' : `the stack (volumes kept), the worker`}${session.temporal.started ? ' and the Temporal dev server' : ''}.`,
    );
    out.result({
      status: 'up',
      workflowId: handle.workflowId,
      mcpUrl: `${base}/mcp`,
      apiKeyFile: clientKeyFile(),
      gatewayUrl: base,
      temporalUi: ui ?? null,
      stackTemporalUi: stackUi ?? null,
      temporalAddress: session.temporal.address,
      steps: runJson(handle.workflowId, result).steps,
    });
  } catch (err) {
    await session.close();
    throw err;
  }
  // Serve until SIGINT/SIGTERM: Session's handler closes everything (stack first) and exits.
  return new Promise<number>(() => {});
}

/** The stack's own Temporal (the pipeline service's) Web UI, as its container publishes it. */
async function stackTemporalUi(project: string): Promise<string | undefined> {
  const [temporal] = await projectContainers(project, 'temporal').catch(() => []);
  const port = temporal?.Ports.find((p) => p.PrivatePort === 8233 && p.PublicPort);
  return port ? `http://127.0.0.1:${port.PublicPort}` : undefined;
}
