/**
 * What MCP 2026-07-28 mirrors from a request body into HTTP headers over Streamable HTTP, so that
 * load balancers and policy can read it without parsing JSON (basic/transports/streamable-http,
 * "Custom Headers from Tool Parameters" and "Value Encoding"): a tool's inputSchema may mark
 * parameters with `x-mcp-header: Name`, and a call then carries `Mcp-Param-Name: value`. A value
 * that is not plain header-safe ASCII travels as `=?base64?…?=`. The gateway checks what a client
 * mirrored (it processes the body, so the spec says it must) and mirrors what it sends upstream.
 */
import { FleetError } from './errors';

/** One parameter a tool mirrors: its x-mcp-header name, the header it goes in (lower case), where it sits in the arguments, its type. */
export interface MirroredParam {
  name: string;
  header: string;
  path: readonly string[];
  type: 'string' | 'integer' | 'boolean';
}

/** RFC 9110 token characters: what a header name may be made of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Visible ASCII, space and tab: what a header value may carry as it is. */
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;
const SENTINEL = /^=\?base64\?(.*)\?=$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Deeper schemas are refused rather than walked: the walk is bounded whatever a server lists. */
const MAX_DEPTH = 32;

/**
 * The parameters a tool's inputSchema mirrors, or why its annotations are invalid (then a client
 * on HTTP must leave the tool out). Only properties reached by a chain of `properties` keys from
 * the root may carry `x-mcp-header`; an annotation anywhere else makes the tool invalid.
 */
export function mirroredParams(inputSchema: unknown): MirroredParam[] | { invalid: string } {
  const out: MirroredParam[] = [];
  const seen = new Set<string>();
  const problem = walk(inputSchema, [], true, 0, out, seen);
  return problem === undefined ? out : { invalid: problem };
}

function walk(schema: unknown, path: string[], reachable: boolean, depth: number, out: MirroredParam[], seen: Set<string>): string | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined;
  if (depth > MAX_DEPTH) return `the inputSchema nests deeper than ${MAX_DEPTH} levels`;
  if (Array.isArray(schema)) {
    for (const item of schema) {
      const why = walk(item, path, false, depth + 1, out, seen);
      if (why) return why;
    }
    return undefined;
  }
  const node = schema as Record<string, unknown>;
  if ('x-mcp-header' in node) {
    const why = annotation(node, path, reachable, out, seen);
    if (why) return why;
  }
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [name, sub] of Object.entries(value as Record<string, unknown>)) {
        const why = walk(sub, [...path, name], reachable, depth + 1, out, seen);
        if (why) return why;
      }
    } else if (typeof value === 'object' && value !== null) {
      const why = walk(value, path, false, depth + 1, out, seen);
      if (why) return why;
    }
  }
  return undefined;
}

function annotation(node: Record<string, unknown>, path: string[], reachable: boolean, out: MirroredParam[], seen: Set<string>): string | undefined {
  const name = node['x-mcp-header'];
  const at = path.length ? path.join('.') : 'the schema root';
  if (!reachable || path.length === 0) return `x-mcp-header at ${at} is not on a property reached through "properties" alone`;
  if (typeof name !== 'string' || name === '' || !TOKEN.test(name)) return `x-mcp-header ${JSON.stringify(name)} at ${at} is not a header name token`;
  const type = node.type;
  if (type !== 'string' && type !== 'integer' && type !== 'boolean')
    return `x-mcp-header ${name} at ${at} is on a ${JSON.stringify(type)} property (string, integer or boolean only)`;
  const header = `mcp-param-${name.toLowerCase()}`;
  if (seen.has(header)) return `x-mcp-header ${name} is given twice (names are case-insensitive)`;
  seen.add(header);
  out.push({ name, header, path: [...path], type });
  return undefined;
}

/**
 * Checks a call's mirrored headers against its arguments: each annotated value present (and not
 * null) needs its header, equal to the value after decoding; a header for an absent value is a
 * mismatch too. Headers the tool does not annotate are not the gateway's to judge.
 */
export function checkMirrored(params: readonly MirroredParam[], args: unknown, headers: Readonly<Record<string, string | string[] | undefined>>): void {
  for (const p of params) {
    const value = valueAt(args, p.path);
    const raw = headers[p.header];
    const label = `Mcp-Param-${p.name}`;
    if (Array.isArray(raw)) throw headerMismatch(`the ${label} header is given more than once`);
    if (value === undefined || value === null) {
      if (raw !== undefined) throw headerMismatch(`${label} is set but the arguments have no ${p.path.join('.')}`);
      continue;
    }
    if (raw === undefined) throw headerMismatch(`the ${label} header is required: the arguments set ${p.path.join('.')}`);
    const trimmed = raw.trim();
    if (!FIELD_VALUE.test(trimmed)) throw headerMismatch(`${label} carries characters a header value may not (use =?base64?…?=)`);
    const sent = decodeHeaderValue(trimmed);
    if (!sameValue(p.type, sent, value))
      throw headerMismatch(`${label} ${JSON.stringify(raw)} does not match the arguments' ${p.path.join('.')} ${JSON.stringify(value)}`);
  }
}

/** The headers a call to a tool with these mirrored parameters carries, values encoded as the spec says. */
export function mirroredHeaders(params: readonly MirroredParam[], args: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of params) {
    const value = valueAt(args, p.path);
    if (value === undefined || value === null) continue;
    out[p.header] = encodeHeaderValue(String(value));
  }
  return out;
}

/**
 * A header value as the client meant it: `=?base64?…?=` carries a value that is not plain ASCII,
 * Base64 of its UTF-8; anything else is literal. A sentinel that is not valid Base64 is a mismatch.
 */
export function decodeHeaderValue(value: string): string {
  const m = SENTINEL.exec(value);
  if (!m) return value;
  const b64 = m[1];
  if (!BASE64.test(b64) || b64.length % 4 !== 0) throw headerMismatch(`the header value ${JSON.stringify(value)} is not valid Base64`);
  return Buffer.from(b64, 'base64').toString('utf8');
}

/** The header form of a value: as it is when header-safe, else the Base64 sentinel (also for a literal that looks like one). */
export function encodeHeaderValue(value: string): string {
  const plain = FIELD_VALUE.test(value) && value === value.trim() && !SENTINEL.test(value);
  return plain ? value : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

function valueAt(args: unknown, path: readonly string[]): unknown {
  let at = args;
  for (const key of path) {
    if (typeof at !== 'object' || at === null || Array.isArray(at) || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** Integers compare as numbers (42.0 is 42), booleans as the words, strings exactly. */
function sameValue(type: MirroredParam['type'], sent: string, value: unknown): boolean {
  if (type === 'integer') return typeof value === 'number' && sent.trim() !== '' && Number(sent) === value;
  if (type === 'boolean') return typeof value === 'boolean' && sent === String(value);
  return typeof value === 'string' && sent === value;
}

/** The spec's refusal of headers that are missing, malformed or contradict the body: HeaderMismatch, HTTP 400. */
export function headerMismatch(what: string): FleetError {
  return new FleetError('HEADER_MISMATCH', `Header mismatch: ${what}`);
}
