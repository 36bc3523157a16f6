import { parseConfig } from '../config/load';
import { parseBackendBody, parseServerBody, parseWeightsBody, parseWindow } from './bodies';

const server = parseConfig({ servers: { svc: { command: 'node', prefix: 's', requestTimeoutMs: 1234, restart: { initialDelayMs: 50 } } } }, 't').servers[0];

describe('admin bodies', () => {
  it('makes a backend of any transport that inherits everything else from its server', () => {
    const spec = parseBackendBody({ id: 'canary', weight: 5, url: 'ws://h:1/ws', headers: { a: 'b' } }, server);
    expect(spec).toMatchObject({
      id: 'canary',
      weight: 5,
      config: { kind: 'remote', name: 'svc', transport: 'websocket', headers: { a: 'b' }, prefix: 's', requestTimeoutMs: 1234, mode: 'shared' },
    });
    expect(spec.config.restart).toEqual(server.restart);
    expect(spec.runtime?.origin).toEqual({ by: 'admin API' });
    expect(parseBackendBody({ id: 'b', command: 'node' }, server).weight).toBe(0);
  });

  it('remakes a backend under a changed server: its own transport, the rest from the new settings, or the field that no longer fits', () => {
    const spec = parseBackendBody({ id: 'canary', url: 'http://h:1/mcp', pool: { max: 2 } }, server);
    const changed = parseConfig({ servers: { svc: { command: 'node', prefix: 't', requestTimeoutMs: 999 } } }, 't').servers[0];
    expect(spec.runtime!.rebase(changed)).toMatchObject({ kind: 'remote', url: 'http://h:1/mcp', pool: { max: 2 }, prefix: 't', requestTimeoutMs: 999 });
    const perSession = parseConfig({ servers: { svc: { command: 'node', mode: 'per-session' } } }, 't').servers[0];
    expect(() => spec.runtime!.rebase(perSession)).toThrow(/^pool: a session pool is for shared servers/);
  });

  it('names the field of every problem', () => {
    expect(() => parseBackendBody({ id: 'b', command: 'x', url: 'http://h' }, server)).toThrow(/has "command" and "url"/);
    expect(() => parseBackendBody({ id: 'b' }, server)).toThrow(/needs "command"/);
    expect(() => parseBackendBody({ id: 'b', command: 'x', requestTimeoutMs: 5 }, server)).toThrow(/^requestTimeoutMs: not a backend field/);
    expect(() => parseServerBody({ name: 'n', docker: { image: '' } })).toThrow(/^docker\.image: /);
    expect(() => parseServerBody({ name: 'n', command: 'x', disabled: true })).toThrow(/^disabled: /);
    expect(() => parseWeightsBody({ a: -1 })).toThrow(/^a: /);
    expect(() => parseWeightsBody('x')).toThrow(/^\(body\): expected a JSON object/);
  });

  it('reads the stats window, 60 s unless told', () => {
    expect(parseWindow(new URLSearchParams())).toBe(60);
    expect(parseWindow(new URLSearchParams('windowSec=3600'))).toBe(3600);
    expect(() => parseWindow(new URLSearchParams('windowSec=0'))).toThrow(/^windowSec: /);
  });
});
