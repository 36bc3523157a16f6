#!/usr/bin/env node
/**
 * Summarises V8 heap snapshots (.heapsnapshot) per constructor, and compares them for a leak check.
 *
 *   node scripts/heap-diff.js --summary FILE          the snapshot's meta, node count, and its top constructors
 *   node scripts/heap-diff.js [--top N] [--min-bytes B] [--interval S] FILE1 FILE2 [FILE3 ...]
 *
 * The comparison prints the total heap growth first → last, then the constructors with the largest
 * self-size growth (count and size deltas, in how many rounds they grew), and a verdict: growth that
 * persists across every round (each snapshot has more of them than the one before) of at least
 * --min-bytes (default 65536) in total is flagged, and the exit code is then 1; V8's compiled code
 * and internals ((code), (hidden), (object shape), (synthetic)) are shown but never flagged.
 *
 * A snapshot can be larger than V8's longest string, so it is never read whole or JSON.parse'd:
 * the file is tokenised as a byte stream, the `nodes` integers go into typed arrays (memory bounded
 * by the node count), edges and the rest are skipped, and of `strings` only the names that nodes
 * use are decoded. One pass, linear in the file's size.
 */
'use strict';
const { closeSync, openSync, readSync } = require('node:fs');

const CHUNK = 1 << 20;
const NODES_KEY = Buffer.from('"nodes":[');
const STRINGS_KEY = Buffer.from('"strings":[');
/**
 * V8's own groups, not the program's objects: compiled code and its metadata grow as more code gets
 * optimised (a warming process, and the snapshots themselves), so their growth is shown, not flagged.
 */
const ENGINE_GROUPS = new Set(['(code)', '(hidden)', '(object shape)', '(synthetic)']);
/** A constructor name longer than this is cut: names are short; a long string is source text. */
const NAME_BYTES = 512;

/** Where `key` ends in `buf` from `from` on (-1: not there); `carry` is the key's prefix seen at the end of the last chunk. */
function findKey(buf, key, carry) {
  let matched = carry.matched;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === key[matched]) matched++;
    else matched = buf[i] === key[0] ? 1 : 0;
    if (matched === key.length) {
      carry.matched = 0;
      return i + 1;
    }
  }
  carry.matched = matched;
  return -1;
}

