/**
 * The depth and string-length check on a JSON text, run before JSON.parse so a hostile message is
 * refused without being built. Depth matters because the gateway writes every message it relays
 * with JSON.stringify, which recurses: on Node 24 it overflows the stack at a few thousand levels,
 * and a message nested 10,000 deep that was parsed (JSON.parse is iterative) could not be sent on.
 *
 * One pass, no recursion, no allocation besides the id it reads: structural characters outside
 * strings are counted, and each string is skipped with indexOf to its closing quote. The pass also
 * reads the message's top-level `id` and whether it has a `method`, so a refusal can still be
 * answered to the request it refuses, or fail the one request a response was for.
 */
import type { RequestId } from './jsonrpc';

export interface JsonLimits {
  /** Arrays and objects nested deeper than this are refused (the message itself is depth 1). */
  maxDepth: number;
  /** A string (key or value) longer than this many characters, as written in the text, is refused. */
  maxStringChars: number;
}

/**
 * The default bound on nesting: far above what MCP messages need (a tool's input schema nested a
 * dozen objects deep sits at about depth 30) and far below where JSON.stringify overflows.
 */
export const DEFAULT_MAX_DEPTH = 128;

/** What the scan found in a text that passes the limits, or the first limit it passes. */
export interface JsonScan {
  /** Undefined when the text is within the limits. */
  problem: string | undefined;
  /** The top-level `id` when it is a string or a finite number (a refusal can carry it back). */
  id: RequestId | null;
  /** The top level has a `method` key: a request or notification, not a response. */
  hasMethod: boolean;
  /** The problem is depth (and no string was too long). */
  tooDeep: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;
const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * Scans `text` against `limits`. A text that is not JSON at all may pass: JSON.parse says what is
 * wrong with it afterwards; the scan only guarantees that what it passes is no deeper and has no
 * longer strings than allowed.
 */
export function scanJson(text: string, limits: JsonLimits): JsonScan {
  const scan: JsonScan = { problem: undefined, id: null, hasMethod: false, tooDeep: false };
  let depth = 0;
  let topIsObject = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (end === -1) return scan; // unterminated: JSON.parse refuses it
      if (end - i - 1 > limits.maxStringChars && scan.problem === undefined)
        scan.problem = `a string is longer than the limit of ${limits.maxStringChars} characters`;
      if (depth === 1 && topIsObject) i = topLevelMember(text, i, end, scan, limits.maxStringChars);
      else i = end;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (depth === 0) topIsObject = c === OPEN_BRACE;
      depth++;
      if (depth > limits.maxDepth && scan.problem === undefined) {
        scan.problem = `the message nests deeper than the limit of ${limits.maxDepth} levels`;
        scan.tooDeep = true;
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return scan;
}

/** The index of the quote that closes the string opening at `open`, or -1. */
function stringEnd(text: string, open: number): number {
  let end = text.indexOf('"', open + 1);
  while (end !== -1) {
    let slashes = 0;
    while (text.charCodeAt(end - 1 - slashes) === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
  return -1;
}

/**
 * A string at the top level of an object: if it is the key "id" or "method", notes what the scan
 * reports of it. Returns where the scan goes on (after the id's value when it read one).
 */
function topLevelMember(text: string, open: number, end: number, scan: JsonScan, maxStringChars: number): number {
  const key = text.slice(open + 1, end);
  if (key !== 'id' && key !== 'method') return end;
  let j = skipSpace(text, end + 1);
  if (text.charCodeAt(j) !== COLON) return end; // a value, not a key
  if (key === 'method') {
    scan.hasMethod = true;
    return end;
  }
  j = skipSpace(text, j + 1);
  if (text.charCodeAt(j) === QUOTE) {
    const close = stringEnd(text, j);
    if (close === -1) return end;
    // An id too long to pass, or with a bad escape, is not read: the refusal goes to id null.
    if (close - j - 1 <= maxStringChars) scan.id = readString(text.slice(j, close + 1));
    return close;
  }
  NUMBER.lastIndex = j;
  const match = NUMBER.exec(text);
  if (match && Number.isFinite(Number(match[0]))) scan.id = Number(match[0]);
  return end;
}

function readString(literal: string): string | null {
  try {
    return JSON.parse(literal) as string;
  } catch {
    return null;
  }
}

function skipSpace(text: string, from: number): number {
  let j = from;
  for (;;) {
    const c = text.charCodeAt(j);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return j;
    j++;
  }
}

/**
 * What the gateway takes from one peer that sends whole messages (an upstream server, by its
 * `limits:` in the config): the longest message, and how deep it may nest.
 */
export interface MessageLimits {
  maxMessageBytes: number;
  maxDepth: number;
}

/** The JSON limits of such a peer's messages: its strings are bounded by the message size alone (file reads, images). */
export function jsonLimitsOf(limits: MessageLimits): JsonLimits {
  return { maxDepth: limits.maxDepth, maxStringChars: limits.maxMessageBytes };
}
