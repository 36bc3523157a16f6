/**
 * Hot reload of the config file, with a real gateway process and real stdio MCP servers: a file
 * changed on disk (written to a temporary file and renamed over, as editors do), SIGHUP and
 * POST /admin/reload. A new server's tools reach SDK clients with list_changed; a removed server
 * finishes the call in flight on it, refuses new ones saying why, and its process ends; an
 * unchanged server keeps its process; an invalid file is refused naming file and field while the
 * old config serves on, and the metrics count it; a policy change holds from the next call.
 */
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  ElicitRequestSchema,
  ToolListChangedNotificationSchema,
  type ClientCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import { connectGateway, type GatewayConnection } from '../../gateway/client/connect';
import { ADMIN_TOKEN, TEST_REGISTER, admin as adminCall } from '../helpers/admin';
import { newMarker } from '../helpers/gateway';
import { spawnGateway, stopGatewayProcess, writeGatewayConfig, type GatewayProcess } from '../helpers/gateway-process';
import { parseMetrics, sampleValue } from '../helpers/metrics';
import { processesWithMarker, waitForNoProcesses } from '../helpers/processes';
import { startEverythingHttp } from '../helpers/remote-servers';
import { INITIALIZE_BODY, postRaw } from '../helpers/raw-http';
import { scripted, sleeping } from '../helpers/scripted';
import { everything } from '../helpers/servers';
import { testSecret } from '../helpers/secret-values';
import { waitFor } from '../helpers/wait';

/** A scripted server with a marker of its own, so that its process can be found by itself. */
function server(marker: string, name: string, tools = 'echo,sleep') {
  return scripted(`${marker}-${name}`, ['--tools', tools, '--name', name]);
}

/** The pids of one server's process (by its own marker). */
function pidsOf(marker: string, name: string): number[] {
  return processesWithMarker(`${marker}-${name}`);
}

/** Writes the new config the way editors do: a temporary file renamed over the old one. */
async function metric(gw: GatewayProcess, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const res = await fetch(`${gw.url}/metrics`);
  return sampleValue(parseMetrics(await res.text()), name, labels);
}

function postReload(gw: GatewayProcess, token: string = ADMIN_TOKEN): Promise<{ status: number; body: any }> {
  return fetch(`${gw.url}/admin/reload`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }).then(async (r) => ({
    status: r.status,
    body: await r.json(),
  }));
}

const KEY_1 = testSecret('reload-key-one-0123456789abcdefghijklmnop', 'API key 1 of hot-reload.test.ts');
const KEY_2 = testSecret('reload-key-two-0123456789abcdefghijklmnop', 'API key 2 of hot-reload.test.ts');

const texts = (result: unknown) => ((result as { content: { text: string }[] }).content ?? []).map((c) => c.text);

