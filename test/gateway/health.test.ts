/** The health probes answer what an orchestrator needs: alive, started, and ready only with every required shared server up (health-checks.test.ts: required, health). */
import { newMarker, startTestGateway } from '../helpers/gateway';
import { scripted } from '../helpers/scripted';
import { waitForNoProcesses } from '../helpers/processes';
import { MARKER_VAR } from '../helpers/servers';
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
      const up = {
        state: 'up',
        required: true,
        backends: { primary: { state: 'ready', health: expect.objectContaining({ state: 'healthy', consecutiveFailures: 0 }) } },
      };
      expect(await get('/health/readiness')).toEqual({ status: 200, body: { status: 'ready', servers: { a: up, b: up } } });

      // take server a down: readiness names it until it is back
      // the server dies before it answers: the gateway fails the request as its upstream went away
      await expect(
        gw.registry.sharedGroups()[0].lead!.connection!.request('tools/call', { name: 'crash', arguments: {} }, { timeoutMs: 5000 }).response,
      ).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
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

  it('is not ready while a server has not answered initialize yet (a process that started is not a connection)', async () => {
    const marker = newMarker();
    // a stdio server that never answers: its process runs, its initialize stays pending
    const silent = { command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], env: { [MARKER_VAR]: marker }, requestTimeoutMs: 60_000 };
    const gw = await startTestGateway({ startup: { waitForServersMs: 100 }, servers: { silent } }, marker);
    try {
      const res = await fetch(`${gw.url}/health/readiness`);
      expect({ status: res.status, body: await res.json() }).toEqual({
        status: 503,
        body: {
          status: 'degraded',
          servers: {
            silent: {
              state: 'connecting',
              required: true,
              backends: {
                primary: { state: 'connecting', health: { state: 'down', reason: 'not connected yet', consecutiveFailures: 0, consecutiveSuccesses: 0 } },
              },
            },
          },
        },
      });
    } finally {
      await gw.stop();
    }
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });
});
