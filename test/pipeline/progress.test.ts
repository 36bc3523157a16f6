/**
 * What a long step shows as it goes, as pure logic: the compose and image-build lines that become
 * heartbeat details, and when the CLI prints a running step's details again.
 */
import { buildProgress, composeProgress } from '../../activities/compose';
import { ActivityPrinter } from '../../pipeline/progress';

test.each([
  ['Container mcpfleet_gateway_1  Started', 'container mcpfleet_gateway_1 started'],
  ['Network mcpfleet_backend  Created', 'network mcpfleet_backend created'],
  ['Creating mcpfleet_temporal_1 ... done', 'creating mcpfleet_temporal_1 done'],
  ['Creating mcpfleet_gateway_1 ... ', 'creating mcpfleet_gateway_1'],
  ['Pulling fs layer', undefined],
])('compose line %j shows as %j', (line, shown) => {
  expect(composeProgress(line)).toBe(shown);
});

test("docker-build.sh's own log lines say which part of the build runs", () => {
  expect(buildProgress('docker-build: building mcp-fleet/gateway (0.1.0 dev) on node:24-slim')).toBe('building mcp-fleet/gateway (0.1.0 dev) on node:24-slim');
  expect(buildProgress('sha256:0123abcd')).toBeUndefined();
});

test('a running step: a line when its details change, again after 15 s without change, with the time since it started', () => {
  const printer = new ActivityPrinter();
  const started = 1_000_000;
  const at = (s: number, details?: string) =>
    printer.update('build-images', details ? { type: 'buildImages', details, startedMs: started } : undefined, started + s * 1000);
  expect(at(1, 'building: compiling')).toEqual(['      building: compiling  (1s)']);
  expect(at(2, 'building: compiling')).toEqual([]);
  expect(at(3, 'building: mcp-fleet/gateway')).toEqual(['      building: mcp-fleet/gateway  (3s)']);
  expect(at(17, 'building: mcp-fleet/gateway')).toEqual([]);
  expect(at(18, 'building: mcp-fleet/gateway')).toEqual(['      building: mcp-fleet/gateway  (18s)']);
  expect(at(19)).toEqual([]); // no heartbeat yet: nothing to show
});
