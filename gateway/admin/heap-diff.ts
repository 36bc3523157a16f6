/**
 * The leak check's comparison: what grew between two V8 heap snapshots of one process, by
 * constructor (objects) or by kind (closures, arrays, strings, ...), in instances and bytes. Under
 * steady load a process that does not leak grows by little in either; a leak shows as one
 * constructor growing with every snapshot. `node dist/gateway/admin/heap-diff.js A B [--top N]`
 * (scripts/mcp-debug.sh leak takes the two snapshots and runs it).
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface Group {
  count: number;
  bytes: number;
}

export interface Growth {
  name: string;
  count: number;
  bytes: number;
  /** In the second snapshot. */
  total: Group;
}

export interface HeapDiff {
  before: Group;
  after: Group;
  /** Most grown first, by bytes. */
  grown: Growth[];
}

/** Instances and self sizes per constructor (objects) or `(kind)` (everything else). */
export function groups(json: string): Map<string, Group> {
  const snap = JSON.parse(json) as Snapshot;
  const fields = snap.snapshot?.meta?.node_fields;
  if (!Array.isArray(fields) || !Array.isArray(snap.nodes) || !Array.isArray(snap.strings))
    throw new Error('not a V8 heap snapshot (no snapshot.meta.node_fields, nodes, strings)');
  const [typeAt, nameAt, sizeAt, width] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size'), fields.length];
  const types = snap.snapshot.meta.node_types[0];
  const out = new Map<string, Group>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]];
    const name = type === 'object' ? snap.strings[snap.nodes[i + nameAt]] : `(${type})`;
    const group = out.get(name) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += snap.nodes[i + sizeAt];
    out.set(name, group);
  }
  return out;
}

export function diffHeaps(before: Map<string, Group>, after: Map<string, Group>, top = 20): HeapDiff {
  const sum = (m: Map<string, Group>) => [...m.values()].reduce((a, g) => ({ count: a.count + g.count, bytes: a.bytes + g.bytes }), { count: 0, bytes: 0 });
  const grown: Growth[] = [];
  for (const [name, total] of after) {
    const was = before.get(name) ?? { count: 0, bytes: 0 };
    if (total.bytes > was.bytes || total.count > was.count) grown.push({ name, count: total.count - was.count, bytes: total.bytes - was.bytes, total });
  }
  grown.sort((a, b) => b.bytes - a.bytes || b.count - a.count);
  return { before: sum(before), after: sum(after), grown: grown.slice(0, top) };
}

export function formatDiff(diff: HeapDiff): string {
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
  const lines = [
    `heap: ${mb(diff.before.bytes)} in ${diff.before.count} objects, then ${mb(diff.after.bytes)} in ${diff.after.count} (${diff.after.bytes >= diff.before.bytes ? '+' : ''}${mb(diff.after.bytes - diff.before.bytes)})`,
    'grown most (bytes, instances, now):',
    ...diff.grown.map((g) => `  +${g.bytes} B  +${g.count}  ${g.name}  (now ${g.total.count}, ${mb(g.total.bytes)})`),
  ];
  return lines.join('\n');
}

function main(argv: string[]): void {
  const topAt = argv.indexOf('--top');
  const top = topAt >= 0 ? Number(argv[topAt + 1]) : 20;
  const [a, b, extra] = argv.filter((_, i) => topAt < 0 || (i !== topAt && i !== topAt + 1));
  if (!a || !b || extra !== undefined || !Number.isInteger(top) || top < 1) {
    process.stderr.write('usage: heap-diff BEFORE.heapsnapshot AFTER.heapsnapshot [--top N]\n');
    process.exit(2);
  }
  const read = (file: string) => {
    try {
      return groups(readFileSync(file, 'utf8'));
    } catch (err) {
      process.stderr.write(`heap-diff: ${file}: ${(err as Error).message}\n`);
      process.exit(1);
    }
  };
  process.stdout.write(`${formatDiff(diffHeaps(read(a), read(b), top))}\n`);
}

if (require.main === module) main(process.argv.slice(2));
