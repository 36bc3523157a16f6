/**
 * The development override (docker-compose.dev.yml): the checkout is mounted, and
 * docker/dev-entrypoint.sh restarts a service's process when its files change. Changing the memory
 * server's code restarts the memory bridge only; the front gateway reconnects to it and the
 * client's session with the gateway stays open. The mounted checkout is a copy, so the test never
 * touches the real one.
 */
import { appendFileSync, chmodSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComposeProject, inspect, requireEngineAndImages, ROOT, sh } from './support/docker';
import { connectHttp, text, type HttpClient } from './support/mcp';
import { waitFor } from '../helpers/wait';

jest.setTimeout(180_000);

const SERVER_MEMORY = join('node_modules', '@modelcontextprotocol', 'server-memory');
const SERVER_FILESYSTEM = join('node_modules', '@modelcontextprotocol', 'server-filesystem');

/** A copy of what the dev override mounts, readable by the containers' uid. */
function copyCheckout(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-dev-'));
  for (const part of ['gateway', 'pipeline', 'workflows', 'activities'].map((d) => join('dist', d)).concat('docker', SERVER_MEMORY, SERVER_FILESYSTEM)) {
    cpSync(join(ROOT, part), join(dir, part), { recursive: true });
  }
  chmodSync(dir, 0o755);
  return dir;
}

/** stdout and stderr of a container (the services log to stderr). */
async function containerLogs(id: string): Promise<string> {
  const r = await sh('docker', ['logs', id]);
  return r.stdout + r.stderr;
}

describe('dev override hot reload', () => {
  const src = copyCheckout();
  const project = new ComposeProject(['docker-compose.yml', 'docker-compose.dev.yml'], { MCP_FLEET_SRC: src });
  let session: HttpClient;

  beforeAll(async () => {
    await requireEngineAndImages();
    await project.up();
    await project.waitHealthy();
    session = await connectHttp(await project.gatewayAddress());
  });

  afterAll(async () => {
    await session?.close();
    await project.down();
    expect(await project.leftovers()).toEqual([]);
    rmSync(src, { recursive: true, force: true });
  });

  it('restarts the changed server while the client keeps its session with the gateway', async () => {
    const created = await session.client.callTool({
      name: 'memory__create_entities',
      arguments: { entities: [{ name: 'hot', entityType: 'reload', observations: ['before the change'] }] },
    });
    expect(created.isError).toBeFalsy();
    const sessionId = session.transport.sessionId;
    const [gatewayId, memoryId] = [await project.container('gateway'), await project.container('memory')];
    const [gatewayStarted, memoryStarted] = [(await inspect(gatewayId)).State.StartedAt, (await inspect(memoryId)).State.StartedAt];

    appendFileSync(join(src, SERVER_MEMORY, 'dist', 'index.js'), '\n// changed by the hot-reload test\n');

    await waitFor(async () => (await containerLogs(memoryId)).includes('files changed under'), 'the memory bridge to notice the change', 30_000);
    await waitFor(
      async () => /dev-entrypoint: started \(pid \d+\)[^\n]*\n(.|\n)*files changed under(.|\n)*dev-entrypoint: started/.test(await containerLogs(memoryId)),
      'the memory bridge to start again',
      30_000,
    );

    const graph = await waitFor(async () => {
      const r = await session.client.callTool({ name: 'memory__read_graph', arguments: {} }).catch(() => undefined);
      return r && !r.isError && text(r).includes('before the change') ? r : undefined;
    }, 'memory__read_graph to answer after the restart');
    expect(text(graph)).toContain('"hot"');

    // the same client session, and neither container was restarted: only the bridge's process
    expect(session.transport.sessionId).toBe(sessionId);
    expect((await session.client.listTools()).tools.some((t) => t.name === 'filesystem__read_text_file')).toBe(true);
    expect((await inspect(gatewayId)).State.StartedAt).toBe(gatewayStarted);
    expect((await inspect(memoryId)).State.StartedAt).toBe(memoryStarted);
    expect(await containerLogs(gatewayId)).not.toContain('files changed under');
    expect(await containerLogs(await project.container('filesystem'))).not.toContain('files changed under');
  });

  it('logs at debug level', async () => {
    const gatewayLogs = await containerLogs(await project.container('gateway'));
    // the startup line names the level (debug lines themselves come only when something goes wrong)
    expect(gatewayLogs).toMatch(/"logLevel":"debug".*"msg":"gateway listening"/);
  });
});
