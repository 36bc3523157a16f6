/**
 * Nothing lost or altered on the way: unknown fields in requests, results and list items pass
 * through untouched, names that break the spec are mapped (not dropped), and clashing unprefixed
 * names stay distinct.
 */
import { newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { rawSession } from '../helpers/raw-http';
import { scripted } from '../helpers/scripted';
import { waitForNoProcesses } from '../helpers/processes';

describe('faithful relay', () => {
  let gw: TestGateway;
  let session: Awaited<ReturnType<typeof rawSession>>;
  const marker = newMarker();

  beforeAll(async () => {
    gw = await startTestGateway(
      {
        servers: {
          s: scripted(marker, ['--name', 's']),
          a: scripted(marker, ['--name', 'a', '--tools', 'echo,only_a'], { prefix: false }),
          b: scripted(marker, ['--name', 'b', '--tools', 'echo,only_b'], { prefix: false }),
        },
      },
      marker,
    );
    session = await rawSession(`${gw.url}/mcp`);
  });

  afterAll(async () => {
    await session?.close();
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('passes unknown fields of list items through', async () => {
    const { result } = await session.call('tools/list');
    const echo = result.tools.find((t: any) => t.name === 's__echo');
    expect(echo).toEqual({
      name: 's__echo',
      description: 'scripted echo',
      inputSchema: { type: 'object', properties: { ms: { type: 'number' } } },
      'x-vendor': { kept: true },
    });
  });

  it('passes unknown request params to the server and unknown result fields back, untouched', async () => {
    const params = { name: 's__echo', arguments: { deep: { x: [1, 2] } }, extraParam: 'kept', _meta: { custom: 'meta', progressToken: 'client-token' } };
    const response = await session.call('tools/call', params);
    expect(response.result.vendorField).toEqual({ kept: true });
    const received = response.result.receivedParams;
    expect(received.name).toBe('echo');
    expect(received.arguments).toEqual({ deep: { x: [1, 2] } });
    expect(received.extraParam).toBe('kept');
    expect(received._meta.custom).toBe('meta');
    // the progress token is the gateway's own upstream, and the client's own in anything it sees
    expect(received._meta.progressToken).not.toBe('client-token');
  });

  it('maps a name that breaks the spec to a valid one that still reaches the tool', async () => {
    const { result } = await session.call('tools/list');
    const mapped = result.tools.map((t: any) => t.name).find((n: string) => n.startsWith('s__bad_name_x-'));
    expect(mapped).toMatch(/^[A-Za-z0-9_.-]{1,128}$/);
    const call = await session.call('tools/call', { name: mapped, arguments: {} });
    expect(call.result.content[0].text).toBe('s:bad name/x');
  });

  it('keeps clashing unprefixed names distinct: the first server keeps the name, the later one is exposed under its server name', async () => {
    const { result } = await session.call('tools/list');
    const names = result.tools.map((t: any) => t.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'only_a', 'only_b', 'b__echo']));
    expect((await session.call('tools/call', { name: 'echo', arguments: {} })).result.content[0].text).toBe('a:echo');
    expect((await session.call('tools/call', { name: 'b__echo', arguments: {} })).result.content[0].text).toBe('b:echo');
    expect(gw.logs.some((l) => l.msg === 'tool name already taken; exposed under another name' && l.server === 'b')).toBe(true);
  });
});