/** The file's bytes a chunk at a time, into one reused buffer. */
function* chunksOf(file) {
  // synchronous reads: a CLI has nothing else to do, and a ReadStream was seen to hang for good when
  // run from jest (about one run in four: the process asleep, a read or the close never completed)
  const fd = openSync(file, 'r');
  const buffer = Buffer.alloc(CHUNK);
  try {
    for (let n; (n = readSync(fd, buffer, 0, CHUNK, null)) > 0;) yield buffer.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** Reads one snapshot: its meta, and per node its type, name (string index) and self size. */
function readSnapshot(file) {
  let phase = 'header';
  let header = [];
  const carry = { matched: 0 };
  let meta;
  let nodeCount = 0;
  let fields = 0;
  let typeAt = 0;
  let nameAt = 0;
  let sizeAt = 0;
  let types, names, sizes;
  // the nodes array: integers separated by commas (and newlines)
  let value = 0;
  let digits = false;
  let slot = 0;
  // the strings array: which are wanted, and the current one's raw bytes
  let wanted;
  let stringIndex = 0;
  let inString = false;
  let escaped = false;
  let raw = [];
  let rawLength = 0;
  const strings = new Map();

  const startNodes = () => {
    const text = Buffer.concat(header).toString('utf8');
    header = undefined;
    const json = text.slice(0, text.lastIndexOf(',')) + '}';
    let parsed;
    try {
      parsed = JSON.parse(json);
    } catch {
      throw new Error(`${file}: not a V8 heap snapshot (its header before "nodes" is not JSON)`);
    }
    meta = parsed.snapshot && parsed.snapshot.meta;
    if (!meta || !Array.isArray(meta.node_fields) || !Array.isArray(meta.node_types))
      throw new Error(`${file}: not a V8 heap snapshot (no snapshot.meta.node_fields)`);
    nodeCount = parsed.snapshot.node_count;
    fields = meta.node_fields.length;
    typeAt = meta.node_fields.indexOf('type');
    nameAt = meta.node_fields.indexOf('name');
    sizeAt = meta.node_fields.indexOf('self_size');
    if (typeAt < 0 || nameAt < 0 || sizeAt < 0) throw new Error(`${file}: node_fields lacks type, name or self_size`);
    types = new Uint8Array(nodeCount);
    names = new Uint32Array(nodeCount);
    sizes = new Float64Array(nodeCount);
  };

  const endValue = () => {
    const node = Math.floor(slot / fields);
    if (node >= nodeCount) throw new Error(`${file}: more nodes than snapshot.node_count (${nodeCount})`);
    const field = slot % fields;
    if (field === typeAt) types[node] = value;
    else if (field === nameAt) names[node] = value;
    else if (field === sizeAt) sizes[node] = value;
    slot++;
    value = 0;
    digits = false;
  };

  const startStrings = () => {
    if (slot !== nodeCount * fields) throw new Error(`${file}: ${slot} node values for ${nodeCount} nodes of ${fields} fields`);
    wanted = new Set();
    const nameTypes = new Set(['object', 'native'].map((t) => meta.node_types[0].indexOf(t)));
    for (let n = 0; n < nodeCount; n++) if (nameTypes.has(types[n])) wanted.add(names[n]);
  };

  for (const chunk of chunksOf(file)) {
    let i = 0;
    if (phase === 'header') {
      const end = findKey(chunk, NODES_KEY, carry);
      header.push(Buffer.from(end < 0 ? chunk : chunk.subarray(0, end)));
      if (end < 0) continue;
      startNodes();
      phase = 'nodes';
      i = end;
    }
    if (phase === 'nodes') {
      for (; i < chunk.length; i++) {
        const c = chunk[i];
        if (c >= 48 && c <= 57) {
          value = value * 10 + (c - 48);
          digits = true;
        } else if (c === 93 /* ] */) {
          if (digits) endValue();
          phase = 'skip';
          i++;
          break;
        } else if (digits) endValue();
      }
    }
    if (phase === 'skip') {
      const end = findKey(chunk.subarray(i), STRINGS_KEY, carry);
      if (end < 0) continue;
      startStrings();
      phase = 'strings';
      i += end;
    }
    if (phase === 'strings') {
      let from = i;
      for (; i < chunk.length; i++) {
        const c = chunk[i];
        if (!inString) {
          if (c === 34 /* " */) {
            inString = true;
            from = i + 1;
          } else if (c === 93) {
            phase = 'done';
            break;
          }
          continue;
        }
        if (escaped) escaped = false;
        else if (c === 92 /* \ */) escaped = true;
        else if (c === 34) {
          if (wanted.has(stringIndex)) strings.set(stringIndex, decode(keep(raw, rawLength, chunk.subarray(from, i))));
          raw = [];
          rawLength = 0;
          stringIndex++;
          inString = false;
        }
      }
      if (inString && wanted.has(stringIndex) && rawLength < NAME_BYTES) {
        const part = chunk.subarray(from);
        raw.push(Buffer.from(part));
        rawLength += part.length;
      }
    }
    if (phase === 'done') break;
  }
  if (phase !== 'done') throw new Error(`${file}: not a complete V8 heap snapshot (it ends in its ${phase === 'header' ? 'header' : phase} part)`);
  return { meta, nodeCount, types, names, sizes, strings };
}

function keep(raw, rawLength, last) {
  return rawLength + last.length <= NAME_BYTES ? Buffer.concat([...raw, last]) : Buffer.concat([...raw, last]).subarray(0, NAME_BYTES);
}

/** A JSON string's raw bytes as text; a cut one (a long name) keeps what decodes. */
function decode(bytes) {
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(`"${text}"`);
  } catch {
    return text.replace(/\\.?$/, '');
  }
}

/** Per constructor (DevTools' grouping: objects by class name, the rest by node type), count and self size. */
function summarize(snapshot) {
  const { meta, nodeCount, types, names, sizes, strings } = snapshot;
  const typeNames = meta.node_types[0];
  const groups = new Map();
  let total = 0;
  for (let n = 0; n < nodeCount; n++) {
    const type = typeNames[types[n]];
    const key = type === 'object' || type === 'native' ? (strings.get(names[n]) ?? '(unknown)') : `(${type})`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { count: 0, size: 0 }));
    g.count++;
    g.size += sizes[n];
    total += sizes[n];
  }
  return { nodeCount, total, groups };
}

function bytes(n) {
  const sign = n < 0 ? '-' : '';
  const a = Math.abs(n);
  if (a < 1024) return `${sign}${a} B`;
  if (a < 1024 * 1024) return `${sign}${(a / 1024).toFixed(1)} KiB`;
  return `${sign}${(a / 1024 / 1024).toFixed(1)} MiB`;
}

