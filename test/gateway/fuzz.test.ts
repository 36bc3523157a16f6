/**
 * The fuzz test of issue 10: 10,000 malformed, mutated and oversized JSON-RPC messages at each
 * network front (Streamable HTTP in both eras, legacy SSE, WebSocket) and 2,000 at stdio, from a
 * fixed seed, while a malicious upstream floods, answers huge, nests deep, answers ids it never
 * got and writes invalid JSON. The gateway never crashes or hangs: every reply is a valid JSON-RPC
 * message or an HTTP status of the set below, every well-formed request gets its answer, and a
 * well-behaved SDK client is served all along (its calls counted: zero failures).
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import WebSocket from 'ws';
import { connectClient, disconnect, newMarker, startTestGateway, type TestGateway } from '../helpers/gateway';
import { expectedAnswers, fuzzMessages, responseProblem, type FuzzLimits } from '../helpers/fuzz-messages';
import { rawSession } from '../helpers/raw-http';
import { envelope } from '../helpers/raw-modern';
import { INITIALIZE, openRawPeer, type OrderedFront, type RawPeer } from '../helpers/raw-peers';
import { scripted } from '../helpers/scripted';
import { waitForNoProcesses } from '../helpers/processes';
import { waitFor } from '../helpers/wait';

const SEED = 20261202;
const PER_FRONT = 10_000;
const AT_STDIO = 2_000;
const MAX_BODY = 128 * 1024;
const LIMITS: FuzzLimits = { maxDepth: 64, maxStringChars: 16 * 1024, maxBytes: MAX_BODY - 1024 };
/** What an HTTP front may answer a hostile POST with; a 5xx (or a timeout) would be the gateway failing. */
const STATUSES = new Set([200, 202, 400, 404, 405, 406, 409, 413, 415, 429]);
const CONCURRENCY = 32;
const EVIL_TOOLS = ['flood', 'bad_ids', 'huge_result', 'deep_result', 'no_newline'];

/** Runs `work` over `items`, `CONCURRENCY` at a time. */
async function inParallel<T>(items: readonly T[], work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i], i);
      }
    }),
  );
}

/** The JSON-RPC messages of an HTTP reply body, JSON or SSE. */
function messagesOf(contentType: string, text: string): unknown[] {
  if (!text) return [];
  if (contentType.includes('text/event-stream'))
    return text
      .split('\n')
      .filter((l) => l.startsWith('data:') && l.slice(5).trim())
      .map((l) => JSON.parse(l.slice(5)) as unknown);
  const value = JSON.parse(text) as unknown;
  return Array.isArray(value) ? value : [value];
}

/** What went wrong across one front's run, for one clear failure message. */
class Findings {
  readonly problems: string[] = [];
  readonly answered = new Set<string>();

  reply(m: unknown, sent: string): void {
    const problem = responseProblem(m);
    if (problem) this.problems.push(`${problem}: ${JSON.stringify(m).slice(0, 200)} (for ${sent.slice(0, 120)})`);
    const id = (m as { id?: unknown }).id;
    if (typeof id === 'string') this.answered.add(id);
  }

  missing(expected: Set<string>): string[] {
    return [...expected].filter((id) => !this.answered.has(id));
  }
}

