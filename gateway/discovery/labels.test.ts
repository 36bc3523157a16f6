import { parseConfig } from '../config/load';
import { FleetError } from '../protocol/errors';
import { serverFromLabels } from './labels';

const settings = parseConfig({ discovery: { docker: { networks: ['backend'], defaults: { requestTimeoutMs: 5000 } } } }, 'test').discovery!.docker!;

describe('a container’s discovery labels', () => {
  it('make a remote server entry over the defaults: address, port, path, transport and settings from labels', () => {
    const found = serverFromLabels(
      { 'mcp-fleet.server': 'notes', 'mcp-fleet.port': '3000', 'mcp-fleet.prefix': 'n', 'mcp-fleet.weight': '25', 'other.label': 'x' },
      '172.30.1.10',
      settings,
    );
    expect(found).toMatchObject({
      server: 'notes',
      weight: 25,
      config: { kind: 'remote', url: 'http://172.30.1.10:3000/mcp', prefix: 'n', requestTimeoutMs: 5000 },
    });
    expect(serverFromLabels({ 'mcp-fleet.server': 'ws', 'mcp-fleet.transport': 'websocket', 'mcp-fleet.tls': 'true' }, 'ws-box', settings)).toMatchObject({
      config: { url: 'wss://ws-box:8080/ws', transport: 'websocket' },
    });
    expect(serverFromLabels({ 'mcp-fleet.server': 'six', 'mcp-fleet.prefix': 'false' }, 'fd00::1', settings)).toMatchObject({
      config: { url: 'http://[fd00::1]:8080/mcp', prefix: false },
    });
  });

  it('name every bad label and what it expects', () => {
    const found = serverFromLabels(
      { 'mcp-fleet.server': 'no spaces', 'mcp-fleet.port': '99999', 'mcp-fleet.weight': '-1', 'mcp-fleet.transport': 'grpc', 'mcp-fleet.colour': 'red' },
      '10.0.0.1',
      settings,
    );
    expect('problems' in found && found.problems).toEqual([
      expect.stringMatching(/^label mcp-fleet\.colour: not a discovery label/),
      expect.stringMatching(/^label mcp-fleet\.server: expected 1-64 of .* \(got "no spaces"\)/),
      expect.stringMatching(/^label mcp-fleet\.port: expected a port number 1-65535 \(got "99999"\)/),
      expect.stringMatching(/^label mcp-fleet\.weight: expected a number >= 0/),
      expect.stringMatching(/^label mcp-fleet\.transport: expected streamable-http, sse or websocket \(got "grpc"\)/),
    ]);
    const mode = serverFromLabels({ 'mcp-fleet.server': 'm', 'mcp-fleet.mode': 'sometimes' }, '10.0.0.1', settings);
    expect('problems' in mode && mode.problems[0]).toMatch(/^label mcp-fleet\.mode: /);
  });
});

describe('the discovery config', () => {
  function problemsOf(doc: unknown): string[] {
    try {
      parseConfig(doc, 'fleet.yaml');
    } catch (err) {
      return (err as FleetError).data!.problems as string[];
    }
    throw new Error('expected the config to be refused');
  }

  it('stands in for servers, and refuses what it cannot use, naming the field', () => {
    expect(parseConfig({ discovery: { docker: { networks: ['n'] } } }, 'fleet.yaml').servers).toEqual([]);
    expect(problemsOf({ discovery: { docker: { networks: [] } } })).toEqual([expect.stringMatching(/^discovery\.docker\.networks: name at least one/)]);
    expect(problemsOf({ discovery: { docker: { networks: ['n'], defaults: { url: 'http://x/mcp' } } } })).toEqual([
      expect.stringMatching(/^discovery\.docker\.defaults\.url: url comes from each container's labels/),
    ]);
    expect(problemsOf({ discovery: { docker: { networks: ['n'], defaults: { requestTimeoutMs: -1 } } } })).toEqual([
      expect.stringMatching(/^discovery\.docker\.defaults\.requestTimeoutMs: /),
    ]);
  });
});

describe('a DNS replica set in the config', () => {
  it('is for a host name over Streamable HTTP or WebSocket, and says so', () => {
    const refused = (server: Record<string, unknown>) => {
      try {
        parseConfig({ servers: { s: server } }, 'fleet.yaml');
      } catch (err) {
        return (err as FleetError).data!.problems as string[];
      }
      return [];
    };
    expect(refused({ url: 'http://notes:8080/mcp', dns: {} })).toEqual([]);
    expect(refused({ url: 'ws://notes:8080/ws', dns: { intervalMs: 500 } })).toEqual([]);
    expect(refused({ url: 'http://notes:8080/sse', dns: {} })).toEqual([
      expect.stringMatching(/^servers\.s\.dns: a DNS replica set is for Streamable HTTP and WebSocket/),
    ]);
    expect(refused({ url: 'http://10.0.0.5:8080/mcp', dns: {} })).toEqual([
      expect.stringMatching(/^servers\.s\.dns: dns needs a host name to resolve \(got the address 10\.0\.0\.5\)/),
    ]);
    expect(refused({ url: 'http://notes:8080/mcp', dns: { every: 1 } })).toEqual([expect.stringMatching(/^servers\.s\.dns: /)]);
  });
});
