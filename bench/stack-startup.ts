/**
 * The compose stack's start (docker-compose.yml), as `npm run bench:containers` reports it: from
 * `compose up -d` until each service's container first reports healthy, and until the pipeline's
 * tools are listed through the gateway, over fresh projects (`down -v` after each). memory and
 * filesystem start beside the pipeline's chain (temporal, pipeline-worker, then pipeline); the
 * gateway waits for all three servers, so its healthy time is the stack's.
 */
import { ComposeProject, docker } from '../test/containers/support/docker';
import { connectHttp } from '../test/containers/support/mcp';
import type { Cleanup } from './cleanup';
import { spread } from './stats';

const SERVICES = ['memory', 'filesystem', 'temporal', 'pipeline-worker', 'pipeline', 'gateway'];
const POLL_MS = 200;

interface StartSample {
  /** ms from `up -d` to the first poll that saw the service's container healthy */
  healthy: Record<string, number>;
  /** ms until `pipeline__run_phase` is listed through the gateway */
  toolsMs: number;
}

async function sample(cleanup: Cleanup): Promise<StartSample> {
  const project = new ComposeProject(['docker-compose.yml'], {}, 'mcpfleet-bench');
  cleanup.refuseWhenStopping(`compose project ${project.name}`);
  const down = cleanup.add(`compose project ${project.name}`, () => project.down());
  try {
    const t0 = performance.now();
    const up = project.up(); // compose v1 returns only once the dependencies it waits for are healthy
    const healthy: Record<string, number> = {};
    while (Object.keys(healthy).length < SERVICES.length) {
      if (performance.now() - t0 > 240_000)
        throw new Error(`the stack did not turn healthy within 240 s (healthy: ${Object.keys(healthy).join(', ') || 'none'})`);
      const ids = (await docker('ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${project.name}`)).split('\n').filter(Boolean);
      if (ids.length > 0) {
        const states = JSON.parse(await docker('inspect', ...ids)) as { Config: { Labels: Record<string, string> }; State: { Health?: { Status: string } } }[];
        const now = performance.now() - t0;
        for (const s of states) {
          const service = s.Config.Labels['com.docker.compose.service'];
          if (s.State.Health?.Status === 'healthy') healthy[service] ??= now;
        }
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    await up;
    const session = await connectHttp(await project.gatewayAddress(), 'bench');
    try {
      for (;;) {
        const { tools } = await session.client.listTools();
        if (tools.some((t) => t.name === 'pipeline__run_phase')) break;
        if (performance.now() - t0 > 240_000) throw new Error('the pipeline tools did not appear through the gateway within 240 s');
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    } finally {
      await session.close();
    }
    return { healthy, toolsMs: performance.now() - t0 };
  } finally {
    await down();
  }
}

/** Prints a Markdown table of the stack's start over `runs` fresh projects (after one warm-up). */
export async function benchStackStartup(runs: number, cleanup: Cleanup): Promise<void> {
  await sample(cleanup); // warm-up: page cache, image layers
  const samples: StartSample[] = [];
  for (let i = 0; i < runs; i++) {
    samples.push(await sample(cleanup));
    console.error(`bench-containers: stack start ${i + 1}/${runs}: all healthy after ${(Math.max(...Object.values(samples[i].healthy)) / 1000).toFixed(1)} s`);
  }
  const row = (what: string, values: number[]) => {
    const s = spread(values);
    console.log(`| ${what} | ${(s.median / 1000).toFixed(1)} s | ${(s.min / 1000).toFixed(1)}-${(s.max / 1000).toFixed(1)} s |`);
  };
  console.log(`\ncompose stack start: \`up -d\` until healthy (polled every ${POLL_MS} ms), ${runs} fresh projects after one warm-up`);
  console.log(`| until | median of ${runs} | min-max |`);
  console.log('|---|---|---|');
  for (const service of SERVICES)
    row(
      `${service} healthy`,
      samples.map((s) => s.healthy[service]),
    );
  row(
    `all ${SERVICES.length} healthy`,
    samples.map((s) => Math.max(...Object.values(s.healthy))),
  );
  row(
    'pipeline__run_phase listed through the gateway',
    samples.map((s) => s.toolsMs),
  );
}