const signed = (n, fmt = String) => (n > 0 ? `+${fmt(n)}` : n < 0 ? fmt(n) : ` ${fmt(0)}`);

function printSummary(file, snapshot, top) {
  const s = summarize(snapshot);
  console.log(`${file}: V8 heap snapshot, node_fields ${snapshot.meta.node_fields.join(',')}`);
  console.log(`nodes ${s.nodeCount}, self size ${bytes(s.total)}`);
  console.log(`${'constructor'.padEnd(40)} ${'count'.padStart(10)} ${'self size'.padStart(12)}`);
  for (const [name, g] of [...s.groups].sort((a, b) => b[1].size - a[1].size).slice(0, top))
    console.log(`${name.slice(0, 40).padEnd(40)} ${String(g.count).padStart(10)} ${bytes(g.size).padStart(12)}`);
}

/** Returns whether growth persisted (the exit code's 1). */
function printDiff(summaries, { top, minBytes, interval }) {
  const first = summaries[0];
  const last = summaries[summaries.length - 1];
  const rounds = summaries.length - 1;
  const every = interval ? ` of ${interval}s` : '';
  console.log(
    `heap growth over ${rounds} round${rounds === 1 ? '' : 's'}${every}: ${signed(last.total - first.total, bytes)} self size (${bytes(first.total)} → ${bytes(last.total)}), ${signed(last.nodeCount - first.nodeCount)} objects`,
  );
  const names = new Set(summaries.flatMap((s) => [...s.groups.keys()]));
  const rows = [...names].map((name) => {
    const at = (s) => s.groups.get(name) ?? { count: 0, size: 0 };
    let grown = 0;
    for (let r = 1; r <= rounds; r++) if (at(summaries[r]).count > at(summaries[r - 1]).count) grown++;
    return { name, count: at(last).count - at(first).count, size: at(last).size - at(first).size, grown };
  });
  const persistent = rows.filter((r) => rounds >= 2 && r.grown === rounds && r.size >= minBytes && !ENGINE_GROUPS.has(r.name)).sort((a, b) => b.size - a.size);
  console.log(`${'constructor'.padEnd(40)} ${'count Δ'.padStart(10)} ${'self size Δ'.padStart(12)}  grew in`);
  for (const r of rows
    .filter((r) => r.count !== 0 || r.size !== 0)
    .sort((a, b) => b.size - a.size || b.count - a.count)
    .slice(0, top)) {
    const flag = persistent.includes(r) ? '  persistent' : '';
    console.log(`${r.name.slice(0, 40).padEnd(40)} ${signed(r.count).padStart(10)} ${signed(r.size, bytes).padStart(12)}  ${r.grown}/${rounds}${flag}`);
  }
  if (rounds < 2) console.log('verdict: one round shows growth, not whether it persists; take 2 rounds or more (--rounds)');
  else if (persistent.length === 0) console.log(`verdict: no constructor grew in all ${rounds} rounds by ${bytes(minBytes)} or more`);
  else
    console.log(
      `verdict: growth persists across all ${rounds} rounds in ${persistent.length} constructor${persistent.length === 1 ? '' : 's'}: ${persistent.map((r) => r.name).join(', ')}`,
    );
  return persistent.length > 0;
}

function usage(problem) {
  console.error(`heap-diff: ${problem}\nusage: heap-diff.js --summary FILE | heap-diff.js [--top N] [--min-bytes B] [--interval S] FILE1 FILE2 [FILE...]`);
  process.exit(2);
}

async function main(argv) {
  const files = [];
  const opts = { top: 15, minBytes: 65536, interval: undefined, summary: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const number = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) usage(`${a} needs a number`);
      return v;
    };
    if (a === '--summary') opts.summary = true;
    else if (a === '--top') opts.top = number();
    else if (a === '--min-bytes') opts.minBytes = number();
    else if (a === '--interval') opts.interval = number();
    else if (a.startsWith('-')) usage(`unknown option '${a}'`);
    else files.push(a);
  }
  if (opts.summary) {
    if (files.length !== 1) usage('--summary takes one file');
    printSummary(files[0], readSnapshot(files[0]), opts.top);
    return 0;
  }
  if (files.length < 2) usage('compare two snapshots or more');
  const summaries = [];
  // one at a time: only one snapshot's typed arrays are held at once
  for (const f of files) summaries.push(summarize(readSnapshot(f)));
  return printDiff(summaries, opts) ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`heap-diff: ${err.message}`);
      process.exit(3);
    },
  );
}

module.exports = { readSnapshot, summarize };
