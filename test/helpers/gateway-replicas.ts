/**
 * Two gateway CLI processes (gateway-1, gateway-2: their REPLICA variable) sharing 2025 sessions
 * in a real Redis, behind a real load balancer (load-balancers.ts), for the tests of replicas.
 * A replica killed by a test is started again with `restart` (same name and port).
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { spawnGateway, type GatewayProcess } from './gateway-process';
import type { LoadBalancer } from './load-balancers';
import { ensureNginx } from './nginx';
import { freePort } from './ports';
import { ensureLoadBalancerTools, startRedis, type Redis } from './redis';

export interface Replica extends GatewayProcess {
  name: string;
  port: number;
}

export interface ReplicaSet {
  redis: Redis;
  /** Kept current: `restart` replaces the replica it starts again. */
  replicas: Replica[];
  lb: LoadBalancer;
  restart(replica: Replica): Promise<Replica>;
  /** Stops the balancer, the replicas and Redis. */
  stop(): Promise<void>;
}

/** `doc(redisUrl)` is each replica's config; its stdio servers should carry `marker`. */
export async function startReplicaSet(
  doc: (redisUrl: string) => unknown,
  marker: string,
  startBalancer: (ports: number[]) => Promise<LoadBalancer>,
): Promise<ReplicaSet> {
  ensureLoadBalancerTools();
  ensureNginx();
  const redis = await startRedis();
  const start = async (name: string, port: number): Promise<Replica> =>
    Object.assign(await spawnGateway(doc(redis.url), marker, { listen: `127.0.0.1:${port}`, env: { REPLICA: name } }), { name, port });
  const ports = [await freePort(), await freePort()];
  const replicas = [await start('gateway-1', ports[0]), await start('gateway-2', ports[1])];
  const lb = await startBalancer(ports);
  return {
    redis,
    replicas,
    lb,
    async restart(replica) {
      const again = await start(replica.name, replica.port);
      replicas[replicas.indexOf(replica)] = again;
      rmSync(replica.dir, { recursive: true, force: true });
      return again;
    },
    async stop() {
      await lb.stop();
      await Promise.all(replicas.map((r) => stopChild(r.child)));
      for (const r of replicas) rmSync(r.dir, { recursive: true, force: true });
      await redis.stop();
    },
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}
