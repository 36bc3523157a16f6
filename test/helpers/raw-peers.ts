/**
 * Raw JSON-RPC clients of the gateway over the fronts that carry one ordered stream each (stdio,
 * legacy SSE, WebSocket): what a test sends goes out as it is, and every message the gateway sends
 * is kept in arrival order, so tests can assert on exact bytes and on order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { CLI_JS, tapEnv, type TestGateway } from './gateway';
import { MARKER_VAR } from './servers';
import { waitFor } from './wait';

export type OrderedFront = 'stdio' | 'sse' | 'websocket';
export const ORDERED_FRONTS: OrderedFront[] = ['stdio', 'sse', 'websocket'];

export interface RawPeer {
  /** Every message received, in order. */
  readonly received: any[];
  /** Sends one message, or a text as it is (to send garbage). */
  send(message: unknown): Promise<void>;
  /** The first received message that matches, waiting for it up to 15 s. */
  next(match: (m: any) => boolean, what: string): Promise<any>;
  close(): Promise<void>;
}

export const INITIALIZE = {
  jsonrpc: '2.0',
  id: 'init',
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

export async function openRawPeer(gw: TestGateway, front: OrderedFront): Promise<RawPeer> {
  const received: any[] = [];
  const base = { received, next: (match: (m: any) => boolean, what: string) => waitFor(() => received.find(match), what, 15_000, 10) };
  switch (front) {
    case 'websocket':
      return { ...base, ...(await websocketPeer(gw, received)) };
    case 'sse':
      return { ...base, ...(await ssePeer(gw, received)) };
    case 'stdio':
      return { ...base, ...stdioPeer(gw, received) };
  }
}

const text = (message: unknown) => (typeof message === 'string' ? message : JSON.stringify(message));

async function websocketPeer(gw: TestGateway, received: any[]) {
  const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`, 'mcp');
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.on('message', (d) => received.push(JSON.parse(d.toString())));
  return {
    send: (m: unknown) => new Promise<void>((resolve, reject) => ws.send(text(m), (err) => (err ? reject(err) : resolve()))),
    close: async () => {
      ws.close();
      await new Promise((r) => ws.once('close', r));
    },
  };
}

async function ssePeer(gw: TestGateway, received: any[]) {
  const controller = new AbortController();
  const res = await fetch(`${gw.url}/sse`, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
  let endpoint: string | undefined;
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).trimStart())
            .join('\n');
          if (event === 'endpoint') endpoint = new URL(data, gw.url).href;
          else if (data) received.push(JSON.parse(data));
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  const url = await waitFor(() => endpoint, 'the SSE endpoint event');
  return {
    // A message the gateway refuses is answered on its POST (with the HTTP status), not on the stream.
    send: async (m: unknown) => {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text(m) });
      const body = await r.text();
      if (!r.ok && body.startsWith('{')) received.push(JSON.parse(body));
    },
    close: async () => {
      controller.abort();
      await reading;
    },
  };
}

function stdioPeer(gw: TestGateway, received: any[]) {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-fleet-raw-'));
  const file = join(dir, 'gateway.json');
  writeFileSync(file, JSON.stringify(gw.doc));
  const child: ChildProcess = spawn(process.execPath, [CLI_JS, '--stdio', '--config', file], {
    env: { PATH: process.env.PATH ?? '', [MARKER_VAR]: gw.marker, ...tapEnv() },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  let buf = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (c: string) => {
    buf += c;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      received.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  const exited = new Promise((r) => child.once('exit', r));
  return {
    send: (m: unknown) => new Promise<void>((resolve, reject) => child.stdin!.write(`${text(m)}\n`, (err) => (err ? reject(err) : resolve()))),
    close: async () => {
      child.stdin!.end();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