describe('fuzzing every front, with a malicious upstream behind', () => {
  const marker = newMarker();
  let gw: TestGateway;
  let good: Client;
  let evil: Client;
  const served = { calls: 0, failures: [] as string[] };
  const evilCalls = { settled: 0 };
  let running = true;
  let loops: Promise<void>[] = [];

  beforeAll(async () => {
    gw = await startTestGateway(
      {
        http: { maxBodyBytes: MAX_BODY },
        limits: { maxJsonDepth: LIMITS.maxDepth, maxStringChars: LIMITS.maxStringChars },
        log: { calls: false },
        servers: {
          s: scripted(marker, ['--tools', 'echo']),
          evil: scripted(marker, ['--tools', ['echo', ...EVIL_TOOLS].join(','), '--deep-schema', '5000', '--name', 'evil'], {
            limits: { maxMessageBytes: 256 * 1024, maxDepth: 64 },
          }),
        },
      },
      marker,
    );
    good = await connectClient(gw, 'streamable-http');
    evil = await connectClient(gw, 'websocket');
    // the well-behaved client, all along
    loops.push(
      (async () => {
        while (running) {
          try {
            const r = await good.callTool({ name: 's__echo', arguments: {} });
            if ((r.content as { text: string }[])[0].text !== 'scripted:echo') served.failures.push(JSON.stringify(r));
          } catch (err) {
            served.failures.push((err as Error).message);
          }
          served.calls++;
        }
      })(),
    );
    // the malicious upstream, made to misbehave all along
    loops.push(
      (async () => {
        for (let i = 0; running; i++) {
          const tool = EVIL_TOOLS[i % EVIL_TOOLS.length];
          // floods of 200 notifications, answers of 1 MiB (past its limit) and 5000 deep; their errors are expected
          const args = { count: 200, bytes: tool === 'flood' ? 2000 : 1024 * 1024, depth: 5000 };
          await evil.callTool({ name: `evil__${tool}`, arguments: args }, undefined, { timeout: 20_000 }).catch(() => {});
          evilCalls.settled++;
        }
      })(),
    );
  });

  afterAll(async () => {
    running = false;
    await Promise.all(loops);
    loops = [];
    await disconnect(good);
    await disconnect(evil);
    await gw?.stop();
    expect(await waitForNoProcesses(marker)).toEqual([]);
  });

  afterEach(() => {
    // the well-behaved client was served throughout, and the malicious server kept being called
    expect(served.failures).toEqual([]);
    expect(served.calls).toBeGreaterThan(0);
    expect(evilCalls.settled).toBeGreaterThan(0);
  });

  async function fuzzHttp(texts: string[], headersOf: (text: string) => Record<string, string>, batches: boolean): Promise<Findings> {
    const findings = new Findings();
    await inParallel(texts, async (text) => {
      let res: Response;
      try {
        res = await fetch(`${gw.url}/mcp`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headersOf(text) },
          body: text,
          signal: AbortSignal.timeout(20_000),
        });
      } catch (err) {
        findings.problems.push(`no answer (${(err as Error).message}) to ${text.slice(0, 120)}`);
        return;
      }
      const body = await res.text();
      if (!STATUSES.has(res.status)) findings.problems.push(`HTTP ${res.status} for ${text.slice(0, 120)}: ${body.slice(0, 200)}`);
      // a body over the limit is not read: its answer is the status, to no id
      if (Buffer.byteLength(text) > MAX_BODY && res.status !== 413) findings.problems.push(`HTTP ${res.status}, not 413, for a body of ${text.length}`);
      try {
        for (const m of messagesOf(res.headers.get('content-type') ?? '', body)) findings.reply(m, text);
      } catch {
        findings.problems.push(`a body that is not JSON-RPC: ${body.slice(0, 200)}`);
      }
    });
    expect(findings.problems.slice(0, 10)).toEqual([]);
    const readable = texts.filter((t) => Buffer.byteLength(t) <= MAX_BODY);
    expect(findings.missing(expectedAnswers(readable, batches)).slice(0, 10)).toEqual([]);
    return findings;
  }

  it(`Streamable HTTP 2025: ${PER_FRONT} messages in a session`, async () => {
    const session = await rawSession(`${gw.url}/mcp`);
    const texts = fuzzMessages(SEED, PER_FRONT, { ...LIMITS, oversize: MAX_BODY });
    await fuzzHttp(texts, () => session.headers, true);
    await session.close();
  });

  it(`Streamable HTTP 2026-07-28: ${PER_FRONT} stateless messages`, async () => {
    const texts = fuzzMessages(SEED + 1, PER_FRONT, { ...LIMITS, oversize: MAX_BODY }, envelope());
    const headersOf = (text: string): Record<string, string> => {
      const method = /"method":"([\w/.-]{1,40})"/.exec(text)?.[1] ?? 'ping';
      const name = /"name":"([\w.-]{1,40})"/.exec(text)?.[1];
      return { 'mcp-protocol-version': '2026-07-28', 'mcp-method': method, ...(name ? { 'mcp-name': name } : {}) };
    };
    await fuzzHttp(texts, headersOf, false);
  });

  /** Sends `texts` on an initialized raw session of `front` and waits for every answer owed. */
  async function fuzzOrdered(front: OrderedFront, texts: string[]): Promise<void> {
    const peer: RawPeer = await openRawPeer(gw, front);
    await peer.send(INITIALIZE);
    await peer.next((m) => m.id === 'init', 'the answer to initialize');
    await peer.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    await inParallel(texts, (text) => peer.send(text));
    const expected = expectedAnswers(texts, false);
    const findings = new Findings();
    const check = () => {
      findings.answered.clear();
      findings.problems.length = 0;
      for (const m of peer.received) findings.reply(m, '(stream)');
      return findings.missing(expected).length === 0;
    };
    await waitFor(check, `answers to the ${expected.size} well-formed requests on ${front}`, 30_000, 250).catch(() => undefined);
    expect(findings.problems.slice(0, 10)).toEqual([]);
    expect(findings.missing(expected).slice(0, 10)).toEqual([]);
    await peer.close();
  }

  it(`legacy SSE: ${PER_FRONT} messages to /messages`, async () => {
    await fuzzOrdered('sse', fuzzMessages(SEED + 2, PER_FRONT, LIMITS));
  });

  it(`WebSocket: ${PER_FRONT} frames on one socket`, async () => {
    await fuzzOrdered('websocket', fuzzMessages(SEED + 3, PER_FRONT, LIMITS));
  });

  it(`stdio: ${AT_STDIO} lines to the gateway CLI`, async () => {
    // a newline would cut a text into two lines, each of them broken: stdio carries one text per line
    await fuzzOrdered(
      'stdio',
      fuzzMessages(SEED + 4, AT_STDIO, LIMITS).map((t) => t.replace(/[\r\n]/g, ' ')),
    );
  });

  it('a WebSocket frame over the body limit closes the socket with 1009, and the next socket is served', async () => {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`, 'mcp');
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const code = new Promise<number>((resolve) => ws.once('close', resolve));
    ws.send('x'.repeat(MAX_BODY + 1));
    expect(await code).toBe(1009);
  });
});
