/**
 * The conformance fixture server: every tool, resource and prompt the official MCP conformance
 * suite's server scenarios call, built with the official SDK.
 *
 *   node dist/test/conformance/fixture-server.js --stdio
 *   node dist/test/conformance/fixture-server.js --port 0 [--host 127.0.0.1]
 *
 * Over HTTP it prints one JSON line on stdout, {"event":"listening","url":"http://HOST:PORT/mcp"},
 * so a parent that passed port 0 learns the port without racing for it.
 */
import { parseArgs } from 'node:util';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createFixtureServer } from './fixtures/server';
import { serveHttp } from './http-host';

const USAGE = 'usage: fixture-server (--stdio | --port PORT [--host HOST])';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { stdio: { type: 'boolean' }, port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } },
  });

  if (values.stdio === (values.port !== undefined)) throw new Error(`give exactly one of --stdio and --port\n${USAGE}`);

  if (values.stdio) {
    const server = createFixtureServer();
    // Whoever spawned us owns our lifetime: when they close our stdin, we are done.
    process.stdin.once('end', () => void server.close().finally(() => process.exit(0)));
    await server.connect(new StdioServerTransport());
    return;
  }

  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535 (got ${values.port})\n${USAGE}`);
  const host = await serveHttp({ host: values.host, port, createMcpServer: createFixtureServer });
  process.stdout.write(`${JSON.stringify({ event: 'listening', url: host.url })}\n`);

  const stop = () => void host.close().finally(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`fixture-server: ${(err as Error).message}\n`);
  process.exit(2);
});
