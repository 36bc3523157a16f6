import { diffConfigs } from './diff';
import { parseConfig } from './load';

const base = {
  servers: { a: { command: 'a' }, b: { command: 'b', args: ['1'] }, c: { url: 'http://127.0.0.1:9000/mcp' } },
};

const parse = (doc: Record<string, unknown>) => parseConfig(doc, 'test.yaml');

describe('config diff', () => {
  it('sorts servers into added, removed, changed and unchanged', () => {
    const diff = diffConfigs(parse(base), parse({ servers: { a: { command: 'a' }, b: { command: 'b', args: ['2'] }, d: { command: 'd' } } }));
    expect(diff).toEqual({ servers: { added: ['d'], removed: ['c'], changed: ['b'], unchanged: ['a'] }, swapped: [], needsRestart: [] });
  });

  it('takes the order of keys in the file as no change', () => {
    const before = parse({ servers: { a: { command: 'a', env: { X: '1', Y: '2' } } } });
    const after = parse({ servers: { a: { env: { Y: '2', X: '1' }, command: 'a' } } });
    expect(diffConfigs(before, after).servers.unchanged).toEqual(['a']);
  });

  it('swaps policy, rate-limit rules, the log level, the call line and the trace export, and names what needs a restart by field', () => {
    const after = parse({
      ...base,
      policy: { rules: [{ effect: 'deny', tools: ['x'] }] },
      rateLimits: { maxBuckets: 5, rules: [{ name: 'r', requestsPerSecond: 1 }] },
      log: { level: 'debug', calls: false },
      listen: '127.0.0.1:9999',
      http: { maxBodyBytes: 10 },
      tls: { certFile: '/c', keyFile: '/k' },
      tracing: { enabled: true },
    });
    const diff = diffConfigs(parse(base), after);
    expect(diff.swapped.sort()).toEqual(['log.calls', 'log.level', 'policy', 'rateLimits', 'tracing']);
    expect(diff.needsRestart.sort()).toEqual(['http.maxBodyBytes', 'listen', 'rateLimits.maxBuckets', 'tls'].sort());
    // any change of the export (its endpoint, its sampling) is one: a new export
    const traced = parse({ ...base, tracing: { enabled: true } });
    expect(diffConfigs(traced, parse({ ...base, tracing: { enabled: true, samplingRatio: 0.1 } }))).toMatchObject({ swapped: ['tracing'], needsRestart: [] });
  });

  it("swaps the config's API keys; any other change of auth needs a restart", () => {
    const keys = (names: string[]) => names.map((name) => ({ name, hash: `sha256:${'0'.repeat(63)}${names.indexOf(name)}` }));
    const auth = (names: string[], file?: string) => ({ apiKeys: { keys: keys(names), ...(file ? { file } : {}) } });
    expect(diffConfigs(parse({ ...base, auth: auth(['a']) }), parse({ ...base, auth: auth(['a', 'b']) }))).toMatchObject({
      swapped: ['auth.apiKeys.keys'],
      needsRestart: [],
    });
    expect(diffConfigs(parse({ ...base, auth: auth(['a']) }), parse({ ...base, auth: auth(['a'], '/keys.yaml') })).needsRestart).toEqual(['auth.apiKeys.file']);
    expect(diffConfigs(parse(base), parse({ ...base, auth: auth(['a']) })).needsRestart).toEqual(['auth']);
  });
});
