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

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const temporal = await ensureTemporal();
  const client = await PipelineClient.connect(temporal);
  const worker = await startPipelineWorker({ temporal });
  const rows: { run: string; result: PhaseRunResult; wallMs: number; stepsMs: number }[] = [];
  try {
    for (const [phase, verb] of RUNS) {
      const steps = stepsFor(phase, verb);
      const t0 = performance.now();
      const handle = await client.start({ phase, verb, autoApprove: true }, steps);
      const result = (await handle.result()) as PhaseRunResult;
      const wallMs = performance.now() - t0;
      const stepsMs = result.steps.reduce((sum, s) => sum + (s.durationMs ?? 0), 0);
      rows.push({ run: `${phase} --${verb}`, result, wallMs, stepsMs });
      console.error(`bench-pipeline: ${phase} --${verb}: ${result.status} in ${(wallMs / 1000).toFixed(1)} s`);
    }
    const down = stepsFor('docker-compose', 'deploy').find((s) => s.compensate);
    if (down) {
      const h = await client.start({ phase: 'docker-compose', verb: 'validate', autoApprove: true }, [
        { id: 'compose-down', title: 'Take the stack down', activity: down.compensate!, params: down.params },
      ]);
      await h.result();
    }
  } finally {
    await worker.stop();
    await client.close();
    await temporal.stop();
  }
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

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench-pipeline: ${(err as Error).message}`);
    process.exit(1);
  },
);
