/**
 * The pipeline's traces (MCP_FLEET_PIPELINE_TRACING) against a real Temporal dev server and a real
 * Jaeger v2, read back through its query API: one run of the phase workflow (stand-in activities)
 * is one trace, from the client's start of the run through the workflow's run to each activity,
 * sent by the time the worker stopped and the tracing shut down; the same across processes, with
 * the standalone worker (dist/pipeline/worker.js) continuing the test's client's trace. Off,
 * nothing of it exists; a bad endpoint is refused naming the variable.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { propagation } from '@opentelemetry/api';
import { PipelineClient, WORKFLOW_TYPE } from '../../pipeline/client';
import { TRACED_WORKFLOW_MODULES } from '../../pipeline/traced-workflow-modules';
import { PIPELINE_SERVICE_NAME, PIPELINE_TRACING_ENV, pipelineTracingFromEnv } from '../../pipeline/tracing-env';
import type { StepDef, StepInput, StepResult } from '../../pipeline/types';
import { PREBUILT_BUNDLE_ENV, startPipelineWorker, workflowBundle, type PipelineWorker } from '../../pipeline/worker';
import { ROOT } from '../containers/support/docker';
import { startDevJaeger, type DevJaeger, type JaegerSpan } from '../helpers/jaeger';
import { freePort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { processesMentioning, startTestTemporal, type TestTemporal } from '../pipeline/temporal';

jest.setTimeout(180_000);

const TASK_QUEUE = 'test-pipeline-traces';

const activities = {
  async ok(input: StepInput): Promise<StepResult> {
    return { outcome: 'passed', summary: `ok ${String(input.params.tag)}` };
  },
  async check(): Promise<StepResult> {
    return { outcome: 'passed', summary: 'checked' };
  },
};
const step = (id: string, activity: string): StepDef => ({ id, title: `step ${id}`, activity, params: { tag: id } });

/** The run's one trace once Jaeger has every span named `names`. */
async function traceOfRun(workflowId: string, names: string[]): Promise<JaegerSpan[]> {
  // every span naming the run (the client's, the activities') is in one trace
  const ids = await waitFor(async () => {
    const found = await jaeger.find(PIPELINE_SERVICE_NAME, { temporalWorkflowId: workflowId });
    return found.length > 0 ? found : undefined;
  }, `a trace of run ${workflowId} in Jaeger`);
  expect(ids).toHaveLength(1);
  const spans = await waitFor(
    async () => {
      const got = await jaeger.trace(ids[0]);
      return got && names.every((n) => got.some((s) => s.operationName === n)) ? got : undefined;
    },
    `the spans ${names.join(', ')} in trace ${ids[0]}`,
  );
  expect(new Set(spans.map((s) => s.traceID))).toEqual(new Set([ids[0]]));
  expect(new Set(spans.map((s) => s.service))).toEqual(new Set([PIPELINE_SERVICE_NAME]));
  return spans;
}

/** `node dist/pipeline/worker.js` with the pipeline's tracing set to `endpoint`, on the test's dev server. */
function standaloneWorker(endpoint: string, tracedBundle?: string) {
  const { [PREBUILT_BUNDLE_ENV.traced]: _inherited, ...inherited } = process.env;
  const prebuilt = tracedBundle === undefined ? {} : { [PREBUILT_BUNDLE_ENV.traced]: tracedBundle };
  const env = { ...inherited, ...prebuilt, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: temporal.namespace, [PIPELINE_TRACING_ENV]: endpoint };
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'pipeline', 'worker.js')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, stderr: () => stderr, exited };
}

let jaeger: DevJaeger;
let temporal: TestTemporal;

beforeAll(async () => {
  [jaeger, temporal] = await Promise.all([startDevJaeger(), startTestTemporal()]);
});

afterAll(async () => {
  await jaeger?.close();
  await temporal?.stop();
  expect(processesMentioning(temporal.dir)).toEqual([]);
});

test("one run is one trace in Jaeger: the client's start, the workflow's run, each activity scheduled and run", async () => {
  const tracing = pipelineTracingFromEnv({ [PIPELINE_TRACING_ENV]: jaeger.otlpUrl })!;
  let worker: PipelineWorker | undefined;
  let client: PipelineClient | undefined;
  let workflowId: string;
  try {
    worker = await startPipelineWorker({ temporal, taskQueue: TASK_QUEUE, activities, tracing });
    // the workflow-side interceptors are in the bundle the worker runs (the untraced one has none: below)
    expect(((await workflowBundle(tracing)) as { code: string }).code).toContain('OpenTelemetryInboundInterceptor');
    client = await PipelineClient.connect(temporal, TASK_QUEUE, tracing);
    ({ workflowId } = await client.start({ phase: 'docker-compose', verb: 'test' }, [step('a', 'ok'), step('b', 'check')]));
    expect((await client.result(workflowId)).status).toBe('passed');
  } finally {
    await client?.close();
    await worker?.stop();
    // what is still queued goes out now
    await tracing.shutdown();
  }
  // the globals the interceptors need are given back
  expect(propagation.fields()).toEqual([]);

  const spans = await traceOfRun(workflowId!, [
    `StartWorkflow:${WORKFLOW_TYPE}`,
    `RunWorkflow:${WORKFLOW_TYPE}`,
    'StartActivity:ok',
    'RunActivity:ok',
    'StartActivity:check',
    'RunActivity:check',
  ]);
  const named = (name: string): JaegerSpan => spans.find((s) => s.operationName === name)!;
  // client → workflow → activity scheduled → activity run
  const start = named(`StartWorkflow:${WORKFLOW_TYPE}`);
  expect(start.parent).toBeUndefined();
  expect(start.tags).toMatchObject({ temporalWorkflowId: workflowId! });
  const run = named(`RunWorkflow:${WORKFLOW_TYPE}`);
  expect(run.parent).toBe(start.spanID);
  for (const activity of ['ok', 'check']) {
    const scheduled = named(`StartActivity:${activity}`);
    expect(scheduled.parent).toBe(run.spanID);
    const ran = named(`RunActivity:${activity}`);
    expect(ran.parent).toBe(scheduled.spanID);
    expect(ran.tags).toMatchObject({ temporalWorkflowId: workflowId! });
  }
});

