import { acceptRequestId, MAX_REQUEST_ID_LENGTH, REQUEST_ID_META, requestIdIn } from './request-id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

test("takes a client's id of the usual shapes as it is", () => {
  for (const id of ['req-42', '0af7651916cd43dd8448eb211c80319c', 'nginx:abc/def+g==', 'a@b.c_d']) expect(acceptRequestId(id)).toEqual({ id });
  expect(acceptRequestId('x'.repeat(MAX_REQUEST_ID_LENGTH)).id).toHaveLength(MAX_REQUEST_ID_LENGTH);
});

test('makes one when the client sent none', () => {
  const { id, replaced } = acceptRequestId(undefined);
  expect(id).toMatch(UUID);
  expect(replaced).toBeUndefined();
  expect(acceptRequestId(undefined).id).not.toBe(id);
});

test('replaces a hostile or unusable value and says why, without the value', () => {
  const cases: [string | string[], RegExp][] = [
    ['x'.repeat(MAX_REQUEST_ID_LENGTH + 1), /longer than 128 characters \(129\)/],
    ['abc\r\nSet-Cookie: a=b', /characters outside/],
    ['zürich', /characters outside/],
    ['with space', /characters outside/],
    ['"quoted"', /characters outside/],
    ['', /empty/],
    [['a', 'b'], /sent 2 times/],
  ];
  for (const [value, why] of cases) {
    const { id, replaced } = acceptRequestId(value);
    expect(id).toMatch(UUID);
    expect(replaced).toMatch(why);
    if (String(value) !== '') expect(replaced).not.toContain(String(value));
  }
});

test('reads the id back from _meta only when it is one the gateway would send', () => {
  expect(requestIdIn({ [REQUEST_ID_META]: 'req-1' })).toBe('req-1');
  expect(requestIdIn({ [REQUEST_ID_META]: 'bad\nid' })).toBeUndefined();
  expect(requestIdIn({ [REQUEST_ID_META]: 7 })).toBeUndefined();
  expect(requestIdIn(undefined)).toBeUndefined();
});
