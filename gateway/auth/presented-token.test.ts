import { inspect } from 'node:util';
import { PresentedToken } from './presented-token';
import { principal } from './principal';

it('keeps the token out of JSON and util.inspect, also inside a principal, and gives it only when asked', () => {
  const value = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
  const who = principal('oauth', 'alice', ['mcp:tools'], [], new PresentedToken(value, 'hash-of-it'));
  expect(JSON.stringify({ who })).not.toContain(value);
  expect(inspect(who, { depth: 5, showHidden: true })).not.toContain(value);
  expect(`${JSON.stringify(who.token)}`).toBe('"[access token]"');
  expect(who.token!.reveal()).toBe(value);
  expect(who.token!.hash).toBe('hash-of-it');
});
