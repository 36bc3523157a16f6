/**
 * A malicious or broken upstream hurts no other server and no client (issue 10, "Hostile input"):
 * what it sends over its `limits:` is refused naming it (a response fails its own request, a list
 * item nested too deep is left out), its stderr lines are cut, a stdout line without end is not
 * kept, and the gateway answers everyone else meanwhile. The faults come from the scripted server, for real.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { scripted } from '../helpers/scripted';
import { waitForNoProcesses } from '../helpers/processes';
import { waitFor } from '../helpers/wait';

const MiB = 1024 * 1024;
const FAULTS = ['echo', 'deep_result', 'huge_result', 'stderr_line', 'no_newline', 'bad_ids'];

describe('a hostile upstream', () => {
  const marker = newMarker();
  let gw: TestGateway;
  let client: Client;
  /** How often `server` was connected: a restart shows as a second connection. */
  const connections = (server: string) => gw.logs.filter((l) => l.server === server && l.msg === 'server connected').length;

  beforeAll(async () => {
    gw = await startTestGateway(
      {
        servers: {
          bad: scripted(marker, ['--tools', FAULTS.join(','), '--deep-schema', '10000'], { limits: { maxMessageBytes: MiB, maxDepth: 64 } }),
          good: scripted(marker, ['--tools', 'echo', '--name', 'good']),
        },
      },
      marker,
    );
    client = await connectClient(gw, 'streamable-http');
  });

  afterEach(async () => {
    // the other server and this one are still served, neither restarted
    expect(await client.callTool({ name: 'good__echo', arguments: {} })).toMatchObject({ content: [{ text: 'good:echo' }] });
    expect(await client.callTool({ name: 'bad__echo', arguments: {} })).toMatchObject({ content: [{ text: 'scripted:echo' }] });
    expect([connections('bad'), connections('good')]).toEqual([1, 1]);
  });

  afterAll(async () => {
    await disconnect(client);
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  it('lists its tools without the one whose inputSchema nests 10,000 deep, and says so in the log', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...FAULTS.map((t) => `bad__${t}`), 'good__echo'].sort());
    expect(gw.logs.find((l) => l.server === 'bad' && Array.isArray(l.dropped))).toMatchObject({
      level: 40,
      dropped: ['deep_schema'],
      msg: expect.stringContaining('server "bad" listed items nested deeper than its limit; left out: deep_schema'),
    });
  });

  it('fails the call whose result nests 10,000 deep with an error naming the server', async () => {
    await expect(client.callTool({ name: 'bad__deep_result', arguments: { depth: 10_000 } })).rejects.toThrow(
      /server "bad" answered with a message the gateway refuses: .*nests deeper than the limit of 64 levels/,
    );
  });

  it('fails the call whose result is longer than maxMessageBytes, and skips the line unkept', async () => {
    await expect(client.callTool({ name: 'bad__huge_result', arguments: { bytes: 4 * MiB } })).rejects.toThrow(
      /server "bad" answered with a message the gateway refuses: .*longer than the limit of 1048576 bytes/,
    );
  });

  it('does not keep a stdout line without newline past the limit, and reads on after its end', async () => {
    expect(await client.callTool({ name: 'bad__no_newline', arguments: { bytes: 8 * MiB } })).toMatchObject({ content: [{ text: 'after no_newline' }] });
    const refused = gw.logs.filter((l) => l.server === 'bad' && l.code === 'BODY_TOO_LARGE');
    // the line's start goes into the log, not the line: a few hundred bytes
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((l) => String(l.line).length <= 256)).toBe(true);
  });

  it('cuts a 16 MiB stderr line to 8 KiB with a marker in the log', async () => {
    expect(await client.callTool({ name: 'bad__stderr_line', arguments: { bytes: 16 * MiB } })).toMatchObject({ content: [{ text: 'wrote stderr' }] });
    const line = await waitFor(() => gw.logs.find((l) => l.server === 'bad' && l.stream === 'stderr' && String(l.msg).startsWith('eee')), 'the stderr line');
    expect(String(line.msg)).toMatch(/^e{8192}… \[line cut: longer than 8192 bytes\]$/);
  });

  it('ignores answers to ids it never got, a second answer to one id, and lines that are not JSON', async () => {
    expect(await client.callTool({ name: 'bad__bad_ids', arguments: {} })).toMatchObject({ content: [{ text: 'bad ids' }] });
    expect(gw.logs.some((l) => l.server === 'bad' && l.code === 'PARSE_ERROR')).toBe(true);
  });
});
