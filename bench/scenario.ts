/**
 * One scenario: one upstream over one transport, measured direct and through the gateway in the
 * same run. Direct and gateway blocks alternate (ABBA…) so drift on a noisy machine hits both
 * paths alike. Direct HTTP clients share the upstream's endpoint; direct stdio clients each spawn
 * their own upstream process, since a stdio server serves one client. Gateway clients always come
 * over Streamable HTTP to a gateway that holds one shared session with the upstream.
 */
import { closeClients, connectClients, type Target } from './clients';
import type { Cleanup } from './cleanup';
import { UPSTREAM_NAME, startGatewayProcess, type GatewayProcess, type UpstreamEntry } from './gateway-process';
import { runBlock, warmUp, type Block, type BlockLimits } from './load';
import { summarize, type Summary } from './stats';
import { startHttpUpstream, type UpstreamSpec, type UpstreamTransport } from './upstreams';

export interface ScenarioSpec {
  id: string;
  upstream: UpstreamSpec;
  transport: UpstreamTransport;
  /** false: the gateway writes no `call` log line per forwarded request (log.calls). */
  callLog?: boolean;
}

export interface LevelPlan {
  clients: number;
  warmUp: BlockLimits;
  measure: BlockLimits;
}

export interface Plan {
  levels: LevelPlan[];
  /** Measured blocks per path and level; the paths alternate between blocks. */
  rounds: number;
}

export interface LevelResult {
  clients: number;
  direct: Summary;
  gateway: Summary;
  /** Gateway process CPU time per gateway call, in microseconds. */
  gatewayCpuUsPerCall: number;
  /** Gateway throughput as a fraction of direct, per round: the spread shows how noisy the run was. */
  roundRatios: number[];
}

export interface ScenarioResult {
  spec: ScenarioSpec;
  levels: LevelResult[];
}

export interface RunContext {
  cleanup: Cleanup;
  marker: string;
  /** A directory for this run's files (gateway configs), removed at the end. */
  workDir: string;
  profileDir?: string;
  progress(line: string): void;
}

export async function runScenario(spec: ScenarioSpec, plan: Plan, ctx: RunContext): Promise<ScenarioResult> {
  const { cleanup, marker } = ctx;
  let direct: Target;
  let upstreamEntry: UpstreamEntry;
  let stopUpstream = async () => {};
  if (spec.transport === 'http') {
    const upstream = await startHttpUpstream(spec.upstream, marker);
    stopUpstream = cleanup.add(`${spec.id} upstream`, () => upstream.process.stop());
    direct = { kind: 'http', url: upstream.url };
    upstreamEntry = { url: upstream.url, transport: 'streamable-http' };
  } else {
    const args = spec.upstream.args('stdio');
    direct = { kind: 'stdio', command: spec.upstream.command, args, marker };
    upstreamEntry = { command: spec.upstream.command, args };
  }
  const gateway = await startGatewayProcess({ id: spec.id, upstream: upstreamEntry, marker, workDir: ctx.workDir, profileDir: ctx.profileDir, callLog: spec.callLog });
  const stopGateway = cleanup.add(`${spec.id} gateway`, () => gateway.stop());
  const viaGateway: Target = { kind: 'http', url: gateway.mcpUrl };

  const levels: LevelResult[] = [];
  for (const level of plan.levels) {
    ctx.progress(`${spec.id}: ${level.clients} client(s)`);
    levels.push(await measureLevel(spec, level, plan.rounds, { direct, viaGateway, gateway }, cleanup));
  }
  await stopGateway();
  await stopUpstream();
  return { spec, levels };
}

interface Paths {
  direct: Target;
  viaGateway: Target;
  gateway: GatewayProcess;
}

/** Connects `level.clients` clients to each path, warms both up, and measures them in alternating blocks. */
async function measureLevel(spec: ScenarioSpec, level: LevelPlan, rounds: number, paths: Paths, cleanup: Cleanup): Promise<LevelResult> {
  const directClients = await connectClients(level.clients, paths.direct, 'echo');
  const closeDirect = cleanup.add(`${spec.id} direct clients`, () => closeClients(directClients));
  const gatewayClients = await connectClients(level.clients, paths.viaGateway, `${UPSTREAM_NAME}__echo`);
  const closeGateway = cleanup.add(`${spec.id} gateway clients`, () => closeClients(gatewayClients));

  await warmUp(directClients, level.warmUp);
  await warmUp(gatewayClients, level.warmUp);
  const directBlocks: Block[] = [];
  const gatewayBlocks: Block[] = [];
  let gatewayCpu = 0;
  const measureGateway = async () => {
    const before = paths.gateway.cpuSeconds();
    gatewayBlocks.push(await runBlock(gatewayClients, level.measure));
    gatewayCpu += paths.gateway.cpuSeconds() - before;
  };
  const measureDirect = async () => void directBlocks.push(await runBlock(directClients, level.measure));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [measureDirect, measureGateway] : [measureGateway, measureDirect];
    for (const measure of order) await measure();
  }
  await closeGateway();
  await closeDirect();

  const gateway = summarize(gatewayBlocks);
  return {
    clients: level.clients,
    direct: summarize(directBlocks),
    gateway,
    gatewayCpuUsPerCall: (gatewayCpu * 1e6) / gateway.calls,
    roundRatios: directBlocks.map((d, i) => throughput(gatewayBlocks[i]) / throughput(d)),
  };
}

function throughput(block: Block): number {
  return block.latenciesMs.length / block.wallMs;
}
