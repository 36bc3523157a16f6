/**
 * The upstream era stage: a request to a 2026-07-28 server carries its client in the envelope
 * (capabilities and info as that client declared them, its log level when it set one); a request
 * to a 2025 server is left as it is. A tool call to a 2026-07-28 server mirrors its x-mcp-header
 * arguments into Mcp-Param-* headers.
 */
import pino from 'pino';
import { META } from '../../protocol/eras';
import type { JsonRpcResponse } from '../../protocol/jsonrpc';
import type { Backend } from '../../servers/backend';
import { ClientDirectory, type ClientPeer } from '../clients';
import { Cancellation, type Call } from '../context';
import type { RoutingDeps } from './resolve';
import { upstreamEraStage } from './upstream-era';

/** The client's view: tool `t` mirrors its `region` argument into Mcp-Param-Region. */
const ROUTING = {
  view: () => ({
    toolRoutes: new Map([['t', { server: 's', name: 't', mirrored: [{ name: 'Region', header: 'mcp-param-region', path: ['region'], type: 'string' }] }]]),
  }),
} as unknown as Pick<RoutingDeps, 'view'>;

const PEER = {
  id: 'c1',
  era: 'legacy',
  capabilities: { elicitation: {}, roots: {} },
  clientInfo: { name: 'desktop', version: '9' },
} as unknown as ClientPeer;

function callTo(era: 'legacy' | 'modern', params: Record<string, unknown>): Call {
  return {
    request: { jsonrpc: '2.0', id: 1, method: 'tools/call', params },
    client: PEER,
    cancellation: new Cancellation(),
    params,
    meta: { traceparent: 't' },
    log: pino({ level: 'silent' }),
    backend: { connection: { era } } as unknown as Backend,
  };
}

/** What went on: the `_meta` keys the gateway set and the params, as the send stage would merge them. */
async function sent(clients: ClientDirectory, call: Call): Promise<unknown> {
  const next = async (c: Call): Promise<JsonRpcResponse> => ({
    jsonrpc: '2.0',
    id: 1,
    result: { meta: { ...c.meta }, params: c.params, ...(c.upstreamHeaders && { headers: c.upstreamHeaders }) },
  });
  return ((await upstreamEraStage(clients, ROUTING)(call, next)) as { result: unknown }).result;
}

it('puts the client of the call in the envelope of a request to a 2026-07-28 server, with its log level once it set one', async () => {
  const clients = new ClientDirectory();
  const attached = clients.add(PEER);
  expect(await sent(clients, callTo('modern', { name: 't' }))).toEqual({
    meta: { traceparent: 't', [META.clientCapabilities]: PEER.capabilities, [META.clientInfo]: PEER.clientInfo },
    params: { name: 't' },
  });
  attached.logLevel = 'warning';
  expect(await sent(clients, callTo('modern', { name: 't' }))).toMatchObject({ meta: { [META.logLevel]: 'warning' } });
});

it("mirrors a tool's x-mcp-header arguments into the headers of a 2026-07-28 request, encoded as the spec says", async () => {
  expect(await sent(new ClientDirectory(), callTo('modern', { name: 't', arguments: { region: 'zürich' } }))).toMatchObject({
    headers: { 'mcp-param-region': `=?base64?${Buffer.from('zürich').toString('base64')}?=` },
  });
});

it('leaves a request to a 2025 server as it is', async () => {
  const call = callTo('legacy', { name: 't', arguments: { region: 'eu' } });
  expect(await sent(new ClientDirectory(), call)).toEqual({ meta: { traceparent: 't' }, params: { name: 't', arguments: { region: 'eu' } } });
});
