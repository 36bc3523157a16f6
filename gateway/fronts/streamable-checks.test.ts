import { checkGetAccept, checkPostHeaders, prefersEventStream, requestProtocolVersion, takesPrimingEvent } from './streamable-checks';

const statusOf = (fn: () => void): number | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { httpStatus: number }).httpStatus;
  }
};

describe('Streamable HTTP header checks', () => {
  it('needs a POST to accept both JSON and SSE (406) and to carry JSON (415)', () => {
    const ok = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
    expect(statusOf(() => checkPostHeaders(ok))).toBeUndefined();
    expect(statusOf(() => checkPostHeaders({ ...ok, 'content-type': 'Application/JSON; charset=utf-8' }))).toBeUndefined();
    expect(statusOf(() => checkPostHeaders({ ...ok, accept: 'application/json' }))).toBe(406);
    expect(statusOf(() => checkPostHeaders({ ...ok, 'content-type': 'text/plain; a=application/json' }))).toBe(415);
    expect(statusOf(() => checkPostHeaders({ accept: ok.accept }))).toBe(415);
    expect(statusOf(() => checkGetAccept({ accept: 'application/json' }))).toBe(406);
  });

  it('takes the version from the header, else the session, else 2025-03-26; refuses unsupported ones with 400', () => {
    expect(requestProtocolVersion({ 'mcp-protocol-version': '2025-06-18' }, '2025-11-25')).toBe('2025-06-18');
    expect(requestProtocolVersion({}, '2025-11-25')).toBe('2025-11-25');
    expect(requestProtocolVersion({}, '')).toBe('2025-03-26');
    expect(statusOf(() => requestProtocolVersion({ 'mcp-protocol-version': '1999-01-01' }, ''))).toBe(400);
    expect(takesPrimingEvent('2025-11-25')).toBe(true);
    expect(takesPrimingEvent('2025-06-18')).toBe(false);
  });

  it('prefers a stream only when Accept ranks text/event-stream above application/json', () => {
    expect(prefersEventStream('application/json, text/event-stream')).toBe(false);
    expect(prefersEventStream('text/event-stream, application/json')).toBe(true);
    expect(prefersEventStream('text/event-stream;q=0.5, application/json')).toBe(false);
    expect(prefersEventStream('application/json;q=0.1, text/event-stream')).toBe(true);
    expect(prefersEventStream('text/event-stream;q=0, application/json;q=0')).toBe(false);
  });
});
