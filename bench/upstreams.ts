/**
 * The upstream MCP servers the benchmark measures against, and how to run each over stdio or
 * Streamable HTTP: the npm server-everything (a real SDK-based server) and bench/fast-upstream
 * (hand-rolled, nearly free), both offering an `echo` tool that takes `{ message }`.
 */
import { resolve } from 'node:path';
import { freePort } from '../test/helpers/ports';
import { spawnGroup, type GroupProcess } from './processes';

export type UpstreamKind = 'everything' | 'fast';
export type UpstreamTransport = 'http' | 'stdio';

export interface UpstreamSpec {
  kind: UpstreamKind;
  label: string;
  command: string;
  args(transport: UpstreamTransport): string[];
  /** The line on stderr that says the HTTP server listens. */
  httpReadyLine: RegExp;
}

const EVERYTHING_JS = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');
const FAST_JS = resolve(__dirname, 'fast-upstream.js');

export const UPSTREAMS: Record<UpstreamKind, UpstreamSpec> = {
  everything: {
    kind: 'everything',
    label: 'server-everything',
    command: process.execPath,
    args: (t) => [EVERYTHING_JS, t === 'http' ? 'streamableHttp' : 'stdio'],
    httpReadyLine: /listening on port/,
  },
  fast: {
    kind: 'fast',
    label: 'fast-upstream',
    command: process.execPath,
    args: (t) => [FAST_JS, t],
    httpReadyLine: /listening on/,
  },
};

export interface HttpUpstream {
  /** The MCP endpoint, http://127.0.0.1:PORT/mcp. */
  url: string;
  process: GroupProcess;
}

/** Starts one upstream as a Streamable HTTP server on a free loopback port. */
export async function startHttpUpstream(spec: UpstreamSpec, marker: string): Promise<HttpUpstream> {
  const port = await freePort();
  const proc = await spawnGroup(spec.command, spec.args('http'), { env: { PORT: String(port) }, marker, ready: spec.httpReadyLine });
  return { url: `http://127.0.0.1:${port}/mcp`, process: proc };
}
