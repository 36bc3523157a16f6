/** The health probes answer what an orchestrator needs: alive, started, and ready only with every shared server up. */
import { newMarker, startTestGateway } from '../helpers/gateway';
import { scripted } from '../helpers/scripted';
import { waitForNoProcesses } from '../helpers/processes';
import { waitFor } from '../helpers/wait';

describe('health probes', () => {
  it('reports liveness, startup, and readiness per server (503 while one is down, 200 when all are up)', async () => {
    const marker = newMarker();
    const gw = await startTestGateway({ servers: { a: scripted(marker, ['--tools', 'echo,crash']), b: scripted(marker, ['--tools', 'echo']) } }, marker);
    try {
      const get = async (path: string) => {
        const res = await fetch(`${gw.url}${path}`, { headers: { origin: 'http://evil.example' } }); // probes ignore Origin
        return { status: res.status, body: (await res.json()) as any };
      };
      expect(await get('/health/liveness')).toEqual({ status: 200, body: { status: 'ok' } });
      expect(await get('/health/startup')).toEqual({ status: 200, body: { status: 'started' } });
      expect(await get('/health/readiness')).toEqual({ status: 200, body: { status: 'ready', servers: { a: { state: 'up' }, b: { state: 'up' } } } });

      // take server a down: readiness names it until it is back
      await gw.fleet.sharedLinks[0].connection!.request('tools/call', { name: 'crash', arguments: {} }, { timeoutMs: 5000 }).response;
      const degraded = await waitFor(async () => {
        const r = await get('/health/readiness');
        return r.status === 503 ? r : undefined;
      }, 'readiness to drop');
      expect(degraded.body).toMatchObject({ status: 'degraded', servers: { a: { state: expect.stringMatching(/backoff|connecting/) }, b: { state: 'up' } } });
      await waitFor(async () => (await get('/health/readiness')).status === 200, 'readiness to return');
    } finally {
      await gw.stop();
    }
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });
});
