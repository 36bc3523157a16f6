/**
 * `npm run bench:frames`
 *
 * Whether the gateway's frame decoding is linear in a message's size. Part 1 feeds one 4–64 MiB
 * JSON-RPC message, full of multi-byte characters, in 64 KiB chunks to the stdio line decoder and
 * to the SSE decoder (plus the frame parser, as the upstream transport runs them) and prints the
 * time per MiB and its ratio to the 4 MiB figure of the same run: linear ⇒ ≈ 1 (the quadratic
 * decoder this replaced doubled it with every doubling). JSON.parse of the same text, decoded in
 * one piece, is the floor. Part 2 reads an 8/16/32 MiB file with server-filesystem's
 * read_text_file, direct over stdio versus through a gateway process, alternating, same run.
 */
import { exposedName } from '../gateway/protocol/names';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseMessageOrBatch } from '../gateway/protocol/frames';
import type { JsonRpcMessage, JsonRpcResult } from '../gateway/protocol/jsonrpc';
import { LineDecoder } from '../gateway/protocol/line-framing';
import { createLogger } from '../gateway/log';
import { ProcessTransport } from '../gateway/upstream/process-transport';
import { SseDecoder } from '../gateway/upstream/sse-decoder';
import { StreamableHttpTransport } from '../gateway/upstream/streamable-http-transport';
import { Cleanup } from './cleanup';
import { startGatewayProcess, UPSTREAM_NAME } from './gateway-process';
import { MARKER_VAR, killMarked } from './processes';
import { spread } from './stats';

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
const DECODER_SIZES_MIB = [4, 8, 16, 32, 64];
const FILE_SIZES_MIB = [8, 16, 32];
const ROUNDS = 3;
const FILESYSTEM_JS = require.resolve('@modelcontextprotocol/server-filesystem/dist/index.js');

/** `bytes` of UTF-8 whose 17-byte period splits é, € and 😀 at every offset of some chunk boundary. */
function textOf(bytes: number): string {
  const period = 'é€😀 fleets\n';
  return period.repeat(Math.ceil(bytes / Buffer.byteLength(period)));
}

function median(values: number[]): number {
  return spread(values).median;
}

/** ms for each decoder on one message of `mib` MiB, median of ROUNDS. */
function decoderFigures(mib: number): { line: number; sse: number; parse: number } {
  const message = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: textOf(mib * MiB) }] } });
  const line = Buffer.from(message + '\n');
  const sseText = `id: 1\ndata: ${message}\n\n`;
  const times = { line: [] as number[], sse: [] as number[], parse: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    let got = 0;
    let t = performance.now();
    const decoder = new LineDecoder({
      message: () => got++,
      refused: (r) => {
        throw r.error;
      },
    });
    for (let i = 0; i < line.length; i += CHUNK) decoder.push(line.subarray(i, i + CHUNK));
    times.line.push(performance.now() - t);

    t = performance.now();
    const sse = new SseDecoder((e) => {
      if (parseMessageOrBatch(e.data, 'event').ok) got++;
    });
    for (let i = 0; i < sseText.length; i += CHUNK) sse.push(sseText.slice(i, i + CHUNK));
    times.sse.push(performance.now() - t);

    t = performance.now();
    JSON.parse(line.toString('utf8'));
    times.parse.push(performance.now() - t);
    if (got !== 2) throw new Error(`the decoders delivered ${got} of 2 messages for ${mib} MiB`);
  }
  return { line: median(times.line), sse: median(times.sse), parse: median(times.parse) };
}

