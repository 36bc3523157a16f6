/**
 * Deterministic hostile JSON-RPC for the fuzz test: from a seed, well-formed messages of every
 * kind, then mutated (cut, spliced, retyped, renamed), nested past the depth limit, with strings
 * past the string limit, as batches, as garbage. Requests that stay well-formed carry an id
 * `fz-N` of their own, so a test can check that each got its answer.
 */

/** mulberry32: a small seeded PRNG, so a failing run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzLimits {
  maxDepth: number;
  maxStringChars: number;
  /** Texts longer than this are not generated (a WebSocket closes on them: tested apart). */
  maxBytes: number;
  /** Some texts are padded to this many bytes (past a body limit), when set. */
  oversize?: number;
}

const METHODS = ['tools/list', 'tools/call', 'ping', 'prompts/list', 'resources/list', 'resources/read', 'logging/setLevel', 'completion/complete', 'no/such'];
const NOTIFICATIONS = ['notifications/initialized', 'notifications/roots/list_changed', 'notifications/progress', 'notifications/whatever'];
const ODD_VALUES: unknown[] = [null, true, 0, -1, 1.5, 1e300, '', 'x', [], {}, [1, [2]], { a: { b: null } }, '\u0000\ud800', '💥'.repeat(3)];

export function fuzzMessages(seed: number, count: number, limits: FuzzLimits, modern?: Record<string, unknown>): string[] {
  const random = prng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

  const request = (i: number): Record<string, unknown> => {
    const method = pick(METHODS);
    const params: Record<string, unknown> =
      method === 'tools/call'
        ? { name: pick(['s__echo', 's__echo', 'nope', '']), arguments: { n: i, v: pick(ODD_VALUES) } }
        : method === 'logging/setLevel'
          ? { level: pick(['info', 'loud']) }
          : {};
    if (modern) params._meta = modern;
    return { jsonrpc: '2.0', id: `fz-${i}`, method, params };
  };
  const base = (i: number): Record<string, unknown> => {
    switch (int(6)) {
      case 0:
        return { jsonrpc: '2.0', method: pick(NOTIFICATIONS), params: { x: pick(ODD_VALUES) } };
      case 1:
        return pick([
          { jsonrpc: '2.0', id: `gw-${int(5)}`, result: {} },
          { jsonrpc: '2.0', id: i, error: { code: -1, message: 'm' } },
        ]);
      default:
        return request(i);
    }
  };

  const mutate = (text: string, i: number): string => {
    switch (int(15)) {
      case 0:
        return text.slice(0, int(text.length)); // cut
      case 1: {
        const at = int(text.length);
        return text.slice(0, at) + pick(['{', '}', '[', '"', ',', ':', '\\', 'null', '\u0000', '\n', '1e400']) + text.slice(at);
      }
      case 2:
        return text.replace('"2.0"', JSON.stringify(pick(['1.0', 2, null, '2.0 '])));
      case 3: // an id of every wrong kind, 1e400 (no double holds it) and one another message has
        return text.replace(`"fz-${i}"`, pick(['{}', '[]', 'null', '1e400', 'true', '"fz-0"']));
      case 4:
        return text.replace('"method":', pick(['"Method":', '"method":1,"x":', '"method":null,"y":']));
      case 5:
        return text.replace('"params":{', pick(['"params":[', '"params":"s","z":{', '"params":{"_meta":{"progressToken":{}},']));
      case 6: // nested past the limit (or just under it)
        return text.replace('"params":{', `"params":{"deep":${nested(limits.maxDepth + pick([-8, 1, 50, 2000]))},`);
      case 7: // a string past the limit (or just under it)
        return text.replace(
          '"params":{',
          `"params":{"long":"${'s'.repeat(Math.min(limits.maxBytes - text.length - 64, limits.maxStringChars + pick([-100, 1, 1000])))}",`,
        );
      case 8:
        return `[${text},${text.replace(`"fz-${i}"`, `"fz-${i}b"`)}]`; // a batch
      case 9:
        return pick(['[]', '[1,2]', '{}', 'null', '"str"', '42', '', ' ', '{"jsonrpc":"2.0"}', '\ufeff{}', '{"a":1}{"b":2}']);
      case 10:
        return Buffer.from(Array.from({ length: 1 + int(200) }, () => int(256))).toString('latin1');
      case 11:
        return limits.oversize === undefined ? text : text.replace('"params":{', `"params":{"pad":"${'p'.repeat(limits.oversize)}",`);
      default:
        return text; // well-formed
    }
  };

  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(mutate(JSON.stringify(base(i)), i));
  return out;
}

/** The `fz-N` ids of the texts that are well-formed requests (each must be answered), by our own reading of JSON-RPC. */
export function expectedAnswers(texts: readonly string[], batches: boolean): Set<string> {
  const ids = new Set<string>();
  for (const t of texts) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch {
      continue;
    }
    // where batches are refused whole, their requests get no answers of their own
    if (Array.isArray(v) && !batches) continue;
    for (const m of Array.isArray(v) ? v : [v]) {
      const r = m as Record<string, unknown> | null;
      if (r && typeof r === 'object' && r.jsonrpc === '2.0' && typeof r.method === 'string' && typeof r.id === 'string' && r.id.startsWith('fz-'))
        ids.add(r.id);
    }
  }
  return ids;
}

/** What a well-formed JSON-RPC response looks like; the problem with `m`, or undefined. */
export function responseProblem(m: unknown): string | undefined {
  const r = m as Record<string, unknown> | null;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return 'not an object';
  if (r.jsonrpc !== '2.0') return 'jsonrpc is not "2.0"';
  if ('method' in r) return undefined; // a notification or request of the gateway's own (progress, pings)
  if (!('id' in r) || !(r.id === null || typeof r.id === 'string' || typeof r.id === 'number')) return 'no valid id';
  if ('result' in r === 'error' in r) return 'not exactly one of result and error';
  if ('error' in r) {
    const e = r.error as Record<string, unknown> | null;
    if (!e || !Number.isInteger(e.code) || typeof e.message !== 'string') return 'error without integer code and string message';
  }
  return undefined;
}
