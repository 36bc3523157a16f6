/**
 * The pipeline MCP server as an MCP client sees it: spawned over stdio (its own worker, the real
 * activities and phase definitions) against a real dev server started by the test. An SDK v1 client
 * speaks 2025-11-25 to it, an SDK v2 client pinned to 2026-07-28 the stateless era.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client as ModernClient } from '@modelcontextprotocol/client';
import { StdioClientTransport as ModernStdioTransport } from '@modelcontextprotocol/client/stdio';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { processesMentioning, startTestTemporal, type TestTemporal } from './temporal';
import { listedTools } from '../../activities/failover';
import { HAPROXY_IDEMPOTENT_TOOLS } from '../helpers/load-balancers';
import { waitFor } from '../helpers/wait';

jest.setTimeout(180_000);

const SERVER_JS = join(__dirname, '../../dist/pipeline/mcp-server.js');
let temporal: TestTemporal;
let client: Client;

type Result = { isError?: boolean; structuredContent?: any; content: { text: string }[] };
const call = async (name: string, args: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: args })) as unknown as Result;

const serverProcess = (args: string[]) => ({
  command: process.execPath,
  args: [SERVER_JS, ...args],
  env: {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: temporal.namespace,
    MARKER: temporal.dir,
  },
  stderr: 'ignore' as const,
});

let modern: ModernClient | undefined;

beforeAll(async () => {
  temporal = await startTestTemporal();
  client = new Client({ name: 'pipeline-test', version: '1' });
  await client.connect(new StdioClientTransport(serverProcess(['--worker'])));
});

afterAll(async () => {
  await modern?.close();
  await client?.close();
  await temporal?.stop();
  expect(await waitFor(() => processesMentioning(temporal.dir).length === 0 || undefined, 'no process left', 20_000)).toBe(true);
});

it('lists the ten phases with their verbs', async () => {
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name).sort()).toEqual(['approve_gate', 'list_phases', 'run_phase', 'run_status']);
  // the reads say so, and are the pipeline's tools haproxy may run again on another gateway replica
  const safe = tools.filter((t) => t.annotations?.readOnlyHint === true || t.annotations?.idempotentHint === true).map((t) => `pipeline__${t.name}`);
  expect(safe.sort()).toEqual(['pipeline__list_phases', 'pipeline__run_status']);
  expect(listedTools(readFileSync(HAPROXY_IDEMPOTENT_TOOLS, 'utf8')).filter((t) => t.startsWith('pipeline__'))).toEqual(safe);
  const result = await call('list_phases');
  expect(result.structuredContent.phases).toHaveLength(10);
  expect(result.structuredContent.phases).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'docker-compose', verbs: ['validate', 'deploy'] })]));
});

it('runs a phase to its verdict and reports each step, naming what failed', async () => {
  // nothing listens on port 1: the gateway check fails for real, and the run says so
  const started = await call('run_phase', { phase: 'service-discovery', verb: 'test', params: { url: 'http://127.0.0.1:1' } });
  expect(started.isError).toBeFalsy();
  const id = started.structuredContent.workflowId as string;
  expect(id).toMatch(/^mcp-fleet-service-discovery-test-/);
  const done = await waitFor(
    async () => {
      const s = await call('run_status', { workflow_id: id });
      return s.structuredContent?.result ? s.structuredContent : undefined;
    },
    'the run to finish',
    120_000,
    500,
  );
  expect(done.workflowStatus).toBe('COMPLETED');
  expect(done.result.status).toBe('failed');
  expect(done.result.steps[0]).toMatchObject({ id: 'gateway-live', outcome: 'failed', summary: expect.stringContaining('127.0.0.1:1') });
});

it('answers bad input with an error result that names the valid choices', async () => {
  const badPhase = await call('run_phase', { phase: 'nope', verb: 'test' });
  expect(badPhase.isError).toBe(true);
  expect(badPhase.content[0].text).toContain('docker-compose');
  const badVerb = await call('run_phase', { phase: 'docker-compose', verb: 'explode' });
  expect(badVerb.isError).toBe(true);
  expect(badVerb.content[0].text).toMatch(/validate.*deploy|deploy.*validate/);
  const unknownRun = await call('approve_gate', { workflow_id: 'mcp-fleet-no-such-run', approve: true });
  expect(unknownRun.isError).toBe(true);
  expect(unknownRun.content[0].text).toContain('mcp-fleet-no-such-run');
});

it('serves a 2026-07-28 client too: no handshake, the same tools and the same clear errors', async () => {
  modern = new ModernClient({ name: 'pipeline-test-2026', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await modern.connect(new ModernStdioTransport(serverProcess([])));
  expect(modern.getNegotiatedProtocolVersion()).toBe('2026-07-28');
  expect(modern.getServerVersion()?.name).toBe('mcp-fleet-pipeline');
  const { tools } = await modern.listTools();
  expect(tools.map((t) => t.name).sort()).toEqual(['approve_gate', 'list_phases', 'run_phase', 'run_status']);
  const phases = (await modern.callTool({ name: 'list_phases', arguments: {} })) as unknown as Result;
  expect(phases.structuredContent.phases).toHaveLength(10);
  const bad = (await modern.callTool({ name: 'run_phase', arguments: { phase: 'nope', verb: 'test' } })) as unknown as Result;
  expect([bad.isError, bad.content[0].text]).toEqual([true, expect.stringContaining('docker-compose')]);
});
