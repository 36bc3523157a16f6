/**
 * `npm run bench:json-limits`
 *
 * What the JSON limits scan (gateway/protocol/json-limits.ts) costs next to the JSON.parse it runs
 * before, on the messages the gateway carries: a small tools/call, a tools/list of 200 tools with
 * schemas, a 4 MiB text result, a 4 MiB result of 100,000 small objects, and a 10,000-deep hostile
 * message. Prints the median time of each (over ROUNDS, after a warm-up) and the ratio scan ÷
 * parse of the same run: the scan's share of reading a message at the door. For the hostile
 * input it also shows the point of scanning first: the scan refuses it without building it.
 */
import { performance } from 'node:perf_hooks';
import { scanJson } from '../gateway/protocol/json-limits';
import { spread } from './stats';

const ROUNDS = 25;
const LIMITS = { maxDepth: 128, maxStringChars: 16 * 1024 * 1024 };

function schema(i: number): unknown {
  return {
    type: 'object',
    properties: {
      query: { type: 'string', description: `query ${i}` },
      options: { type: 'object', properties: { limit: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } } },
    },
    required: ['query'],
  };
}

const CASES: Record<string, string> = {
  'tools/call (small)': JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: 'mem__search', arguments: { query: 'fleet', limit: 10 } },
  }),
  'tools/list, 200 tools': JSON.stringify({
    jsonrpc: '2.0',
    id: 2,
    result: { tools: Array.from({ length: 200 }, (_, i) => ({ name: `tool_${i}`, description: `does thing ${i}`.repeat(4), inputSchema: schema(i) })) },
  }),
  '4 MiB text result': JSON.stringify({ jsonrpc: '2.0', id: 3, result: { content: [{ type: 'text', text: 'é€😀 fleets\n'.repeat((4 * 1024 * 1024) / 17) }] } }),
  '4 MiB of 100k small objects': JSON.stringify({
    jsonrpc: '2.0',
    id: 4,
    result: { rows: Array.from({ length: 100_000 }, (_, i) => ({ id: i, name: `row ${i}`, ok: i % 2 === 0 })) },
  }),
  'hostile: 10,000 deep': `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"x","arguments":{"x":${'['.repeat(10_000)}${']'.repeat(10_000)}}}}`,
};

/** ms per run of `fn`, run `times` in a row (small messages take too little for one reading of the clock). */
function time(fn: () => unknown, times: number): number {
  const t = performance.now();
  for (let i = 0; i < times; i++) fn();
  return (performance.now() - t) / times;
}

function measure(text: string): { parse: number; scan: number } {
  for (let i = 0; i < 5; i++) {
    JSON.parse(text);
    scanJson(text, LIMITS);
  }
  const parse: number[] = [];
  const scan: number[] = [];
  const times = Math.max(1, Math.floor(1_000_000 / text.length));
  for (let i = 0; i < ROUNDS; i++) {
    // alternating, so drift on a shared machine hits both alike
    parse.push(time(() => JSON.parse(text), times));
    scan.push(time(() => scanJson(text, LIMITS), times));
  }
  return { parse: spread(parse).median, scan: spread(scan).median };
}

function main(): void {
  console.log(`JSON limits scan vs JSON.parse, median of ${ROUNDS} rounds each (node ${process.version})\n`);
  console.log('| message | bytes | JSON.parse ms | scan ms | scan ÷ parse | scan verdict |');
  console.log('|---|---:|---:|---:|---:|---|');
  for (const [name, text] of Object.entries(CASES)) {
    const { parse, scan } = measure(text);
    const verdict = scanJson(text, LIMITS).problem ?? 'passes';
    console.log(`| ${name} | ${Buffer.byteLength(text)} | ${parse.toFixed(4)} | ${scan.toFixed(4)} | ${(scan / parse).toFixed(2)} | ${verdict} |`);
  }
}

main();
