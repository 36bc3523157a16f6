/**
 * high-availability: kill the replica that serves a replicated service and measure how long until
 * calls to that service through the gateway succeed again, in the same client session.
 */
import type Docker from 'dockerode';
import type { StepInput, StepResult } from '../pipeline/types';
import { AdminApi } from './admin';
import { docker, execText, projectContainers, stackOf } from './engine';
import { connect, needsNoArguments } from './gateway';
import { failure, heartbeat, pause } from './runtime';

/**
 * params.service (default filesystem, which the prod override runs twice), params.tool (default
 * the service's first tool without required arguments), params.timeoutSec (default 60). Fails when
 * the service has fewer than two running replicas, or the calls do not recover in time.
 */
export async function killReplicaAndMeasureRecovery(input: StepInput): Promise<StepResult> {
  const { project } = stackOf(input);
  const service = String(input.params.service ?? 'filesystem');
  const timeoutMs = Number(input.params.timeoutSec ?? 60) * 1000;
  const engine = await docker();
  const replicas = (await projectContainers(project, service)).filter((c) => c.State === 'running');
  if (replicas.length < 2) {
    return {
      outcome: 'failed',
      summary: `${service} in ${project} has ${replicas.length} running replica(s); killing one needs at least 2 (deploy with the prod override: params.override 'prod')`,
      details: { project, service, replicas: replicas.length },
    };
  }
  const api = await AdminApi.of(input);
  const session = await connect(api.base, 'streamable-http', 'mcp-fleet-failover');
  try {
    const exposed = new Set((await api.server(service)).tools);
    const { tools } = await session.client.listTools();
    const tool = String(input.params.tool ?? tools.find((t) => exposed.has(t.name) && needsNoArguments(t))?.name ?? '');
    if (!tool) throw failure('BAD_INPUT', `the gateway offers no tool of ${service} without required arguments; pass params.tool`);
    const call = () => session.client.callTool({ name: tool, arguments: {} }, undefined, { timeout: 5_000 });
    const before = await call();
    if (before.isError) return { outcome: 'failed', summary: `${tool} fails before any replica is killed; fix the stack first`, details: { tool } };

    const { victim, how } = await servingReplica(replicas);
    const killedAt = Date.now();
    await engine.getContainer(victim.Id).kill({ signal: 'SIGKILL' });
    let attempts = 0;
    for (;;) {
      attempts += 1;
      heartbeat(`waiting for ${tool} to answer after killing ${victim.Names[0]} (attempt ${attempts})`);
      const r = await call().catch((err: Error) => ({ isError: true, error: err.message }));
      if (!r.isError) break;
      if (Date.now() - killedAt > timeoutMs) {
        return {
          outcome: 'failed',
          summary: `${tool} did not answer within ${timeoutMs / 1000} s of killing ${victim.Names[0]}; check the gateway's reconnect settings and the other replicas`,
          details: { project, service, killed: victim.Names[0], attempts },
        };
      }
      await pause(200, 'waiting for recovery');
    }
    const recoveryMs = Date.now() - killedAt;
    return {
      outcome: 'passed',
      summary: `killed ${victim.Names[0].replace(/^\//, '')} (1 of ${replicas.length} ${service} replicas); ${tool} answered again after ${recoveryMs} ms`,
      details: { project, service, tool, killed: victim.Names[0].replace(/^\//, ''), chosenBy: how, replicas: replicas.length, recoveryMs, attempts },
    };
  } finally {
    await session.close();
  }
}

/** The replica with an established connection on its MCP port (8080 = 1F90 in /proc/net/tcp); else the first. */
async function servingReplica(replicas: Docker.ContainerInfo[]): Promise<{ victim: Docker.ContainerInfo; how: string }> {
  for (const replica of replicas) {
    const table = await execText(replica.Id, ['cat', '/proc/net/tcp', '/proc/net/tcp6']).catch(() => '');
    const established = table.split('\n').some((line) => {
      const cols = line.trim().split(/\s+/);
      return cols[1]?.endsWith(':1F90') && cols[3] === '01';
    });
    if (established) return { victim: replica, how: 'established connection on port 8080' };
  }
  return { victim: replicas[0], how: 'first replica (no established connection seen)' };
}
