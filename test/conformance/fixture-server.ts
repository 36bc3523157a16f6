/**
 * The conformance fixture server: every tool, resource and prompt the official MCP conformance
 * suite's server scenarios call, built with the official SDK v2, serving MCP 2025-11-25 (and
 * earlier) and 2026-07-28 alike.
 *
 *   node dist/test/conformance/fixture-server.js --stdio
 *   node dist/test/conformance/fixture-server.js --port 0 [--host 127.0.0.1]
 *
 * Over stdio the SDK's serveStdio pins each connection to the era its first message speaks
 * (initialize: 2025; an enveloped request: 2026-07-28; a server/discover probe may still be followed
 * by initialize). Over HTTP both eras share one URL (see http-host.ts), and it prints one JSON line
 * on stdout, {"event":"listening","url":"http://HOST:PORT/mcp"}, so a parent that passed port 0
 * learns the port without racing for it. MCP_FIXTURE_STATE_KEY (32+ bytes) fixes the requestState
 * signing key; without it each process draws its own.
 */
import { parseArgs } from 'node:util';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { createFlowStates, stateKey } from './fixtures/request-state';
import { createFixtureServer } from './fixtures/server';
import { TaskStore } from './fixtures/task-store';
import { serveHttp } from './http-host';

const USAGE = 'usage: fixture-server (--stdio | --port PORT [--host HOST])';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { stdio: { type: 'boolean' }, port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } },
  });

  if (values.stdio === (values.port !== undefined)) throw new Error(`give exactly one of --stdio and --port\n${USAGE}`);
  const states = createFlowStates(stateKey());
  const tasks = new TaskStore();

  if (values.stdio) {
    const connection = serveStdio(() => createFixtureServer({ states, tasks }), {
      onerror: (err) => process.stderr.write(`fixture-server: ${err.message}\n`),
    });
    // Whoever spawned us owns our lifetime: when they close our stdin, we are done.
    process.stdin.once('end', () => {
      tasks.close();
      void connection.close().finally(() => process.exit(0));
    });
    return;
  }

  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535 (got ${values.port})\n${USAGE}`);
  const host = await serveHttp({ host: values.host, port, createMcpServer: (changes) => createFixtureServer({ changes, states, tasks }) });
  process.stdout.write(`${JSON.stringify({ event: 'listening', url: host.url })}\n`);

  const stop = () => {
    tasks.close();
    void host.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`fixture-server: ${(err as Error).message}\n`);
  process.exit(2);
});
