/**
 * The picking stage: a call goes to a ready backend that offers what it names, by weight (smooth
 * weighted round-robin, so 80/20 is exactly 80 and 20 in every 100 calls); a backend that is down
 * or lacks the tool is skipped, and a weight-0 backend serves only when nothing else can.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { parseBackendBody } from '../../admin/bodies';
import { memoryGateway, type MemoryGateway } from '../../../test/helpers/memory-gateway';
import { callText, whoamiServer } from '../../../test/helpers/memory-servers';
import { waitFor } from '../../../test/helpers/wait';

const WEIGHT_ZERO_WARNING = 'no backend with weight > 0 is ready; a weight-0 backend serves the request';

/** Calls `tool` n times; how many answers each backend gave. */
async function servedBy(client: Client, tool: string, n: number): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const who = await callText(client, tool);
    seen[who] = (seen[who] ?? 0) + 1;
  }
  return seen;
}

/**
 * Server `a` with backends `primary` and `canary`, each answering `whoami` with its id; only the
 * primary has the `only-primary` tool. While `down` holds a backend's id, its connection attempts fail.
 */
async function twoBackends(weights: { primary: number; canary: number }) {
  const down = new Set<string>();
  const gw = await memoryGateway(
    { a: { restart: { initialDelayMs: 20, maxDelayMs: 50 } } },
    {
      a: (backend) => {
        if (down.has(backend)) throw new Error(`${backend} is down`);
        const server = whoamiServer(backend, 'a');
        if (backend === 'primary') server.registerTool('only-primary', {}, async () => ({ content: [{ type: 'text', text: backend }] }));
        return server;
      },
    },
  );
  const registry = gw.core.registry;
  await registry.addBackend('a', parseBackendBody({ id: 'canary', weight: weights.canary, command: 'in-memory' }, registry.get('a').config));
  registry.setWeights('a', { primary: weights.primary });
  const backend = (id: string) => registry.groupFor(undefined, 'a')!.backend(id)!;
  /** Crashes a backend and keeps it down until `revive`. */
  const kill = async (id: string) => {
    down.add(id);
    await gw.upstreams.crash('a', id);
    await waitFor(() => !backend(id).ready, `${id} down`, 5_000, 5);
  };
  const revive = async (id: string) => {
    down.delete(id);
    await waitFor(() => backend(id).ready, `${id} back`, 5_000, 5);
  };
  return { gw, kill, revive };
}

describe('the picking stage', () => {
  let gw: MemoryGateway | undefined;

  afterEach(() => gw?.stop());

  it('splits calls exactly by weight, 80/20', async () => {
    const a = await twoBackends({ primary: 80, canary: 20 });
    gw = a.gw;
    const client = await gw.connect();
    expect(await servedBy(client, 'a__whoami', 100)).toEqual({ primary: 80, canary: 20 });
  });

  it('skips a backend that does not offer the tool', async () => {
    const a = await twoBackends({ primary: 50, canary: 50 });
    gw = a.gw;
    const client = await gw.connect();
    expect(await servedBy(client, 'a__only-primary', 10)).toEqual({ primary: 10 });
    expect(await servedBy(client, 'a__whoami', 10)).toEqual({ primary: 5, canary: 5 });
  });

  it('fails over to the backend left when one crashed, and shares again once it is back', async () => {
    const a = await twoBackends({ primary: 50, canary: 50 });
    gw = a.gw;
    const client = await gw.connect();
    await a.kill('primary');
    expect(await servedBy(client, 'a__whoami', 10)).toEqual({ canary: 10 });
    await a.revive('primary');
    expect(await servedBy(client, 'a__whoami', 10)).toEqual({ primary: 5, canary: 5 });
  });

  it('serves from a weight-0 backend only while no other can, warning once each time it falls back', async () => {
    const a = await twoBackends({ primary: 100, canary: 0 });
    gw = a.gw;
    const warnings = () => gw!.logs.filter((l) => l.msg === WEIGHT_ZERO_WARNING);
    const client = await gw.connect();
    expect(await servedBy(client, 'a__whoami', 10)).toEqual({ primary: 10 });
    await a.kill('primary');
    expect(await servedBy(client, 'a__whoami', 5)).toEqual({ canary: 5 });
    expect(warnings()).toEqual([expect.objectContaining({ level: 40, server: 'a', backend: 'canary' })]);
    await a.revive('primary');
    expect(await servedBy(client, 'a__whoami', 5)).toEqual({ primary: 5 });
    await a.kill('primary');
    expect(await servedBy(client, 'a__whoami', 5)).toEqual({ canary: 5 });
    expect(warnings()).toHaveLength(2);
  });
});
