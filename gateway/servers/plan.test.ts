import { parseConfig } from '../config/load';
import { ServerPlan } from './plan';
import { runtimeBackend } from './runtime-backends';

const entry = (a: Record<string, unknown>) => parseConfig({ servers: { a: { command: 'node', args: ['a.js'], ...a } } }, 't').servers[0];

describe('a changed server plan', () => {
  it('keeps a backend added at run time as the very spec when its settings come out the same, remade when they do not, with its weight', () => {
    const old = new ServerPlan(entry({}));
    const added = runtimeBackend({ id: 'c1', weight: 30, transport: { url: 'http://h:1/mcp' }, origin: { by: 'discovery', container: 'c1' } }, old.config);
    old.add(added);
    // the primary's own command line is no setting the backend takes from its server
    const sameForIt = old.changedTo(entry({ args: ['b.js'] }));
    expect(sameForIt.spec('c1')).toBe(added);
    expect(sameForIt.holds(added)).toBe(true);
    const remade = old.changedTo(entry({ requestTimeoutMs: 999 }));
    expect(remade.holds(added)).toBe(false);
    expect(remade.spec('c1')).toMatchObject({
      weight: 30,
      config: { url: 'http://h:1/mcp', requestTimeoutMs: 999 },
      runtime: { origin: added.runtime!.origin },
    });
  });

  it("refuses a change a discovered container's backend cannot follow, naming the container and what to do", () => {
    const old = new ServerPlan(entry({}));
    old.add(
      runtimeBackend(
        { id: 'c1', weight: 100, transport: { url: 'http://h:1/mcp', pool: { max: 2 } }, origin: { by: 'discovery', container: 'c1' } },
        old.config,
      ),
    );
    expect(() => old.changedTo(entry({ mode: 'per-session' }))).toThrow(
      /^servers\.a: backend "c1", added at run time \(discovery: container c1\), does not fit the new settings: pool: .*; stop container c1 \(or DELETE \/admin\/servers\/a\/backends\/c1\) first/,
    );
  });
});
