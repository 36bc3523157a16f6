/**
 * Balancing by health through the in-memory gateway: a degraded backend gets no request while a
 * healthy one can take it, serves when no healthy one is left, and a down backend gets nothing.
 */
import { PingRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { memoryGateway, type MemoryGateway } from '../../test/helpers/memory-gateway';
import { callText, whoamiServer } from '../../test/helpers/memory-servers';
import { waitFor } from '../../test/helpers/wait';

describe('balancing by health', () => {
  let gw: MemoryGateway | undefined;

  afterEach(() => gw?.stop());

  it('sends nothing to a degraded backend while a healthy one serves, and sends to it when it is the last one up', async () => {
    let greenUp = true;
    gw = await memoryGateway(
      // pings of primary are never answered: degraded at the first, never down (its threshold is out of reach)
      { s: { restart: { initialDelayMs: 20, maxDelayMs: 50 }, healthCheck: { intervalMs: 20, timeoutMs: 50, unhealthyThreshold: 1_000_000 } } },
      {
        's/primary': () => {
          const server = whoamiServer('primary', 's');
          server.server.setRequestHandler(
            PingRequestSchema,
            (_r, extra) => new Promise((_resolve, reject) => extra.signal.addEventListener('abort', () => reject(new Error('cancelled')))),
          );
          return server;
        },
        's/green': () => {
          if (!greenUp) throw new Error('green cannot start');
          return whoamiServer('green', 's');
        },
      },
    );
    const registry = gw.core.registry;
    await registry.addBackend('s', { id: 'green', weight: 100, config: registry.get('s').config });
    const group = registry.groupFor(undefined, 's')!;
    await waitFor(() => group.backend('primary')!.healthState === 'degraded' && group.backend('green')!.ready, 'primary degraded, green ready', 5_000, 5);
    const client = await gw.connect();
    const served: string[] = [];
    for (let i = 0; i < 10; i++) served.push(await callText(client, 's__whoami'));
    expect(served).toEqual(Array(10).fill('green'));

    // green goes away for good: the degraded backend is better than none
    greenUp = false;
    await gw.upstreams.crash('s', 'green');
    await waitFor(() => group.backend('green')!.healthState === 'down', 'green down', 5_000, 5);
    expect(await callText(client, 's__whoami')).toBe('primary');
  });
});
