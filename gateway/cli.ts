#!/usr/bin/env node
/**
 * `mcp-gateway --config FILE [--listen HOST:PORT] [--stdio]`: loads and validates the config,
 * starts the gateway, and drains it on SIGTERM/SIGINT. A bad config exits 2 with the file, field
 * and problem; nothing is started half-configured. SIGHUP reloads the config file (as a change of
 * the file does); an invalid one is refused and the running config stays. With --stdio, a client
 * that does not read its stdout (limits.sendQueueBytes behind) is dropped and the process exits 3.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadConfigFile } from './config/load';
import { FleetError } from './protocol/errors';
import { startGateway, type RunningGateway } from './gateway';
import { createLogger } from './log';
import { outputTap } from './output-tap';

const stderrTap = outputTap('stderr');

/** --stdio: the client stopped reading stdout and was dropped (2 is a bad config, 1 a failed start). */
const EXIT_CLIENT_DROPPED = 3;

/** A line for the operator on stderr (and into the test run's output tap, like the log lines). */
function printError(line: string): void {
  process.stderr.write(line);
  stderrTap?.(line);
}

async function main(): Promise<void> {
  const argv = await yargs(hideBin(process.argv))
    .scriptName('mcp-gateway')
    .usage('$0 --config FILE [--listen HOST:PORT] [--stdio]\n\nOne MCP endpoint in front of many MCP servers.')
    .option('config', {
      alias: 'c',
      type: 'string',
      demandOption: true,
      describe: 'gateway config (YAML or JSON; Claude Desktop mcpServers files work as they are)',
    })
    .option('listen', { alias: 'l', type: 'string', describe: 'HOST:PORT for the HTTP/SSE/WebSocket fronts (default 127.0.0.1:8080)' })
    .option('stdio', { type: 'boolean', default: false, describe: 'serve one client over stdin/stdout instead of listening' })
    .strict()
    .help()
    .parseAsync();

  // info until the config says otherwise: resolving secrets (a Vault login) logs before that
  const log = createLogger('info');
  let loaded;
  try {
    loaded = await loadConfigFile(argv.config, { listen: argv.listen }, { log });
  } catch (err) {
    printError(`mcp-gateway: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const { config, secrets } = loaded;
  log.level = config.log.level;
  let gateway: RunningGateway | undefined;
  const shutdown = async (reason: string, code = 0) => {
    log.info({ reason }, 'shutting down');
    await gateway?.stop();
    secrets?.close();
    process.exit(code);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  // SIGHUP is a daemon's reload; a closed terminal also closes a --stdio gateway's stdin, which stops it.
  // The reloader logs what it did or why it refused; a SIGHUP before the gateway is up changes nothing.
  process.on('SIGHUP', () => void gateway?.reload('SIGHUP').catch((err: Error) => log.error({ err: err.message }, 'SIGHUP: reload failed')));
  try {
    gateway = await startGateway(config, {
      log,
      stdio: argv.stdio
        ? {
            input: process.stdin,
            output: process.stdout,
            onEnd: (why) =>
              void (why === 'send queue full' ? shutdown('stdout not read (limits.sendQueueBytes)', EXIT_CLIENT_DROPPED) : shutdown('stdin closed')),
          }
        : undefined,
      configFile: { path: argv.config, overrides: { listen: argv.listen } },
    });
  } catch (err) {
    const message = err instanceof FleetError ? err.message : (err as Error).message;
    log.fatal({ err }, `cannot start: ${message}`);
    printError(`mcp-gateway: cannot start: ${message}\n`);
    secrets?.close();
    process.exit(1);
  }
}

void main();
