/**
 * Activities that talk to the gateway as a client does: its liveness endpoint, and the official
 * MCP SDK client over each front (Streamable HTTP, HTTP+SSE, WebSocket) listing and calling tools.
 * The gateway URL is params.url, else the project's published gateway port (see gatewayUrl).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { connectGateway, NETWORK_FRONTS, type GatewayConnection, type NetworkFront } from '../gateway/client/connect';
import type { StepInput, StepResult } from '../pipeline/types';
import { AdminApi } from './admin';
import { clientHeaders } from './credentials';
import { gatewayUrl } from './engine';
import { cancellation, checkoutRoot, failure, withHeartbeat } from './runtime';

/** A tool a check can call with `{}`: it requires no arguments. */
export function needsNoArguments(tool: { inputSchema: { required?: string[] } }): boolean {
  return !(tool.inputSchema.required ?? []).length;
}

/**
 * One MCP session with the gateway over a front, given up when the activity is cancelled or after
 * 15 s; closed (session ended) by the caller. `headers` join the client credential on every request. Closing never throws: a failed DELETE must not
 * replace the step's own result.
 */
export async function connect(
  base: string,
  front: NetworkFront,
  name = 'mcp-fleet-pipeline',
  headers: Record<string, string> = {},
): Promise<GatewayConnection> {
  const all = { ...clientHeaders(), ...headers };
  const connection = await connectGateway(base, front, { name, signal: cancellation(), timeoutMs: 15_000, headers: Object.keys(all).length ? all : undefined });
  return { client: connection.client, close: () => connection.close().catch(() => {}) };
}

/** GET /health/liveness; passed on 200. An unreachable gateway is `failed` (the step checks it). */
export async function gatewayHealth(input: StepInput): Promise<StepResult> {
  const base = await gatewayUrl(input);
  const started = Date.now();
  try {
    const res = await fetch(`${base}/health/liveness`, { signal: AbortSignal.any([AbortSignal.timeout(5_000), ...(cancellation() ? [cancellation()!] : [])]) });
    const body = await res.text();
    const details = { url: base, status: res.status, body, ms: Date.now() - started };
    if (res.status !== 200) return { outcome: 'failed', summary: `${base}/health/liveness answered ${res.status}: ${body.slice(0, 200)}`, details };
    return { outcome: 'passed', summary: `gateway at ${base} is live`, details };
  } catch (err) {
    return {
      outcome: 'failed',
      summary: `gateway at ${base} does not answer (${(err as Error).message}); is the stack up? (--phase docker-compose --deploy)`,
      details: { url: base },
    };
  }
}

interface FrontResult {
  front: NetworkFront;
  ok: boolean;
  tools?: number;
  called?: string;
  ms?: number;
  error?: string;
}

/**
 * Over each front in params.transports (default all three): connect with the SDK client, list the
 * tools, and call params.call ({ name, arguments }) or else the first tool without required
 * arguments. Passed when every front did both.
 */
export async function mcpRoundTrip(input: StepInput): Promise<StepResult> {
  const base = await gatewayUrl(input);
  const fronts = (input.params.transports as NetworkFront[] | undefined) ?? [...NETWORK_FRONTS];
  const bad = fronts.filter((f) => !NETWORK_FRONTS.includes(f));
  if (bad.length) throw failure('BAD_INPUT', `unknown transport ${bad.join(', ')}; use ${NETWORK_FRONTS.join(', ')}`);
  const results: FrontResult[] = [];
  for (const front of fronts) {
    const call = input.params.call as { name: string; arguments?: Record<string, unknown> } | undefined;
    results.push(await withHeartbeat(`MCP round trip over ${front}`, () => roundTrip(base, front, call)));
  }
  const failed = results.filter((r) => !r.ok);
  const summary = failed.length
    ? `MCP round trip failed over ${failed.map((r) => `${r.front} (${r.error})`).join(', ')} at ${base}`
    : `listed and called tools over ${fronts.join(', ')} at ${base}`;
  return { outcome: failed.length ? 'failed' : 'passed', summary, details: { url: base, fronts: results } };
}

async function roundTrip(base: string, front: NetworkFront, call?: { name: string; arguments?: Record<string, unknown> }): Promise<FrontResult> {
  const started = Date.now();
  let session: Awaited<ReturnType<typeof connect>> | undefined;
  try {
    session = await connect(base, front);
    const { tools } = await session.client.listTools();
    const target = call ?? tools.find(needsNoArguments);
    if (!target) return { front, ok: false, tools: tools.length, error: 'no tool without required arguments to call; pass params.call' };
    const result = await session.client.callTool({ name: target.name, arguments: call?.arguments ?? {} });
    if (result.isError) return { front, ok: false, tools: tools.length, called: target.name, error: `tool ${target.name} returned an error` };
    return { front, ok: true, tools: tools.length, called: target.name, ms: Date.now() - started };
  } catch (err) {
    return { front, ok: false, error: (err as Error).message };
  } finally {
    await session?.close();
  }
}

/**
 * service-discovery: the gateway lists tools from each configured server. Server names are
 * params.servers, else the keys of the gateway config (params.config, default the compose stack's
 * docker/config/gateway.yaml); a server's tools are those of tools/list under the names the admin
 * API reports for it (its prefix and separator are the gateway's business).
 */
export async function resolveServers(input: StepInput): Promise<StepResult> {
  const base = await gatewayUrl(input);
  const servers = expectedServers(input);
  let session: Awaited<ReturnType<typeof connect>> | undefined;
  try {
    const exposed = new Map((await (await AdminApi.of(input)).servers()).servers.map((s) => [s.name, new Set(s.tools)]));
    const opened = (session = await withHeartbeat('connecting to the gateway', () => connect(base, 'streamable-http')));
    const { tools } = await withHeartbeat('listing the tools', () => opened.client.listTools());
    const byServer = Object.fromEntries(servers.map((s) => [s, tools.filter((t) => exposed.get(s)?.has(t.name)).map((t) => t.name)]));
    const missing = servers.filter((s) => byServer[s].length === 0);
    const details = { url: base, servers: Object.fromEntries(servers.map((s) => [s, byServer[s].length])) };
    if (missing.length)
      return { outcome: 'failed', summary: `the gateway offers no tools from ${missing.join(', ')}; check those servers' health and the gateway log`, details };
    return {
      outcome: 'passed',
      summary: `the gateway resolves ${servers.length} servers: ${servers.map((s) => `${s} (${byServer[s].length} tools)`).join(', ')}`,
      details,
    };
  } catch (err) {
    return { outcome: 'failed', summary: `cannot list tools through ${base}/mcp (${(err as Error).message})`, details: { url: base } };
  } finally {
    await session?.close();
  }
}

/** The servers a step expects the gateway to have: params.servers, else those of params.config (default the stack's gateway config). */
export function expectedServers(input: Pick<StepInput, 'params'>): string[] {
  return (input.params.servers as string[] | undefined) ?? configuredServers(String(input.params.config ?? 'docker/config/gateway.yaml'));
}

function configuredServers(file: string): string[] {
  const path = file.startsWith('/') ? file : `${checkoutRoot()}/${file}`;
  try {
    const config = parse(readFileSync(path, 'utf8')) as { servers?: Record<string, unknown>; mcpServers?: Record<string, unknown> };
    return Object.keys({ ...config.servers, ...config.mcpServers });
  } catch (err) {
    throw failure('BAD_INPUT', `cannot read the gateway config ${path} (${(err as Error).message}); pass params.servers or params.config`);
  }
}
