/**
 * The one frame parser behind every front: a request whose id JSON cannot carry back (1e400 reads
 * as Infinity) is refused as an invalid request over HTTP, WebSocket and stdio alike, instead of
 * being answered to `"id": null`; and a refusal carries the id when one could be read.
 */
import { PassThrough } from 'node:stream';
import WebSocket from 'ws';
import { parseConfig } from '../../gateway/config/load';
import { startGateway } from '../../gateway/gateway';
import { createLogger } from '../../gateway/log';
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { postRaw, rawSession } from '../helpers/raw-http';
import { scripted } from '../helpers/scripted';
import { waitForNoProcesses } from '../helpers/processes';
import { waitFor } from '../helpers/wait';

const INFINITE_ID = '{"jsonrpc":"2.0","id":1e400,"method":"tools/list"}';
const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

describe('frame refusals on every front', () => {
  const marker = newMarker();
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ servers: { s: scripted(marker, ['--tools', 'echo']) } }, marker);
  });

  afterAll(async () => {
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('refuses id 1e400 over Streamable HTTP with 400 and -32600', async () => {
    const session = await rawSession(`${gw.url}/mcp`);
    const r = await postRaw(`${gw.url}/mcp`, INFINITE_ID, session.headers);
    expect(r.status).toBe(400);
    expect(r.messages[0].error).toMatchObject({ code: -32600, message: expect.stringContaining('"id" must be a finite number') });
    await session.close();
  });

  it('refuses id 1e400 over WebSocket with -32600, and answers a readable id of a bad frame to that id', async () => {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`, 'mcp');
    await new Promise((r) => ws.once('open', r));
    const replies: any[] = [];
    ws.on('message', (d) => replies.push(JSON.parse(d.toString())));
    ws.send(INFINITE_ID);
    ws.send('{"jsonrpc":"2.0","id":"abc","method":""}');
    await waitFor(() => replies.length === 2, 'two replies');
    expect(replies[0]).toMatchObject({ id: null, error: { code: -32600, message: expect.stringContaining('"id" must be a finite number') } });
    expect(replies[1]).toMatchObject({ id: 'abc', error: { code: -32600, message: expect.stringContaining('"method" must be a non-empty string') } });
    ws.close();
  });

  it('refuses id 1e400 over stdio with -32600 and keeps serving', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const lines: any[] = [];
    output.on('data', (c: Buffer) =>
      lines.push(
        ...c
          .toString()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l)),
      ),
    );
    const config = parseConfig({ servers: { s: scripted(marker, ['--tools', 'echo']) } }, 'test config');
    const stdioGw = await startGateway(config, { log: createLogger('silent'), stdio: { input, output, onEnd: () => {} } });
    try {
      input.write(`${INFINITE_ID}\n`);
      input.write(`${JSON.stringify(initialize)}\n`);
      await waitFor(() => lines.length === 2, 'two replies');
      expect(lines[0]).toMatchObject({ id: null, error: { code: -32600, message: expect.stringContaining('"id" must be a finite number') } });
      expect(lines[1]).toMatchObject({ id: 1, result: { serverInfo: { name: 'mcp-fleet-gateway' } } });
    } finally {
      await stdioGw.stop();
    }
  });
});
