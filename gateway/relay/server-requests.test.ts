import type { JsonRpcRequest } from '../protocol/jsonrpc';
import { missingCapability } from './server-requests';

const request = (method: string, params: Record<string, unknown> = {}): JsonRpcRequest => ({ jsonrpc: '2.0', id: 1, method, params });

describe('what a server request needs of the client it goes to', () => {
  it('lets sampling through to a client that declared sampling, and sampling with tools only to one that declared tools', () => {
    expect(missingCapability(request('sampling/createMessage'), { sampling: {} })).toBeUndefined();
    expect(missingCapability(request('sampling/createMessage', { tools: [{ name: 't' }] }), { sampling: {} })).toBe('sampling.tools');
    expect(missingCapability(request('sampling/createMessage', { tools: [{ name: 't' }] }), { sampling: { tools: {} } })).toBeUndefined();
    expect(missingCapability(request('sampling/createMessage'), {})).toBe('sampling');
  });

  it('reads an empty elicitation capability as form mode, and sends URL elicitation only to a client that declared url', () => {
    expect(missingCapability(request('elicitation/create', { message: 'm', requestedSchema: {} }), { elicitation: {} })).toBeUndefined();
    expect(missingCapability(request('elicitation/create', { mode: 'url', url: 'https://x', message: 'm' }), { elicitation: {} })).toBe('elicitation.url');
    expect(missingCapability(request('elicitation/create', { mode: 'url', url: 'https://x', message: 'm' }), { elicitation: { url: {} } })).toBeUndefined();
    expect(missingCapability(request('elicitation/create', { mode: 'form', message: 'm' }), { elicitation: { url: {} } })).toBe('elicitation.form');
    expect(missingCapability(request('elicitation/create'), {})).toBe('elicitation');
  });

  it('asks for roots only from a client that offers roots, and lets ping and unknown requests through', () => {
    expect(missingCapability(request('roots/list'), {})).toBe('roots');
    expect(missingCapability(request('roots/list'), { roots: { listChanged: true } })).toBeUndefined();
    expect(missingCapability(request('ping'), {})).toBeUndefined();
    expect(missingCapability(request('constructor'), {})).toBeUndefined();
  });
});