function decoderTable(): string {
  const rows: string[] = [];
  let base: { line: number; sse: number } | undefined;
  for (const mib of DECODER_SIZES_MIB) {
    const f = decoderFigures(mib);
    const perMib = { line: f.line / mib, sse: f.sse / mib, parse: f.parse / mib };
    base ??= perMib;
    rows.push(
      `| ${mib} MiB | ${f.line.toFixed(0)} | ${perMib.line.toFixed(1)} | ${(perMib.line / base.line).toFixed(2)} | ${f.sse.toFixed(0)} | ${perMib.sse.toFixed(1)} | ${(perMib.sse / base.sse).toFixed(2)} | ${f.parse.toFixed(0)} | ${perMib.parse.toFixed(1)} |`,
    );
    process.stderr.write(`… decoders: ${mib} MiB done\n`);
  }
  return [
    '| one message | line decoder ms | ms/MiB | ratio to 4 MiB | SSE decoder + parser ms | ms/MiB | ratio to 4 MiB | JSON.parse alone ms | ms/MiB |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

type Transport = ProcessTransport | StreamableHttpTransport;

/** Request/response over one of the gateway's upstream transports, matched by id. */
function rpcOver(transport: Transport): (method: string, params?: Record<string, unknown>) => Promise<JsonRpcMessage> {
  const waiting = new Map<number, (m: JsonRpcMessage) => void>();
  transport.onmessage = (m: JsonRpcMessage) => {
    const id = (m as { id?: number }).id;
    if (!('method' in m) && id !== undefined && waiting.has(id)) {
      waiting.get(id)!(m);
      waiting.delete(id);
    }
  };
  let next = 1;
  return (method, params) =>
    new Promise((resolve, reject) => {
      const id = next++;
      waiting.set(id, resolve);
      transport.send({ jsonrpc: '2.0', id, method, params }).catch(reject);
    });
}

/** Initializes an MCP session over `transport` and returns a timed read of a file. */
async function fileReader(transport: Transport, tool: string): Promise<(path: string, chars: number) => Promise<number>> {
  await transport.start();
  const rpc = rpcOver(transport);
  const init = await rpc('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench-frames', version: '1' } });
  if (!('result' in init)) throw new Error(`initialize failed: ${JSON.stringify(init)}`);
  if (transport instanceof StreamableHttpTransport) transport.setProtocolVersion(String((init as JsonRpcResult).result.protocolVersion));
  await transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return async (path, chars) => {
    const t = performance.now();
    const reply = await rpc('tools/call', { name: tool, arguments: { path } });
    const ms = performance.now() - t;
    const text = 'result' in reply ? (reply.result as { content?: { text?: string }[] }).content?.[0]?.text : undefined;
    if (text?.length !== chars)
      throw new Error(`${tool} of ${path}: expected ${chars} characters, got ${text === undefined ? JSON.stringify(reply).slice(0, 300) : text.length}`);
    return ms;
  };
}

async function endToEndTable(cleanup: Cleanup, marker: string, workDir: string): Promise<string> {
  const files = FILE_SIZES_MIB.map((mib) => {
    const text = textOf(mib * MiB);
    const path = join(workDir, `${mib}mib.txt`);
    writeFileSync(path, text);
    return { mib, path, chars: text.length };
  });
  const server = { command: process.execPath, args: [FILESYSTEM_JS, workDir] };
  const direct = new ProcessTransport({ ...server, env: { [MARKER_VAR]: marker }, log: createLogger('silent') });
  cleanup.add('direct server', () => direct.close());
  const gateway = await startGatewayProcess({ id: 'frames', upstream: server, marker, workDir });
  cleanup.add('gateway', () => gateway.stop());
  const viaGateway = new StreamableHttpTransport(gateway.mcpUrl);
  cleanup.add('gateway client', () => viaGateway.close());
  const readDirect = await fileReader(direct, 'read_text_file');
  const readViaGateway = await fileReader(viaGateway, exposedName(UPSTREAM_NAME, '__', 'read_text_file'));

  const rows: string[] = [];
  for (const f of files) {
    const times = { direct: [] as number[], gateway: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      times.direct.push(await readDirect(f.path, f.chars));
      times.gateway.push(await readViaGateway(f.path, f.chars));
    }
    const d = median(times.direct);
    const g = median(times.gateway);
    rows.push(`| ${f.mib} MiB (answer ${2 * f.mib} MiB) | ${d.toFixed(0)} | ${g.toFixed(0)} | ${(g / d).toFixed(2)} | ${(g / f.mib).toFixed(0)} |`);
    process.stderr.write(`… end to end: ${f.mib} MiB done\n`);
  }
  return [
    '| file (answer: text + structuredContent) | direct ms | through the gateway ms | gateway / direct | gateway ms/MiB of file |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
}

async function main(): Promise<number> {
  const cleanup = new Cleanup();
  const marker = randomUUID();
  cleanup.add('leftover sweep', async () => {
    const n = await killMarked(marker);
    if (n > 0) process.stderr.write(`cleanup: killed ${n} leftover process(es)\n`);
  });
  const workDir = mkdtempSync(join(tmpdir(), 'mcp-fleet-bench-frames-'));
  cleanup.add('work directory', () => rmSync(workDir, { recursive: true, force: true }));
  const offSignals = cleanup.onTermination('bench:frames');
  try {
    process.stdout.write(
      [
        '## Frame decoding (bench:frames)',
        '',
        `${new Date().toISOString()}, Node ${process.version}, ${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'}), load average at the start ${loadAverage()}.`,
        `Medians of ${ROUNDS} rounds. Each message is one JSON-RPC result whose text repeats "é€😀 fleets\\n" (17 bytes).`,
        '',
        `### One message fed in ${CHUNK / 1024} KiB chunks`,
        '',
        decoderTable(),
        '',
        '### read_text_file, direct over stdio vs through a gateway process (Streamable HTTP front, stdio upstream)',
        '',
        await endToEndTable(cleanup, marker, workDir),
        '',
        `Load average at the end ${loadAverage()}.`,
        '',
      ].join('\n'),
    );
    return 0;
  } catch (err) {
    process.stderr.write(`bench:frames failed: ${(err as Error).stack ?? err}\n`);
    return 1;
  } finally {
    await cleanup.runAll();
    offSignals();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`bench:frames: ${err.message}\n`);
    process.exitCode = 2;
  },
);
