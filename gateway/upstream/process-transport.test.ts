/**
 * The stdio transport's send path: messages sent in one event-loop turn reach the child in one
 * write, each send still settles, and what was sent before close still arrives.
 */
import { createLogger } from '../log';
import { ProcessTransport } from './process-transport';

/**
 * A child that counts the lines on its stdin and reports them when "report" arrives or stdin
 * ends; it outlives SIGTERM long enough to report what it got before close.
 */
const COUNTER = `
process.on('SIGTERM', () => {});
let lines = 0, rest = '';
const report = () => process.stdout.write(JSON.stringify({ jsonrpc: '2.0', method: 'counts', params: { lines } }) + '\\n');
process.stdin.on('data', (c) => {
  rest += c;
  const parts = rest.split('\\n');
  rest = parts.pop();
  lines += parts.length;
  if (parts.some((p) => p.includes('"report"'))) report();
});
process.stdin.on('end', () => { report(); process.exit(0); });
process.stdout.write(JSON.stringify({ jsonrpc: '2.0', method: 'ready' }) + '\\n');
`;

/** Starts the counter and waits until it runs (so it already ignores SIGTERM); `counts` resolves with its report. */
async function start(): Promise<{ transport: ProcessTransport; counts: Promise<{ lines: number }> }> {
  const transport = new ProcessTransport({ command: process.execPath, args: ['-e', COUNTER], env: {}, log: createLogger('silent') });
  let ready!: () => void;
  const running = new Promise<void>((resolve) => (ready = resolve));
  const counts = new Promise<{ lines: number }>((resolve) => {
    transport.onmessage = (m) => ('method' in m && m.method === 'ready' ? ready() : resolve((m as unknown as { params: { lines: number } }).params));
  });
  await transport.start();
  await running;
  return { transport, counts };
}

describe('process transport send path', () => {
  it('writes the messages of one turn to the child at once, and settles every send', async () => {
    const { transport, counts } = await start();
    const stdin = (transport as unknown as { child: { stdin: { write: (...args: unknown[]) => boolean } } }).child.stdin;
    const write = stdin.write.bind(stdin);
    let writes = 0;
    stdin.write = (...args: unknown[]) => {
      writes++;
      return write(...args);
    };
    const sends = Array.from({ length: 40 }, (_, i) => transport.send({ jsonrpc: '2.0', method: 'n', params: { i } }));
    sends.push(transport.send({ jsonrpc: '2.0', method: 'report' }));
    await Promise.all(sends);
    expect(writes).toBe(1);
    expect(await counts).toEqual({ lines: 41 });
    await transport.close();
  });

  it('delivers what was sent just before close, and refuses sends after it', async () => {
    const { transport, counts } = await start();
    const sent = transport.send({ jsonrpc: '2.0', method: 'n' });
    const closed = transport.close();
    await expect(sent).resolves.toBeUndefined();
    expect(await counts).toEqual({ lines: 1 });
    await closed;
    await expect(transport.send({ jsonrpc: '2.0', method: 'n' })).rejects.toThrow('server process is not running');
  });
});
