/**
 * `npm run bench:pipeline`: wall time per phase through the real pipeline (embedded Temporal dev
 * server, an in-process worker, the real activities, real Docker), and how much of it is the
 * workflow engine's own orchestration: wall time minus the time the steps themselves took,
 * measured in the same run. Deploys the compose stack (project mcp-fleet) and takes it down after.
 */
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { PipelineClient } from '../pipeline/client';
import { stepsFor } from '../pipeline/phases';
import { ensureTemporal } from '../pipeline/temporal-server';
import { startPipelineWorker } from '../pipeline/worker';
import type { PhaseName, PhaseRunResult, Verb } from '../pipeline/types';
import { terminating } from '../gateway/termination';
import { Cleanup } from './cleanup';

const RUNS: [PhaseName, Verb][] = [
  ['docker-compose', 'validate'],
  ['docker-compose', 'deploy'],
  ['mcp-transport', 'validate'],
  ['mcp-transport', 'implement'],
  ['service-discovery', 'test'],
  ['security-hardening', 'audit'],
  ['debugging-tools', 'enhance'],
  ['connection-fabric', 'build'],
  ['service-mesh', 'integrate'],
  ['health-monitoring', 'deploy'],
];

async function main(cleanup: Cleanup): Promise<void> {
  // this process owns the signals (Cleanup.onTermination): the worker stops when the cleanup says
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  // each registered before it starts: a signal while it starts waits for it, then stops it
  const starting = ensureTemporal();
  cleanup.add('temporal dev server', async () => (await starting.catch(() => undefined))?.stop());
  const temporal = await starting;
  const client = await PipelineClient.connect(temporal);
  cleanup.add('temporal client', () => client.close());
  const workerStarting = startPipelineWorker({ temporal });
  const stopWorker = cleanup.add('pipeline worker', async () => (await workerStarting.catch(() => undefined))?.stop());
  await workerStarting;
  let takeStackDown: (() => Promise<void>) | undefined;
  const rows: { run: string; result: PhaseRunResult; wallMs: number; stepsMs: number }[] = [];
  for (const [phase, verb] of RUNS) {
    // from the deploy on, the stack is this run's to take down, also after a signal
    if (phase === 'docker-compose' && verb === 'deploy') takeStackDown ??= cleanup.add('the compose stack', () => composeDown(client));
    const steps = stepsFor(phase, verb);
    const t0 = performance.now();
    const handle = await client.start({ phase, verb, autoApprove: true }, steps);
    const result = (await handle.result()) as PhaseRunResult;
    const wallMs = performance.now() - t0;
    const stepsMs = result.steps.reduce((sum, s) => sum + (s.durationMs ?? 0), 0);
    rows.push({ run: `${phase} --${verb}`, result, wallMs, stepsMs });
    console.error(`bench-pipeline: ${phase} --${verb}: ${result.status} in ${(wallMs / 1000).toFixed(1)} s`);
  }
  await takeStackDown?.();
  await stopWorker();
  console.log(`\npipeline: wall time per phase (embedded dev server, in-process worker, real activities), ${new Date().toISOString()}`);
  console.log("| phase --verb | verdict | steps (passed/failed/n.a.) | wall time | steps' own time | orchestration | orchestration share |");
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const count = (o: string) => r.result.steps.filter((s) => s.outcome === o).length;
    const orchestration = r.wallMs - r.stepsMs;
    console.log(
      `| ${r.run} | ${r.result.status} | ${count('passed')}/${count('failed')}/${count('not-available')} | ${(r.wallMs / 1000).toFixed(2)} s | ${(r.stepsMs / 1000).toFixed(2)} s | ${orchestration.toFixed(0)} ms | ${((orchestration / r.wallMs) * 100).toFixed(1)}% |`,
    );
  }
}

/** The deploy's compensation (compose down) as a run of its own. */
async function composeDown(client: PipelineClient): Promise<void> {
  const down = stepsFor('docker-compose', 'deploy').find((s) => s.compensate);
  if (!down) return;
  const h = await client.start({ phase: 'docker-compose', verb: 'validate', autoApprove: true }, [
    { id: 'compose-down', title: 'Take the stack down', activity: down.compensate!, params: down.params },
  ]);
  await h.result();
}

const cleanup = new Cleanup();
cleanup.onTermination('bench-pipeline');
main(cleanup).then(
  () => finish(0),
  (err: Error) => {
    if (!cleanup.stopping) console.error(`bench-pipeline: ${err.message}`);
    return finish(1);
  },
);

/** Cleans up and exits, unless a signal's cleanup is under way: that one exits (128 + signo). */
async function finish(code: number): Promise<void> {
  await cleanup.runAll();
  if (!terminating()) process.exit(code);
}