describe('hot reload of the config file', () => {
  let gw: GatewayProcess | undefined;
  let connection: GatewayConnection | undefined;
  let marker: string;

  /** A gateway on `doc`, and an SDK client that counts tools/list_changed (connected after `beforeConnect`). */
  async function start(
    doc: Record<string, unknown>,
    more: { capabilities?: ClientCapabilities; setup?: (c: Client) => void; beforeConnect?: () => Promise<void> } = {},
  ): Promise<{ client: Client; listChanged: () => number }> {
    gw = await spawnGateway(doc, marker);
    await more.beforeConnect?.();
    let changes = 0;
    connection = await connectGateway(gw.url, 'streamable-http', {
      name: 'reload-test',
      version: '1.0.0',
      capabilities: more.capabilities,
      setup: (c) => {
        c.setNotificationHandler(ToolListChangedNotificationSchema, () => void changes++);
        more.setup?.(c);
      },
    });
    return { client: connection.client, listChanged: () => changes };
  }

  beforeEach(() => {
    marker = newMarker();
  });

  /** Answers the question of the task of startQuestioningTask (declined), once. */
  let releaseQuestion: (() => void) | undefined;

  /**
   * A gateway on `doc` and a task of server-everything's simulate-research-query on `server` that
   * asks its client a question the client answers only when releaseQuestion() is called (so the
   * task lives as long as the test wants), with a tasks/result waiting on it: its result, or the
   * error it ended with. `prepare` runs before the client connects.
   */
  async function startQuestioningTask(doc: Record<string, unknown>, server: string, prepare: () => Promise<void> = async () => {}) {
    let asked!: () => void;
    const question = new Promise<void>((r) => (asked = r));
    const answer = new Promise<{ action: 'decline' }>((r) => (releaseQuestion = () => r({ action: 'decline' })));
    const { client } = await start(doc, {
      capabilities: { elicitation: {} },
      setup: (c) =>
        c.setRequestHandler(ElicitRequestSchema, () => {
          asked();
          return answer;
        }),
      beforeConnect: prepare,
    });
    const created = await client.request(
      { method: 'tools/call', params: { name: `${server}__simulate-research-query`, arguments: { topic: 'tides', ambiguous: true }, task: { ttl: 600_000 } } },
      CreateTaskResultSchema,
    );
    const { taskId } = created.task;
    await waitFor(async () => (await client.experimental.tasks.getTask(taskId)).status === 'input_required', 'the task to ask its question');
    const result = client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema, { timeout: 600_000 }).then(
      (r) => r,
      (err: Error & { code?: number }) => ({ code: err.code, message: err.message }),
    );
    await question;
    return { client, taskId, result };
  }

  /** Server a gets backend e (server-everything, added through the admin API) and all the traffic: its tools are a's. */
  async function withEverythingBackend(): Promise<void> {
    const body = { id: 'e', weight: 100, ...everything(`${marker}-e`) };
    expect(await adminCall(gw!, 'POST', '/admin/servers/a/backends', { body })).toMatchObject({ status: 201 });
    expect((await adminCall(gw!, 'PUT', '/admin/servers/a/weights', { body: { primary: 0 } })).status).toBe(200);
  }

  /** The task ended with its upstream: the waiting tasks/result and every later poll get -32602 saying `why`; the gateway holds no task. */
  async function expectEnded(client: Client, taskId: string, result: Promise<unknown>, why: string): Promise<void> {
    const ended = { code: -32602, message: expect.stringContaining(why) };
    expect(await result).toMatchObject(ended);
    expect(await metric(gw!, 'mcp_gateway_tasks', {})).toBe(0);
    await expect(client.experimental.tasks.getTask(taskId)).rejects.toMatchObject(ended);
    await expect(client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema)).rejects.toMatchObject(ended);
    await expect(client.experimental.tasks.cancelTask(taskId)).rejects.toMatchObject(ended);
    expect((await client.experimental.tasks.listTasks()).tasks).toEqual([]);
  }

  afterEach(async () => {
    releaseQuestion?.();
    releaseQuestion = undefined;
    await connection?.close();
    connection = undefined;
    if (gw) await stopGatewayProcess(gw);
    gw = undefined;
    for (const name of ['', '-a', '-b', '-c', '-e', '-h', '-s']) expect(await waitForNoProcesses(`${marker}${name}`)).toEqual([]);
  });

  it('applies a file written on disk: a new server is started and listed (list_changed), the unchanged one keeps its process', async () => {
    const doc = { servers: { a: server(marker, 'a') } };
    const { client, listChanged } = await start(doc);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['a__echo', 'a__sleep']);
    const pidA = pidsOf(marker, 'a');
    expect(pidA).toHaveLength(1);

    writeGatewayConfig(gw!, { servers: { a: server(marker, 'a'), b: server(marker, 'b', 'echo') } });
    await waitFor(() => listChanged() > 0, 'tools/list_changed after the reload');
    const names = await waitFor(async () => {
      const tools = (await client.listTools()).tools.map((t) => t.name);
      return tools.includes('b__echo') ? tools : undefined;
    }, "b's tools in tools/list");
    expect(names).toEqual(['a__echo', 'a__sleep', 'b__echo']);
    expect(texts(await client.callTool({ name: 'b__echo', arguments: {} }))[0]).toBe('b:echo');
    expect(pidsOf(marker, 'a')).toEqual(pidA);
    expect(pidsOf(marker, 'b')).toHaveLength(1);
    const reloaded = await gw!.waitForLog((l) => l.msg === 'config reloaded', 'the reload');
    expect(reloaded).toMatchObject({ trigger: 'file changed', servers: { added: ['b'], removed: [], changed: [], unchanged: ['a'] } });
    expect(await metric(gw!, 'mcp_gateway_config_reloads_total', { result: 'applied' })).toBe(1);
    expect(await metric(gw!, 'mcp_gateway_config_last_reload_timestamp_seconds', { result: 'applied' })).toBeGreaterThan(0);
  });

  it('POST /admin/reload: a removed server finishes the call in flight, refuses new ones saying why, then its process ends; unchanged ones stay', async () => {
    const admin = { token: ADMIN_TOKEN };
    const doc = { admin, reload: { watch: false }, servers: { a: server(marker, 'a'), s: server(marker, 's') } };
    const { client, listChanged } = await start(doc);
    const pidA = pidsOf(marker, 'a');
    const pidS = pidsOf(marker, 's');
    expect(pidS).toHaveLength(1);
    let slowDone = false;
    // long enough for the reload and the refused call to happen while it runs (checked below, not assumed)
    const slow = client.callTool({ name: 's__sleep', arguments: { ms: 5000 } }).finally(() => (slowDone = true));
    await gw!.waitForLog(sleeping('s'), 'the slow call to run upstream');

    writeGatewayConfig(gw!, { admin, reload: { watch: false }, http: { maxBodyBytes: 1024 * 1024 }, servers: { a: server(marker, 'a') } });
    const reply = await postReload(gw!);
    expect(reply).toMatchObject({
      status: 200,
      body: { result: 'applied', servers: { added: [], removed: ['s'], changed: [], unchanged: ['a'] }, needsRestart: ['http.maxBodyBytes'] },
    });
    // the file's listener settings were not applied: they are reported instead
    expect(await gw!.waitForLog((l) => l.msg?.includes('take effect only after a restart'), 'the settings left for a restart')).toMatchObject({
      needsRestart: ['http.maxBodyBytes'],
    });
    await waitFor(() => listChanged() > 0, 'tools/list_changed after the removal');
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['a__echo', 'a__sleep']);
    const refused = await client.callTool({ name: 's__sleep', arguments: { ms: 1 } }).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(slowDone).toBe(false); // the refusal came while the slow call was still running
    expect(refused?.message).toContain('server "s" is being removed');

    expect(texts(await slow)).toEqual(['slept 5000']);
    expect(await waitForNoProcesses(`${marker}-s`)).toEqual([]);
    expect(pidsOf(marker, 'a')).toEqual(pidA);
    expect(await gw!.waitForLog((l) => l.msg === 'server draining', 'the drain of s')).toMatchObject({ server: 's', inFlight: 1 });
    await gw!.waitForLog((l) => l.msg === 'server removed' && l.server === 's', 'the removal of s');
  });

  it('refuses an invalid file naming the file and the field: the old config serves on, and the refusals are counted', async () => {
    const admin = { token: ADMIN_TOKEN };
    const { client } = await start({ admin, servers: { a: server(marker, 'a') } });
    const pidA = pidsOf(marker, 'a');
    const file = join(gw!.dir, 'gw.json');

    writeGatewayConfig(gw!, { admin, servers: { a: { ...server(marker, 'a'), args: 'not-a-list' }, b: server(marker, 'b') } });
    const logged = await gw!.waitForLog((l) => String(l.msg).startsWith('config reload refused'), 'the watched change refused');
    expect(logged).toMatchObject({ trigger: 'file changed', file, problems: [expect.stringMatching(/^servers\.a\.args: /)] });
    expect(await metric(gw!, 'mcp_gateway_config_reloads_total', { result: 'refused' })).toBe(1);

    const reply = await postReload(gw!);
    expect(reply.status).toBe(422);
    expect(reply.body).toMatchObject({ result: 'refused', file, problems: [expect.stringMatching(/^servers\.a\.args: /)] });
    expect(reply.body.error).toContain(`invalid config ${file}`);
    expect(await metric(gw!, 'mcp_gateway_config_reloads_total', { result: 'refused' })).toBe(2);
    expect(await metric(gw!, 'mcp_gateway_config_reloads_total', { result: 'applied' })).toBe(0);

    // nothing of the refused file was applied: no b, a untouched and serving
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['a__echo', 'a__sleep']);
    expect(texts(await client.callTool({ name: 'a__echo', arguments: {} }))[0]).toBe('a:echo');
    expect(pidsOf(marker, 'a')).toEqual(pidA);
    expect(pidsOf(marker, 'b')).toEqual([]);
    // the admin token guards it like the rest of /admin
    expect((await postReload(gw!, 'x'.repeat(40))).status).toBe(401);
  });

  it('refuses a file whose new server has the name of one registered at run time, applying none of it', async () => {
    const admin = { token: ADMIN_TOKEN, register: TEST_REGISTER };
    const doc = { admin, reload: { watch: false }, servers: { a: server(marker, 'a') } };
    const { client } = await start(doc);
    const registered = await fetch(`${gw!.url}/admin/servers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'c', ...server(marker, 'c', 'echo') }),
    });
    expect(registered.status).toBe(201);
    writeGatewayConfig(gw!, { ...doc, policy: { rules: [{ effect: 'deny', tools: ['echo'] }] }, servers: { a: server(marker, 'a'), c: server(marker, 'c') } });
    const reply = await postReload(gw!);
    expect(reply).toMatchObject({
      status: 422,
      body: { result: 'refused', problems: [expect.stringMatching(/^servers\.c: a server named "c" was registered at run time/)] },
    });
    // neither the server nor the policy of the refused file: c is the registered one, echo still allowed
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['a__echo', 'a__sleep', 'c__echo']);
    expect(texts(await client.callTool({ name: 'a__echo', arguments: {} }))[0]).toBe('a:echo');
    expect(pidsOf(marker, 'c')).toHaveLength(1);
  });

  it('SIGHUP: a policy change holds from the next call, and the lists follow', async () => {
    const doc = { reload: { watch: false }, servers: { a: server(marker, 'a') } };
    const { client, listChanged } = await start(doc);
    const pidA = pidsOf(marker, 'a');
    expect(texts(await client.callTool({ name: 'a__echo', arguments: {} }))[0]).toBe('a:echo');

    const rule = { name: 'no-echo', effect: 'deny', servers: ['a'], tools: ['echo'] };
    writeGatewayConfig(gw!, { ...doc, policy: { default: 'allow', rules: [rule] } });
    gw!.child.kill('SIGHUP');
    const reloaded = await gw!.waitForLog((l) => l.msg === 'config reloaded', 'the SIGHUP reload');
    expect(reloaded).toMatchObject({ trigger: 'SIGHUP', swapped: ['policy'], servers: { unchanged: ['a'] } });
    await waitFor(() => listChanged() > 0, 'tools/list_changed after the policy change');
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['a__sleep']);
    const refused = await client.callTool({ name: 'a__echo', arguments: {} }).then(
      (r) => r,
      (err: Error) => err,
    );
    expect(String((refused as Error).message)).toContain('policy rule "no-echo"');
    expect(pidsOf(marker, 'a')).toEqual(pidA);
  });

  it("SIGHUP: the config's API keys and the rate-limit rules are swapped for the next request", async () => {
    const doc = (keys: Record<string, string>, rateLimits: unknown = { rules: [] }) => ({
      auth: { apiKeys: { keys: Object.entries(keys).map(([name, key]) => ({ name, key })) } },
      rateLimits,
      reload: { watch: false },
      servers: { a: server(marker, 'a') },
    });
    gw = await spawnGateway(doc({ one: KEY_1 }), marker);
    const mcp = `${gw.url}/mcp`;
    expect((await postRaw(mcp, INITIALIZE_BODY, { authorization: `Bearer ${KEY_1}` })).status).toBe(200);
    expect((await postRaw(mcp, INITIALIZE_BODY, { authorization: `Bearer ${KEY_2}` })).status).toBe(401);

    writeGatewayConfig(gw, doc({ two: KEY_2 }, { rules: [{ name: 'once', servers: ['a'], tools: ['echo'], requestsPerSecond: 0.001, burst: 1 }] }));
    gw.child.kill('SIGHUP');
    const reloaded = await gw.waitForLog((l) => l.msg === 'config reloaded', 'the SIGHUP reload');
    expect(reloaded).toMatchObject({ swapped: ['auth.apiKeys.keys', 'rateLimits'], needsRestart: [], servers: { unchanged: ['a'] } });
    expect((await postRaw(mcp, INITIALIZE_BODY, { authorization: `Bearer ${KEY_1}` })).status).toBe(401);
    connection = await connectGateway(gw.url, 'streamable-http', { name: 'reload-test', version: '1.0.0', headers: { authorization: `Bearer ${KEY_2}` } });
    expect(texts(await connection.client.callTool({ name: 'a__echo', arguments: {} }))[0]).toBe('a:echo');
    const limited = await connection.client.callTool({ name: 'a__echo', arguments: {} }).then(
      () => undefined,
      (err: Error) => err,
    );
    // 429 with the JSON-RPC error in the body, as the SDK reports it
    expect(limited?.message).toContain('"limit":"once","fleetCode":"RATE_LIMITED"');
  });

  it('keeps the backends added at run time to a changed server, re-made under its new settings; a removal drops them', async () => {
    const admin = { token: ADMIN_TOKEN, register: TEST_REGISTER };
    const doc = (a: Record<string, unknown>) => ({ admin, reload: { watch: false }, servers: { a, c: server(marker, 'c', 'echo') } });
    const { client } = await start(doc(server(marker, 'a')));
    const { command, args, env } = server(marker, 'b');
    expect(await adminCall(gw!, 'POST', '/admin/servers/a/backends', { body: { id: 'b', weight: 100, command, args, env } })).toMatchObject({ status: 201 });
    expect((await adminCall(gw!, 'PUT', '/admin/servers/a/weights', { body: { primary: 0 } })).status).toBe(200);
    expect(texts(await client.callTool({ name: 'a__echo', arguments: {} }))[0]).toBe('b:echo');
    const pidB = pidsOf(marker, 'b');
    expect(pidB).toHaveLength(1);

    // a new request timeout: a changed server, replaced by a new plan that keeps backend b and the weights
    writeGatewayConfig(gw!, doc({ ...server(marker, 'a'), requestTimeoutMs: 45_000 }));
    expect(await postReload(gw!)).toMatchObject({ status: 200, body: { result: 'applied', servers: { changed: ['a'], unchanged: ['c'] } } });
    const { body } = await adminCall(gw!, 'GET', '/admin/servers');
    const a = body.servers.find((s: { name: string }) => s.name === 'a');
    expect(a.backends.map((b: { id: string; weight: number }) => [b.id, b.weight])).toEqual([
      ['primary', 0],
      ['b', 100],
    ]);
    expect(texts(await client.callTool({ name: 'a__echo', arguments: {} }))[0]).toBe('b:echo');
    // b runs anew under the new settings: the old plan's process stops, the new one's serves
    await waitFor(() => {
      const pids = pidsOf(marker, 'b');
      return pids.length === 1 && pids[0] !== pidB[0];
    }, "the old plan's b to stop");

    // removing the server removes what was added to it
    writeGatewayConfig(gw!, { admin, reload: { watch: false }, servers: { c: server(marker, 'c', 'echo') } });
    expect(await postReload(gw!)).toMatchObject({ status: 200, body: { result: 'applied', servers: { removed: ['a'] } } });
    expect(await waitForNoProcesses(`${marker}-b`)).toEqual([]);
    expect((await adminCall(gw!, 'GET', '/admin/servers')).body.servers.map((s: { name: string }) => s.name)).toEqual(['c']);
  });

  it('refuses a change of a server that a backend added at run time cannot follow, naming server, backend and field', async () => {
    const admin = { token: ADMIN_TOKEN, register: TEST_REGISTER };
    const doc = (mode: string) => ({ admin, reload: { watch: false }, servers: { a: { ...server(marker, 'a'), mode } } });
    const remote = await startEverythingHttp('streamableHttp', `${marker}-h`);
    try {
      const { client } = await start(doc('shared'));
      // a session pool of its own: only a shared server can have one
      const added = await adminCall(gw!, 'POST', '/admin/servers/a/backends', { body: { id: 'h', weight: 0, url: remote.url, pool: { max: 2 } } });
      expect(added).toMatchObject({ status: 201 });

      writeGatewayConfig(gw!, doc('per-session'));
      const reply = await postReload(gw!);
      expect(reply).toMatchObject({ status: 422, body: { result: 'refused' } });
      expect(reply.body.problems).toEqual([
        expect.stringMatching(
          /^servers\.a: backend "h", added at run time \(admin API\), does not fit the new settings: pool: a session pool is for shared servers/,
        ),
      ]);
      expect(reply.body.problems[0]).toContain('DELETE /admin/servers/a/backends/h');
      // nothing changed: a is still shared, with both backends
      const { body } = await adminCall(gw!, 'GET', '/admin/servers');
      expect(body.servers.find((s: { name: string }) => s.name === 'a')).toMatchObject({ mode: 'shared', backends: [{ id: 'primary' }, { id: 'h' }] });
      expect(texts(await client.callTool({ name: 'a__echo', arguments: {} }))[0]).toBe('a:echo');
    } finally {
      await remote.stop();
    }
  });

  it('ends the tasks of a removed server: a waiting tasks/result and later polls get an error naming it, and the gateway holds none', async () => {
    const admin = { token: ADMIN_TOKEN };
    const doc = (servers: Record<string, unknown>) => ({ admin, reload: { watch: false }, servers });
    const { client, taskId, result } = await startQuestioningTask(doc({ a: server(marker, 'a'), e: everything(`${marker}-e`) }), 'e');
    expect(await metric(gw!, 'mcp_gateway_tasks', {})).toBe(1);

    writeGatewayConfig(gw!, doc({ a: server(marker, 'a') }));
    expect(await postReload(gw!)).toMatchObject({ status: 200, body: { result: 'applied', servers: { removed: ['e'] } } });
    await expectEnded(client, taskId, result, 'server "e", which ran it, was removed');
    expect(await waitForNoProcesses(`${marker}-e`)).toEqual([]);
  });

  it.each(['shared', 'per-session'])(
    'keeps a task of a changed %s server working when the reload keeps the backend that runs it: its connection and process stay',
    async (mode) => {
      const admin = { token: ADMIN_TOKEN, register: TEST_REGISTER };
      const doc = (a: Record<string, unknown>) => ({ admin, reload: { watch: false }, servers: { a: { ...a, mode } } });
      // a per-session client binds to e by the weights, and holds the only e process
      const { client, taskId, result } = await startQuestioningTask(doc(server(marker, 'a')), 'a', withEverythingBackend);
      const pidE = await waitFor(() => {
        const pids = pidsOf(marker, 'e');
        return pids.length === 1 ? pids : undefined;
      }, 'one process of e');
      const pidA = pidsOf(marker, 'a');

      // only the primary's own command line changes: backend e, remade under the new settings, is what it was
      writeGatewayConfig(gw!, doc({ ...server(marker, 'a'), args: [...server(marker, 'a').args.slice(0, -1), 'a2'] }));
      expect(await postReload(gw!)).toMatchObject({ status: 200, body: { result: 'applied', servers: { changed: ['a'] } } });
      if (mode === 'shared')
        await waitFor(() => {
          const pids = pidsOf(marker, 'a');
          return pids.length === 1 && pids[0] !== pidA[0];
        }, "the old primary's process to stop");
      expect(await gw!.waitForLog((l) => l.msg === 'server replaced', 'the replacement of a')).toMatchObject({ server: 'a', carriedOver: 1 });
      expect(pidsOf(marker, 'e')).toEqual(pidE);
      expect((await client.experimental.tasks.getTask(taskId)).status).toBe('input_required');
      expect(await metric(gw!, 'mcp_gateway_tasks', {})).toBe(1);

      // the question is answered over the connection that survived, and the waiting tasks/result gets the task's outcome
      releaseQuestion?.();
      const outcome = await result;
      expect(texts(outcome)[0]).toContain('User declined');
      expect((await client.experimental.tasks.getTask(taskId)).status).toBe('completed');
      expect(pidsOf(marker, 'e')).toEqual(pidE);
    },
  );

  it('ends at once the tasks of a changed server whose backend the reload replaced, naming the server and the reload', async () => {
    const admin = { token: ADMIN_TOKEN, register: TEST_REGISTER };
    const doc = (a: Record<string, unknown>) => ({ admin, reload: { watch: false }, servers: { a } });
    const { client, taskId, result } = await startQuestioningTask(doc(server(marker, 'a')), 'a', withEverythingBackend);
    const pidE = pidsOf(marker, 'e');
    expect(pidE).toHaveLength(1);

    // a request timeout is a setting every backend takes from its server: e is remade, on a new connection
    writeGatewayConfig(gw!, doc({ ...server(marker, 'a'), requestTimeoutMs: 45_000 }));
    expect(await postReload(gw!)).toMatchObject({ status: 200, body: { result: 'applied', servers: { changed: ['a'] } } });
    await expectEnded(client, taskId, result, 'a config reload replaced the upstream connection of server "a", which ran it');
    // the old e stops (nothing holds it: the waiting tasks/result was answered), the new one serves
    await waitFor(() => {
      const pids = pidsOf(marker, 'e');
      return pids.length === 1 && pids[0] !== pidE[0];
    }, "the old e's process to stop");
    await gw!.waitForLog((l) => l.msg === 'tasks ended with their upstream connections', 'the end of the tasks');
    expect(gw!.logs.filter((l) => l.msg === 'tasks ended with their upstream connections')).toEqual([
      expect.objectContaining({ server: 'a', cause: 'replaced', tasks: 1 }),
    ]);
  });

  it('brings back, with its new settings, a server of the file that the admin API removed, when a reload changes it, and says so', async () => {
    const admin = { token: ADMIN_TOKEN, register: TEST_REGISTER };
    const doc = (servers: Record<string, unknown>) => ({ admin, reload: { watch: false }, servers });
    const { client } = await start(doc({ a: server(marker, 'a'), c: server(marker, 'c', 'echo') }));
    expect((await adminCall(gw!, 'DELETE', '/admin/servers/a')).status).toBe(204);
    expect(await waitForNoProcesses(`${marker}-a`)).toEqual([]);

    // a reload that leaves a as it was leaves it removed: the admin API's removal holds until the file says otherwise
    writeGatewayConfig(gw!, { ...doc({ a: server(marker, 'a'), c: server(marker, 'c', 'echo') }), log: { level: 'debug' } });
    expect(await postReload(gw!)).toMatchObject({ status: 200, body: { result: 'applied', servers: { unchanged: ['a', 'c'] } } });
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['c__echo']);

    // the file changes a: the file is the truth, a is served again with its new settings
    writeGatewayConfig(gw!, doc({ a: { ...server(marker, 'a'), args: [...server(marker, 'a').args.slice(0, -1), 'a2'] }, c: server(marker, 'c', 'echo') }));
    const reply = await postReload(gw!);
    expect(reply).toMatchObject({ status: 200, body: { result: 'applied', servers: { changed: ['a'], unchanged: ['c'] }, restored: ['a'] } });
    expect(await gw!.waitForLog((l) => l.msg?.startsWith('config reload: server "a" was removed at run time'), 'the restoring of a')).toMatchObject({
      server: 'a',
    });
    expect(texts(await client.callTool({ name: 'a__echo', arguments: {} }))[0]).toBe('a2:echo');
    expect(pidsOf(marker, 'a')).toHaveLength(1);

    // and a reload that removes a server the admin API removed already has nothing to do for it, and fails at nothing
    expect((await adminCall(gw!, 'DELETE', '/admin/servers/c')).status).toBe(204);
    writeGatewayConfig(gw!, doc({ a: { ...server(marker, 'a'), args: [...server(marker, 'a').args.slice(0, -1), 'a2'] } }));
    const from = gw!.logs.length;
    expect(await postReload(gw!)).toMatchObject({ status: 200, body: { result: 'applied', servers: { removed: ['c'] } } });
    // the reload's last line: what it logged before has arrived too
    await gw!.waitForLog((l) => l.msg === 'config reloaded', 'the last reload', { from });
    expect(gw!.logs.filter((l) => l.level >= 50 && String(l.msg).startsWith('config reload'))).toEqual([]);
    expect((await adminCall(gw!, 'GET', '/admin/servers')).body.servers.map((s: { name: string }) => s.name)).toEqual(['a']);
  });

  it('replaces a changed server: a new process serves, the old one stops', async () => {
    const { client } = await start({ reload: { watch: false }, servers: { a: server(marker, 'a') } });
    const pidA = pidsOf(marker, 'a');
    writeGatewayConfig(gw!, { reload: { watch: false }, servers: { a: { ...server(marker, 'a'), args: [...server(marker, 'a').args.slice(0, -1), 'a2'] } } });
    gw!.child.kill('SIGHUP');
    await gw!.waitForLog((l) => l.msg === 'config reloaded', 'the SIGHUP reload');
    expect(texts(await client.callTool({ name: 'a__echo', arguments: {} }))[0]).toBe('a2:echo');
    const now = await waitFor(() => {
      const pids = pidsOf(marker, 'a');
      return pids.length === 1 && pids[0] !== pidA[0] ? pids : undefined;
    }, 'the old process to stop');
    expect(now).not.toEqual(pidA);
  });
});