test.each([
  ['bundling its traced workflow code at start', false],
  ['running the prebuilt traced workflow code (as the images do)', true],
])(
  'a worker in another process (node dist/pipeline/worker.js), %s, continues the trace of the client that started the run, and sends its spans as it stops',
  async (_how, prebuilt) => {
    let bundleFile: string | undefined;
    if (prebuilt) {
      bundleFile = join(mkdtempSync(join(tmpdir(), 'traced-bundle-')), 'workflow-bundle-traced.js');
      writeFileSync(bundleFile, ((await workflowBundle({ workflowInterceptorModules: [...TRACED_WORKFLOW_MODULES] })) as { code: string }).code);
    }
    const { child, stderr, exited } = standaloneWorker(jaeger.otlpUrl, bundleFile);
    const tracing = pipelineTracingFromEnv({ [PIPELINE_TRACING_ENV]: jaeger.otlpUrl })!;
    let client: PipelineClient | undefined;
    let workflowId: string;
    try {
      await waitFor(() => {
        if (child.exitCode !== null) throw new Error(`the worker exited with ${child.exitCode}: ${stderr()}`);
        return stderr().includes('mcp-fleet worker on');
      }, 'the standalone worker to poll');
      client = await PipelineClient.connect(temporal, undefined, tracing);
      // a real activity of the fleet, on the worker's default task queue: nothing listens there, so it fails at once
      const url = `http://127.0.0.1:${await freePort()}`;
      ({ workflowId } = await client.start({ phase: 'docker-compose', verb: 'test' }, [
        { id: 'live', title: 'gateway live', activity: 'gatewayHealth', params: { url } },
      ]));
      expect((await client.result(workflowId)).steps.map((st) => [st.id, st.outcome])).toEqual([['live', 'failed']]);
    } finally {
      await client?.close();
      await tracing.shutdown();
      child.kill('SIGTERM');
    }
    // it stops on SIGTERM and exits by itself (the exporter closed what it held), its export never failing
    expect(await exited).toBe(0);
    if (bundleFile) rmSync(dirname(bundleFile), { recursive: true, force: true });
    expect(stderr()).toContain(bundleFile ? `traced workflow code from ${bundleFile}` : 'traced workflow code bundled at start');
    expect(stderr()).not.toContain('trace export');
    const spans = await traceOfRun(workflowId!, [
      `StartWorkflow:${WORKFLOW_TYPE}`,
      `RunWorkflow:${WORKFLOW_TYPE}`,
      'StartActivity:gatewayHealth',
      'RunActivity:gatewayHealth',
    ]);
    const named = (name: string): JaegerSpan => spans.find((s) => s.operationName === name)!;
    expect(named(`RunWorkflow:${WORKFLOW_TYPE}`).parent).toBe(named(`StartWorkflow:${WORKFLOW_TYPE}`).spanID);
    expect(named('RunActivity:gatewayHealth').parent).toBe(named('StartActivity:gatewayHealth').spanID);
  },
);

test(`off unless ${PIPELINE_TRACING_ENV} names an endpoint: no exporter, no interceptors, no sink`, async () => {
  expect(pipelineTracingFromEnv({})).toBeUndefined();
  expect(pipelineTracingFromEnv({ [PIPELINE_TRACING_ENV]: '' })).toBeUndefined();
  const worker = await startPipelineWorker({ temporal, taskQueue: `${TASK_QUEUE}-off`, activities });
  try {
    expect(worker.worker.options.interceptors.activity).toEqual([]);
    expect(worker.worker.options.sinks).not.toHaveProperty('exporter');
    expect(((await workflowBundle()) as { code: string }).code).not.toContain('OpenTelemetryInboundInterceptor');
    expect(propagation.fields()).toEqual([]);
  } finally {
    await worker.stop();
  }
});

test('an endpoint that is not an http(s) URL is refused, naming the variable; the standalone worker exits with it', async () => {
  const message = `${PIPELINE_TRACING_ENV}="127.0.0.1:4318": expected an http:// or https:// URL, e.g. http://127.0.0.1:4318/v1/traces`;
  expect(() => pipelineTracingFromEnv({ [PIPELINE_TRACING_ENV]: '127.0.0.1:4318' })).toThrow(message);
  expect(() => pipelineTracingFromEnv({ [PIPELINE_TRACING_ENV]: 'ftp://127.0.0.1/v1/traces' })).toThrow(
    `${PIPELINE_TRACING_ENV}="ftp://127.0.0.1/v1/traces": expected an http`,
  );
  const bad = standaloneWorker('127.0.0.1:4318');
  expect(await bad.exited).toBe(1);
  expect(bad.stderr()).toContain(message);
});
