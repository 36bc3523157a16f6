/**
 * CLI options that become a run's params: the gateway URL, and the rollout's options for
 * service-mesh --deploy (pipeline/rollout.ts checks their values). A bad file or JSON is a
 * FleetError naming the option and the file.
 */
import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { parse } from 'yaml';
import { FleetError } from '../gateway/protocol/errors';

export interface RunOptions {
  'gateway-url'?: string;
  server?: string;
  backend?: string;
  'backend-id'?: string;
  strategy?: string;
  steps?: string;
  'bake-sec'?: number;
  'max-error-rate'?: number;
  'max-p95-ms'?: number;
  'min-calls'?: number;
  probe?: boolean;
  'probe-tool'?: string;
  'probe-args'?: string;
  'probe-calls'?: number;
}

export function runOptions<T>(y: Argv<T>): Argv<T> {
  return y
    .option('gateway-url', { type: 'string', describe: 'the gateway to check (default: the compose project’s published port)' })
    .group(
      [
        'server',
        'backend',
        'backend-id',
        'strategy',
        'steps',
        'bake-sec',
        'max-error-rate',
        'max-p95-ms',
        'min-calls',
        'probe',
        'probe-tool',
        'probe-args',
        'probe-calls',
      ],
      'Rollout (--phase service-mesh --deploy):',
    )
    .option('server', { type: 'string', describe: 'the gateway server to roll out' })
    .option('backend', {
      type: 'string',
      describe: 'the new version: a YAML/JSON file or inline JSON, one server entry ({"url": ...} | {"command": ...} | {"docker": ...})',
    })
    .option('backend-id', { type: 'string', describe: 'the new version’s backend id (default: v<run timestamp>)' })
    .option('strategy', { type: 'string', describe: 'canary | blue-green (default canary)' })
    .option('steps', { type: 'string', describe: 'canary percentages (default 5,25,50,100)' })
    .option('bake-sec', { type: 'number', describe: 'hold each step this long (default 10)' })
    .option('max-error-rate', { type: 'number', describe: 'fraction of failed calls that breaches (default 0.01)' })
    .option('max-p95-ms', { type: 'number', describe: 'p95 latency that breaches (default 1000)' })
    .option('min-calls', { type: 'number', describe: 'calls the new version needs per step to be judged (default 5)' })
    .option('probe', { type: 'boolean', describe: 'synthetic calls through the gateway while a step bakes (default on; --no-probe judges real traffic only)' })
    .option('probe-tool', { type: 'string', describe: 'the gateway tool to probe with (default: the server’s first tool without required arguments)' })
    .option('probe-args', { type: 'string', describe: 'JSON arguments for --probe-tool' })
    .option('probe-calls', { type: 'number', describe: 'probe calls per step (default 20, more when the weight is small)' });
}

/** The params the options give; undefined options are left out so the phase's defaults apply. */
export function paramsOf(o: RunOptions): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  const set = (key: string, value: unknown) => value !== undefined && (params[key] = value);
  set('url', o['gateway-url']);
  set('server', o.server);
  set('backend', o.backend === undefined ? undefined : objectOption('--backend', o.backend));
  set('version', o['backend-id']);
  set('strategy', o.strategy);
  set(
    'percents',
    o.steps?.split(',').map((s) => Number(s.trim())),
  );
  set('bakeSec', o['bake-sec']);
  set('maxErrorRate', o['max-error-rate']);
  set('maxP95Ms', o['max-p95-ms']);
  set('minCalls', o['min-calls']);
  if (o.probe === false) params.probe = false;
  else if (o['probe-tool'] !== undefined || o['probe-args'] !== undefined || o['probe-calls'] !== undefined) {
    params.probe = {
      ...(o['probe-tool'] !== undefined ? { tool: o['probe-tool'] } : {}),
      ...(o['probe-args'] !== undefined ? { arguments: objectOption('--probe-args', o['probe-args']) } : {}),
      ...(o['probe-calls'] !== undefined ? { calls: o['probe-calls'] } : {}),
    };
  }
  return params;
}

/** Inline JSON (starts with `{`) or a YAML/JSON file holding one object. */
function objectOption(option: string, value: string): Record<string, unknown> {
  const inline = value.trimStart().startsWith('{');
  let doc: unknown;
  try {
    doc = inline ? JSON.parse(value) : parse(readFileSync(value, 'utf8'));
  } catch (err) {
    throw new FleetError('BAD_INPUT', `${option} ${inline ? 'is not valid JSON' : `file ${value} cannot be read`}: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new FleetError('BAD_INPUT', `${option}${inline ? '' : ` file ${value}`}: expected one object, got ${Array.isArray(doc) ? 'a list' : typeof doc}`);
  return doc as Record<string, unknown>;
}
