/**
 * The pipeline worker's own metrics (MCP_FLEET_WORKER_METRICS): the standalone worker
 * (dist/pipeline/worker.js) against a real Temporal dev server runs a real phase step, and its
 * Prometheus endpoint then counts the workflow and the activity, named the Prometheus way; the
 * dashboard's pipeline-runs panels name only metrics it exports. A bad address is refused naming
 * the variable.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PipelineClient } from '../../pipeline/client';
import { parseMetricsAddress } from '../../pipeline/worker-runtime';
import { ROOT } from '../containers/support/docker';
import { accepts } from '../helpers/foreground';
import { parseMetrics, sampleValue } from '../helpers/metrics';
import { freePort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { startTestTemporal, type TestTemporal } from '../pipeline/temporal';

jest.setTimeout(180_000);

const WORKER = join(ROOT, 'dist', 'pipeline', 'worker.js');

interface Run {
  child: ChildProcess;
  stderr: string[];
  exited: Promise<number | null>;
}

function runWorker(temporal: TestTemporal, metrics: string): Run {
  const child = spawn(process.execPath, [WORKER], {
    env: { ...process.env, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: temporal.namespace, MCP_FLEET_WORKER_METRICS: metrics },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  return { child, stderr, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
}

describe('the pipeline worker’s metrics', () => {
  let temporal: TestTemporal;
  let worker: Run | undefined;
  let client: PipelineClient | undefined;

  beforeAll(async () => {
    temporal = await startTestTemporal();
  });

  afterAll(async () => {
    await client?.close();
    if (worker && worker.child.exitCode === null) worker.child.kill('SIGTERM');
    await worker?.exited;
    await temporal?.stop();
  });

  it('refuses an address that is not host:port, naming the variable', async () => {
    expect(() => parseMetricsAddress('9464')).toThrow('MCP_FLEET_WORKER_METRICS="9464" is not host:port');
    expect(() => parseMetricsAddress('0.0.0.0:99999')).toThrow('is not host:port');
    expect(parseMetricsAddress('[::1]:9464')).toBe('[::1]:9464');
    const bad = runWorker(temporal, 'localhost:http');
    expect(await bad.exited).toBe(1);
    expect(bad.stderr.join('')).toContain('MCP_FLEET_WORKER_METRICS="localhost:http" is not host:port');
  });

  it('counts a real run’s workflow and activity, and serves every metric the dashboard’s pipeline panels read', async () => {
    const port = await freePort();
    worker = runWorker(temporal, `127.0.0.1:${port}`);
    await waitFor(() => worker!.child.exitCode === null && accepts(port), `the worker's metrics on ${port}`, 30_000, 100);
    client = await PipelineClient.connect(temporal);
    // a real step of a real phase: compose resolves the stack's files and the images are looked up
    const handle = await client.start({ phase: 'docker-compose', verb: 'validate' }, [
      { id: 'compose-config', title: 'compose config', activity: 'validateCompose', params: {} },
    ]);
    const result = await client.result(handle.workflowId);
    expect(result.steps.map((s) => s.id)).toEqual(['compose-config']);

    const scrape = async () => parseMetrics(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    // the SDK exports on its own schedule: wait for the run to show
    const seen = await waitFor(
      async () => {
        const all = await scrape();
        return all.some((s) => s.name === 'temporal_workflow_completed_total' && s.value >= 1) ? all : undefined;
      },
      'the completed workflow to be counted',
      30_000,
      250,
    );
    expect(sampleValue(seen, 'temporal_activity_execution_latency_seconds_count', { activity_type: 'validateCompose' })).toBe(1);
    expect(seen.find((s) => s.name === 'temporal_workflow_completed_total')?.labels.workflow_type).toBe('runPhase');

    const exported = new Set(seen.map((s) => s.name.replace(/_(bucket|sum|count)$/, '')));
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'grafana', 'mcp-fleet-dashboard.json'), 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
    const named = new Set(
      dashboard.panels.flatMap((p) =>
        (p.targets ?? []).flatMap((t) => [...t.expr.matchAll(/\btemporal_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''))),
      ),
    );
    expect(named.size).toBeGreaterThanOrEqual(3);
    expect([...named].filter((n) => !exported.has(n))).toEqual([]);

    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(await accepts(port)).toBe(false);
  });
});
