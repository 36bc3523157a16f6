/**
 * A wire tap for a stdio upstream: a small Node script between the gateway and the real server
 * that forwards every byte both ways and first appends each line to a file. Tests read the file
 * to see exactly what the server received and sent: upstream ids, progress tokens, cancellations.
 * The tap and the server share one process group, so the gateway's group kill stops both.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs as `node -e TAP_SCRIPT DIR COMMAND ARGS...`; writes DIR/<parent pid>-<own pid>.jsonl. */
const TAP_SCRIPT = `
const { spawn } = require('node:child_process');
const { appendFileSync, existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { StringDecoder } = require('node:string_decoder');
const [dir, command, ...args] = process.argv.slice(1);
const file = join(dir, process.ppid + '-' + process.pid + '.jsonl');
const holdFile = join(dir, 'hold');
const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
const record = (way, line) => appendFileSync(file, JSON.stringify({ way, line }) + '\\n');
function lines(onLine) {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  return (chunk) => {
    rest += decoder.write(chunk);
    const all = rest.split('\\n');
    rest = all.pop();
    for (const line of all) if (line.trim()) onLine(line);
  };
}
function methodOf(line) {
  try { return JSON.parse(line).method; } catch { return undefined; }
}
// Lines from the server wait here while a held message is queued, so the order never changes.
const queue = [];
let poll;
function forward(line) {
  record('out', line);
  process.stdout.write(line + '\\n');
}
function fromServer(line) {
  const held = existsSync(holdFile) ? readFileSync(holdFile, 'utf8') : undefined;
  if (queue.length === 0 && (held === undefined || methodOf(line) !== held)) return forward(line);
  record('held', line);
  queue.push(line);
  poll ??= setInterval(() => {
    if (existsSync(holdFile)) return;
    clearInterval(poll);
    poll = undefined;
    for (const l of queue.splice(0)) forward(l);
  }, 10);
}
const toServer = lines((line) => record('in', line));
process.stdin.on('data', (c) => { toServer(c); child.stdin.write(c); });
process.stdin.on('end', () => child.stdin.end());
child.stdin.on('error', () => {});
child.stdout.on('data', lines(fromServer));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
`;

/** One line on the wire: `in` went to the server, `out` came from it, `held` came from it but waits (see hold()). */
export interface WireRecord {
  way: 'in' | 'out' | 'held';
  message: any;
}

export class WireTap {
  private made: string | undefined;

  /** Made on first use, so a tap whose tests are skipped leaves nothing behind. */
  get dir(): string {
    return (this.made ??= mkdtempSync(join(tmpdir(), 'mcp-fleet-tap-')));
  }

  /** Wraps a stdio server entry (`command` + `args`) so its traffic is recorded. */
  wrap<T extends { command: string; args: string[] }>(entry: T): T {
    return { ...entry, command: process.execPath, args: ['-e', TAP_SCRIPT, this.dir, entry.command, ...entry.args] };
  }

  /** Everything recorded for the upstream(s) started by the process `gatewayPid`, in wire order per upstream. */
  records(gatewayPid: number): WireRecord[] {
    const files = readdirSync(this.dir).filter((f) => f.startsWith(`${gatewayPid}-`) && f.endsWith('.jsonl'));
    return files.flatMap((f) => {
      const lines = readFileSync(join(this.dir, f), 'utf8').split('\n');
      lines.pop(); // '' after the last newline, or a line the tap is still writing
      return lines.map((l) => {
        const { way, line } = JSON.parse(l) as { way: WireRecord['way']; line: string };
        return { way, message: parseOrRaw(line) };
      });
    });
  }

  /**
   * Holds back the next messages with this method that a server sends, and everything the server
   * sends after them (so order is kept), until release(): a test can make the gateway see them later.
   */
  hold(method: string): void {
    writeFileSync(join(this.dir, 'hold'), method);
  }

  release(): void {
    rmSync(join(this.dir, 'hold'), { force: true });
  }

  remove(): void {
    if (this.made) rmSync(this.made, { recursive: true, force: true });
    this.made = undefined;
  }
}

function parseOrRaw(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return line;
  }
}
