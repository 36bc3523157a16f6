/**
 * Reads a V8 .cpuprofile (from `node --cpu-prof`) and lists the functions with the most self
 * time, overall and for the gateway's own code and the MCP SDK, so a hotspot has a name.
 * `node dist/bench/profile-summary.js FILE.cpuprofile [TOP]`.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  name: string;
  where: string;
  group: string;
  selfMs: number;
}

/** Self time per function (summed over every node of the same function), largest first. */
export function selfTimes(profile: CpuProfile): { total: number; functions: FunctionTime[] } {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const byFunction = new Map<string, FunctionTime>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    total += ms;
    const frame = byNode.get(id)!.callFrame;
    const where = frame.url ? `${shortPath(frame.url)}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName}@${where}`;
    const entry = byFunction.get(key) ?? { name: frame.functionName || '(anonymous)', where, group: groupOf(frame.url, frame.functionName), selfMs: 0 };
    entry.selfMs += ms;
    byFunction.set(key, entry);
  });
  return { total, functions: [...byFunction.values()].sort((a, b) => b.selfMs - a.selfMs) };
}

/** Which code a function belongs to: gateway, the SDK, another package, Node itself, or V8. */
function groupOf(url: string, name: string): string {
  if (url.includes('/dist/gateway/')) return 'gateway';
  if (url.includes('@modelcontextprotocol/sdk')) return 'sdk';
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return 'node';
  return url ? 'other' : name === '(garbage collector)' ? 'gc' : 'v8/native';
}

function shortPath(url: string): string {
  return url.replace(/^file:\/\//, '').replace(/^.*\/(dist\/|node_modules\/)/, '$1');
}

export function summarizeProfile(file: string, top = 15): string {
  const { total, functions } = selfTimes(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const line = (f: FunctionTime) => `  ${pctOf(f.selfMs, total).padStart(6)}  ${f.selfMs.toFixed(0).padStart(6)} ms  [${f.group}] ${f.name} ${f.where}`;
  const groups = new Map<string, number>();
  for (const f of functions) groups.set(f.group, (groups.get(f.group) ?? 0) + f.selfMs);
  const groupLine = [...groups]
    .sort((a, b) => b[1] - a[1])
    .map(([g, ms]) => `${g} ${pctOf(ms, total)}`)
    .join(', ');
  return [
    `${file}: ${total.toFixed(0)} ms sampled`,
    `self time by group: ${groupLine}`,
    `top ${top} functions by self time:`,
    ...functions.slice(0, top).map(line),
    'top gateway functions:',
    ...functions
      .filter((f) => f.group === 'gateway')
      .slice(0, 8)
      .map(line),
    'top SDK functions:',
    ...functions
      .filter((f) => f.group === 'sdk')
      .slice(0, 8)
      .map(line),
  ].join('\n');
}

function pctOf(part: number, total: number): string {
  return `${((100 * part) / total).toFixed(1)}%`;
}

if (require.main === module) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: profile-summary FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  process.stdout.write(summarizeProfile(file, top ? Number(top) : undefined) + '\n');
}
