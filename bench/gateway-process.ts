/**
 * Runs a gateway CLI as its own process (so it never shares an event loop with the load
 * generator) in front of one upstream, and stops it the way an operator would: SIGTERM, drain.
 * The CLI is this checkout's build or another checkout's (a baseline for comparison); either is
 * driven only through what both share: the command line, the config file and the MCP endpoint.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { connectClient } from './clients';
import { exposedName } from '../gateway/protocol/names';
import { freePort } from '../test/helpers/ports';
import { MARKER_VAR, cpuSeconds, spawnGroup } from './processes';

/** The gateway CLI of this checkout's build. */
export const THIS_BUILD_CLI = resolve(__dirname, '..', 'gateway', 'cli.js');

/** The name the gateway gives the upstream; its tools appear as `up__NAME`. */
export const UPSTREAM_NAME = 'up';

/** The upstream's echo tool as the gateway lists it. */
/** How the gateway names the upstream's echo tool (default prefix and separator, as the bench configures it). */
export const GATEWAY_ECHO_TOOL = exposedName(UPSTREAM_NAME, '__', 'echo');

export interface GatewayProcess {
  /** The gateway's Streamable HTTP endpoint. */
  mcpUrl: string;
  pid: number;
  /** CPU seconds the gateway process has used so far (not counting the upstream it spawned). */
  cpuSeconds(): number;
  /**
   * Rewrites its config file with `settings` instead of the ones it started with and has it
   * reloaded (POST /admin/reload); resolves once the reload applied. Only for a gateway started
   * with `reconfigurable`.
   */
  reconfigure(settings: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

export type UpstreamEntry = { url: string; transport: 'streamable-http' } | { command: string; args: string[] };

export interface GatewayOptions {
  /** Names the config file. */
  id: string;
  upstream: UpstreamEntry;
  marker: string;
  /** Where the config file goes; the caller owns (and removes) the directory. */
  workDir: string;
  /** The gateway CLI to run (default: this checkout's build). */
  cliJs?: string;
  /** Write a V8 CPU profile of the gateway into this directory when it exits. */
  profileDir?: string;
  /** The gateway's log.calls (default: the gateway's own, true). */
  callLog?: boolean;
  /** More top-level config (`auth`, `rateLimits`; default none: the listener is loopback), and the headers clients need (a credential). */
  settings?: Record<string, unknown>;
  headers?: Record<string, string>;
  /** Serve the admin API (a random token), so that reconfigure() can reload it. */
  reconfigurable?: boolean;
  /** More settings of the upstream's server entry (`limits`). */
  serverSettings?: Record<string, unknown>;
}

export async function startGatewayProcess(options: GatewayOptions): Promise<GatewayProcess> {
  const configFile = join(options.workDir, `${options.id}-gateway.json`);
  // The marker goes into the upstream's env too, so a stdio upstream the gateway spawns is found by the final sweep.
  const server = 'command' in options.upstream ? { ...options.upstream, env: { [MARKER_VAR]: options.marker } } : options.upstream;
  const adminToken = options.reconfigurable ? randomBytes(24).toString('hex') : undefined;
  const write = (settings: Record<string, unknown> | undefined) =>
    writeFileSync(
      configFile,
      JSON.stringify({
        servers: { [UPSTREAM_NAME]: { ...server, ...options.serverSettings } },
        ...(options.callLog === false ? { log: { calls: false } } : {}),
        ...(adminToken ? { admin: { token: adminToken }, reload: { watch: false } } : {}),
        ...settings,
      }),
    );
  write(options.settings);
  const nodeFlags = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [];
  // A port of our choosing rather than :0, so that readiness needs no log line: a baseline build's log is not ours to rely on.
  const port = await freePort();
  const mcpUrl = `http://127.0.0.1:${port}/mcp`;
  const proc = await spawnGroup(process.execPath, [...nodeFlags, options.cliJs ?? THIS_BUILD_CLI, '--config', configFile, '--listen', `127.0.0.1:${port}`], {
    env: {},
    marker: options.marker,
    ready: () => echoes(mcpUrl, options.headers),
  });
  return {
    mcpUrl,
    pid: proc.pid,
    cpuSeconds: () => cpuSeconds(proc.pid),
    reconfigure: async (settings) => {
      if (!adminToken) throw new Error(`gateway ${options.id} was not started reconfigurable`);
      write(settings);
      const res = await fetch(mcpUrl.replace(/\/mcp$/, '/admin/reload'), { method: 'POST', headers: { authorization: `Bearer ${adminToken}` } });
      const outcome = (await res.json()) as { result?: string; error?: string };
      if (res.status !== 200 || outcome.result !== 'applied') throw new Error(`gateway ${options.id}: reload ${res.status} ${JSON.stringify(outcome)}`);
    },
    // A drain waits for in-flight calls (none by now); the profile is written as it exits.
    stop: () => proc.stop(15_000),
  };
}

/** True once a call of the upstream's echo tool goes through the gateway at `mcpUrl`. */
async function echoes(mcpUrl: string, headers?: Record<string, string>): Promise<boolean> {
  const client = await connectClient({ kind: 'http', url: mcpUrl, headers }, GATEWAY_ECHO_TOOL).catch(() => undefined);
  if (!client) return false;
  try {
    return (await client.call('ready?')).includes('ready?');
  } catch {
    return false;
  } finally {
    await client.close();
  }
}
