/**
 * debugging-tools: one request traced through the stack. A tool call goes through the gateway
 * with a fresh W3C traceparent in `_meta`; every gateway on the way (the front gateway, and the
 * stdio→HTTP bridges in front of the servers, which are gateways too) logs a `call` line with the
 * trace id, its own span and its parent. The check reads the containers' logs and rebuilds the
 * chain client → gateway → upstream from the spans.
 */
import { randomBytes } from 'node:crypto';
import type { StepInput, StepResult } from '../pipeline/types';
import { docker, gatewayUrl, projectContainers, stackOf } from './engine';
import { connect, needsNoArguments } from './gateway';
import { demux } from './logs';
import { failure, heartbeat, pause } from './runtime';

export interface Hop {
  container: string;
  span: string;
  parent?: string;
  server: string;
  backend?: string;
  ms?: number;
}

/** The `call` lines of a log that carry `traceId`. */
export function hopsIn(container: string, log: string, traceId: string): Hop[] {
  const hops: Hop[] = [];
  for (const line of log.split('\n')) {
    if (!line.includes(traceId)) continue;
    try {
      const l = JSON.parse(line) as { msg?: string; trace?: string; span?: string; parent?: string; server?: string; backend?: string; ms?: number };
      if (l.msg === 'call' && l.trace === traceId && l.span)
        hops.push({
          container,
          span: l.span,
          ...(l.parent ? { parent: l.parent } : {}),
          server: String(l.server),
          ...(l.backend ? { backend: l.backend } : {}),
          ...(l.ms !== undefined ? { ms: l.ms } : {}),
        });
    } catch {
      // a server's own stderr line that happens to contain the id
    }
  }
  return hops;
}

/** The hops in order from the client's span: each one's parent is the one before. */
export function chain(hops: Hop[], clientSpan: string): Hop[] {
  const out: Hop[] = [];
  for (let parent = clientSpan; ;) {
    const next = hops.find((h) => h.parent === parent);
    if (!next) return out;
    out.push(next);
    parent = next.span;
  }
}

/**
 * params.tool (default: the first tool without required arguments) is called through the gateway;
 * params.minHops (default 2: the front gateway and the server's bridge) hops must link up.
 */
export async function requestTracing(input: StepInput): Promise<StepResult> {
  const { project } = stackOf(input);
  const containers = (await projectContainers(project)).filter((c) => c.State === 'running');
  if (containers.length === 0)
    throw failure(
      'BAD_INPUT',
      `no running containers in compose project ${project}: tracing reads their logs; deploy it first (--phase docker-compose --deploy)`,
    );
  const minHops = Number(input.params.minHops ?? 2);
  const base = await gatewayUrl(input);
  const traceId = randomBytes(16).toString('hex');
  const clientSpan = randomBytes(8).toString('hex');
  const since = Math.floor(Date.now() / 1000) - 1;

  const session = await connect(base, 'streamable-http', 'mcp-fleet-tracing');
  let tool: string;
  try {
    const { tools } = await session.client.listTools();
    tool = String(input.params.tool ?? tools.find(needsNoArguments)?.name ?? '');
    if (!tool) throw failure('BAD_INPUT', 'the gateway offers no tool without required arguments; pass params.tool');
    await session.client.callTool({ name: tool, arguments: {}, _meta: { traceparent: `00-${traceId}-${clientSpan}-01` } });
  } finally {
    await session.close();
  }

  const engine = await docker();
  let hops: Hop[] = [];
  // log lines reach `docker logs` a moment after the call returns
  for (let attempt = 0; attempt < 20; attempt++) {
    heartbeat(`looking for trace ${traceId} in ${containers.length} container logs`);
    hops = [];
    for (const c of containers) {
      const raw = await engine.getContainer(c.Id).logs({ stdout: true, stderr: true, since, follow: false });
      hops.push(...hopsIn(c.Names[0].replace(/^\//, ''), demux(Buffer.from(raw)), traceId));
    }
    if (chain(hops, clientSpan).length >= minHops) break;
    await pause(250, 'waiting for the log lines');
  }
  const linked = chain(hops, clientSpan);
  const path = ['client', ...linked.map((h) => `${h.container} (${h.server}${h.backend ? `/${h.backend}` : ''}, ${h.ms ?? '?'} ms)`)].join(' → ');
  const details = { traceId, clientSpan, tool, hops, chain: linked.map((h) => h.container) };
  if (linked.length < minHops) {
    const why =
      hops.length === 0
        ? 'no container logged a call with it; are the images current (npm run docker:build)?'
        : `only ${linked.length} of ${hops.length} logged hops link up from the client's span`;
    return { outcome: 'failed', summary: `trace ${traceId} of ${tool}: ${why} (need ${minHops} hops: ${path})`, details };
  }
  return { outcome: 'passed', summary: `trace ${traceId} of ${tool}: ${path}`, details };
}
