/**
 * What the upstream Streamable HTTP transport puts on the wire and reads from it, against a raw
 * node:http server that records each request: a 2026-07-28 message goes with its routing headers
 * and without the session; each message read from a POST's stream names the request of that POST;
 * cancelling a request closes its stream, or its POST when the server has not begun to answer; a 4xx that carries the request's JSON-RPC error is its
 * answer, any other is a failure to send.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '../../test/helpers/wait';
import { META } from '../protocol/eras';
import type { JsonRpcMessage } from '../protocol/jsonrpc';
import type { ReceivedContext } from '../protocol/transport';
import { StreamableHttpTransport } from './streamable-http-transport';

interface Seen {
  headers: IncomingHttpHeaders;
  body: { id?: number; method?: string };
  res: ServerResponse;
  closed: boolean;
}

let server: Server;
let url: string;
const seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const entry: Seen = { headers: req.headers, body: text ? JSON.parse(text) : {}, res, closed: false };
      seen.push(entry);
      res.on('close', () => (entry.closed = true));
      const { id, method } = entry.body;
      if (method === 'initialize') {
        res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'session-1' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id, result: { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 'raw', version: '1' } } }));
      } else if (method === 'refuse/with-answer') {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32021, message: 'declare sampling first' } }));
      } else if (method === 'refuse/plainly') {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Bad Request: Server not initialized' } }));
      } else if (method === 'hold/silently') {
        // works on, sends nothing yet (a stateless server that answers with JSON at the end)
      } else if (id === undefined) {
        res.writeHead(202).end();
      } else {
        // an SSE stream that asks the client first, and answers only when the test says
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`id: e1\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 's1', method: 'elicitation/create', params: {} })}\n\n`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function transport(): { t: StreamableHttpTransport; received: [JsonRpcMessage, ReceivedContext | undefined][] } {
  const t = new StreamableHttpTransport(url, { reconnect: { initialDelayMs: 10 } });
  const received: [JsonRpcMessage, ReceivedContext | undefined][] = [];
  t.onmessage = (m, context) => void received.push([m, context]);
  return { t, received };
}

const envelope = { [META.protocolVersion]: '2026-07-28', [META.clientCapabilities]: {}, [META.clientInfo]: { name: 'gw', version: '1' } };

it('sends a 2026-07-28 request with its routing headers and without the session a 2025 exchange opened', async () => {
  const { t } = transport();
  await t.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} });
  t.setProtocolVersion('2025-11-25');
  await t.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'wetter für morgen', _meta: envelope } });
  await t.send({ jsonrpc: '2.0', id: 3, method: 'tools/list', params: {} });
  const [modern, legacy] = seen.slice(-2).map((s) => s.headers);
  expect(modern).toMatchObject({
    'mcp-protocol-version': '2026-07-28',
    'mcp-method': 'tools/call',
    'mcp-name': `=?base64?${Buffer.from('wetter für morgen').toString('base64')}?=`,
  });
  expect(modern['mcp-session-id']).toBeUndefined();
  expect(legacy).toMatchObject({ 'mcp-session-id': 'session-1', 'mcp-protocol-version': '2025-11-25' });
  expect(legacy['mcp-method']).toBeUndefined();
  await t.close();
});

it("delivers what a POST stream carries with the id of that POST's request", async () => {
  const { t, received } = transport();
  await t.send({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'a', _meta: envelope } });
  await t.send({ jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'b', _meta: envelope } });
  await waitFor(() => received.length === 2, 'both streams to ask');
  expect(received.map(([m, context]) => [(m as { method: string }).method, context])).toEqual([
    ['elicitation/create', { inResponseTo: 7 }],
    ['elicitation/create', { inResponseTo: 8 }],
  ]);
  await t.close();
});

it('closes the stream of a cancelled request, which then owes nothing', async () => {
  const { t, received } = transport();
  await t.send({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'c', _meta: envelope } });
  await waitFor(() => received.length === 1, 'the stream to open');
  const stream = seen.at(-1)!;
  expect(t.cancel(9)).toBe(true);
  await waitFor(() => stream.closed, 'the server to see the stream closed');
  expect(t.cancel(9)).toBe(false);
  expect(received).toHaveLength(1); // no error answer for it either: the caller cancelled it
  await t.close();
});

it('aborts the POST of a cancelled request the server has not begun to answer, and stays usable', async () => {
  const { t, received } = transport();
  const before = seen.length;
  const sent = t.send({ jsonrpc: '2.0', id: 12, method: 'hold/silently', params: { _meta: envelope } });
  await waitFor(() => seen.length === before + 1, 'the server to receive the request');
  const held = seen.at(-1)!;
  expect(t.cancel(12)).toBe(true);
  // the send settles quietly: the caller was told of the cancellation, the transport is not broken
  await expect(sent).resolves.toBeUndefined();
  await waitFor(() => held.closed, 'the server to see the request closed');
  expect(t.cancel(12)).toBe(false);
  await t.send({ jsonrpc: '2.0', id: 13, method: 'tools/call', params: { name: 'after', _meta: envelope } });
  await waitFor(() => received.length === 1, 'the next request to be answered');
  expect(received[0][1]).toEqual({ inResponseTo: 13 });
  await t.close();
});

it("takes a 2026-07-28 request's 4xx with its JSON-RPC error for the answer, and any other 4xx for a failure to send", async () => {
  const { t, received } = transport();
  await t.send({ jsonrpc: '2.0', id: 10, method: 'refuse/with-answer', params: { _meta: envelope } });
  await waitFor(() => received.length === 1, 'the refusal as the answer');
  expect(received[0]).toEqual([{ jsonrpc: '2.0', id: 10, error: { code: -32021, message: 'declare sampling first' } }, { inResponseTo: 10 }]);
  await expect(t.send({ jsonrpc: '2.0', id: 11, method: 'refuse/plainly', params: { _meta: envelope } })).rejects.toMatchObject({
    code: 'UPSTREAM_UNAVAILABLE',
    data: { status: 400 },
    message: expect.stringContaining('HTTP 400 Bad Request: {"jsonrpc":"2.0","id":null'),
  });
  await t.close();
});
