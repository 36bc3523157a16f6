/**
 * The mirrored-header stage: a 2026-07-28 tools/call over Streamable HTTP whose Mcp-Param-* headers
 * contradict its body is refused before it goes further (HeaderMismatch), and what carries no
 * headers, or names no mirrored tool, goes on untouched. The view is the real one, built from
 * plain catalog data; the stage after it is a stand-in that records what reached it.
 */
import pino from 'pino';
import { buildView } from '../../catalog/view';
import { FleetError } from '../../protocol/errors';
import type { JsonRpcResponse } from '../../protocol/jsonrpc';
import { EMPTY_CATALOG } from '../../servers/lists';
import { Cancellation, type Call, type Next } from '../context';
import { mirroredHeaderStage } from './mirrored-headers';

const view = buildView(
  [
    {
      server: 'crm',
      prefix: 'crm',
      catalog: {
        ...EMPTY_CATALOG,
        tools: [
          {
            name: 'lookup',
            inputSchema: {
              type: 'object',
              properties: { region: { type: 'string', 'x-mcp-header': 'Region' }, id: { type: 'integer', 'x-mcp-header': 'Id' }, note: { type: 'string' } },
            },
          },
          { name: 'plain', inputSchema: { type: 'object', properties: { region: { type: 'string' } } } },
        ],
      },
    },
  ],
  '__',
);
const stage = mirroredHeaderStage({ view: () => view });

function callOf(method: string, params: Record<string, unknown>, headers?: Record<string, string | string[]>): Call {
  return {
    request: { jsonrpc: '2.0', id: 1, method, params },
    client: {} as Call['client'],
    cancellation: new Cancellation(),
    params,
    meta: {},
    log: pino({ level: 'silent' }),
    ...(headers === undefined ? {} : { headers }),
  };
}

/** Runs the stage; `passed` says whether the call reached the next stage. */
async function run(call: Call): Promise<{ passed: boolean; error?: FleetError }> {
  let passed = false;
  const next: Next = async () => {
    passed = true;
    return { jsonrpc: '2.0', id: 1, result: {} } satisfies JsonRpcResponse;
  };
  try {
    await stage(call, next);
    return { passed };
  } catch (err) {
    return { passed, error: err as FleetError };
  }
}

const lookup = (args: Record<string, unknown>) => ({ name: 'crm__lookup', arguments: args });

describe('the mirrored-header stage', () => {
  it('lets a call whose headers match its arguments go on (a base64-encoded value too)', async () => {
    expect(await run(callOf('tools/call', lookup({ region: 'eu-west', id: 42 }), { 'mcp-param-region': 'eu-west', 'mcp-param-id': '42' }))).toEqual({
      passed: true,
    });
    const encoded = `=?base64?${Buffer.from('zürich').toString('base64')}?=`;
    expect(await run(callOf('tools/call', lookup({ region: 'zürich' }), { 'mcp-param-region': encoded }))).toEqual({ passed: true });
  });

  it.each([
    [
      'a value that contradicts the body',
      { region: 'eu-west', id: 42 },
      { 'mcp-param-region': 'us-east', 'mcp-param-id': '42' },
      /Mcp-Param-Region .*us-east.* does not match/,
    ],
    ['a header missing for a set argument', { region: 'eu-west' }, {}, /Mcp-Param-Region header is required/],
    ['a header for an argument the body does not set', {}, { 'mcp-param-id': '7' }, /Mcp-Param-Id is set but the arguments have no id/],
    ['a header given twice', { region: 'eu' }, { 'mcp-param-region': ['eu', 'eu'] }, /given more than once/],
    ['an integer that is another number', { id: 42 }, { 'mcp-param-id': '43' }, /does not match/],
  ])('refuses %s with HeaderMismatch before the call goes on', async (_what, args, headers, message) => {
    const { passed, error } = await run(callOf('tools/call', lookup(args), headers));
    expect(passed).toBe(false);
    expect(error).toBeInstanceOf(FleetError);
    expect(error!.code).toBe('HEADER_MISMATCH');
    expect(error!.message).toMatch(message);
  });

  it('leaves alone what it has nothing to check: no headers (stdio, WebSocket, a 2025 client), a tool that mirrors nothing, another method, an unknown tool', async () => {
    expect(await run(callOf('tools/call', lookup({ region: 'eu' })))).toEqual({ passed: true });
    expect(await run(callOf('tools/call', { name: 'crm__plain', arguments: { region: 'eu' } }, { 'mcp-param-region': 'us' }))).toEqual({ passed: true });
    expect(await run(callOf('prompts/get', { name: 'crm__lookup', arguments: { region: 'eu' } }, { 'mcp-param-region': 'us' }))).toEqual({ passed: true });
    // the resolve stage after it names the unknown tool
    expect(await run(callOf('tools/call', { name: 'nope', arguments: {} }, { 'mcp-param-region': 'us' }))).toEqual({ passed: true });
  });
});
