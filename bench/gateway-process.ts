/**
 * Runs the gateway CLI as its own process (so it never shares an event loop with the load
 * generator) in front of one upstream, and stops it the way an operator would: SIGTERM, drain.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MARKER_VAR, cpuSeconds, spawnGroup } from './processes';

const CLI_JS = resolve(__dirname, '..', 'gateway', 'cli.js');

/** The name the gateway gives the upstream; its tools appear as `up__NAME`. */
export const UPSTREAM_NAME = 'up';

export interface GatewayProcess {
  /** The gateway's Streamable HTTP endpoint. */
  mcpUrl: string;
  pid: number;
  /** CPU seconds the gateway process has used so far (not counting the upstream it spawned). */
  cpuSeconds(): number;
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
  /** Write a V8 CPU profile of the gateway into this directory when it exits. */
  profileDir?: string;
  /** The gateway's log.calls (default: the gateway's own, true). */
  callLog?: boolean;
}

export async function startGatewayProcess(options: GatewayOptions): Promise<GatewayProcess> {
  const configFile = join(options.workDir, `${options.id}-gateway.json`);
  // The marker goes into the upstream's env too, so a stdio upstream the gateway spawns is found by the final sweep.
  const server = 'command' in options.upstream ? { ...options.upstream, env: { [MARKER_VAR]: options.marker } } : options.upstream;
  writeFileSync(configFile, JSON.stringify({ servers: { [UPSTREAM_NAME]: server }, ...(options.callLog === false ? { log: { calls: false } } : {}) }));
  const nodeFlags = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [];
  const proc = await spawnGroup(process.execPath, [...nodeFlags, CLI_JS, '--config', configFile, '--listen', '127.0.0.1:0'], {
    env: {},
    marker: options.marker,
    readyLine: /"msg":"gateway listening"/,
  });
  const { url } = JSON.parse(proc.readyLine) as { url: string };
  return {
    mcpUrl: `${url}/mcp`,
    pid: proc.pid,
    cpuSeconds: () => cpuSeconds(proc.pid),
    // A drain waits for in-flight calls (none by now); the profile is written as it exits.
    stop: () => proc.stop(15_000),
  };
}
