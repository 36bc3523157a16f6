/**
 * run-pipeline-claude-interactive: run a phase (`--phase NAME|all --<verb>`), list phases, read,
 * watch, approve or reject runs. Without a Temporal address it starts (or reuses) the local dev
 * server and runs the worker in this process. Exit codes: 0 passed, 1 failed, else the FleetError's
 * exit code from the code table (2: bad input or environment, e.g. unknown phase or verb,
 * unreachable Temporal, missing Docker). Stopped by SIGINT (Ctrl-C), SIGTERM or SIGHUP, a command
 * first takes down what it started (`up`: the stack, then the worker and the dev server) and exits
 * 128 + the signal's number (130, 143, 129) once that teardown finished, even when its lines could
 * not be printed (stdout piped into a reader that is gone); 1 when a teardown step failed.
 */
import yargs from 'yargs';
import { CLI, checkDocker, follow, followAll, Out, Session, type Common } from './cli-session';
import { ALL_WORKFLOW_TYPE } from './client';
import { FleetError, toFleetError } from '../gateway/protocol/errors';
import { guardOutput, safeWrite } from '../gateway/termination';
import { fleetUp } from './up';
import { PHASE_DEFS, stepsFor } from './phases';
import { paramsOf, runOptions, type RunOptions } from './run-options';
import { ProgressPrinter, runJson, summaryLines } from './progress';
import { PHASES, VERBS, type PhaseName, type Verb } from './types';

async function runCommand(argv: Common & RunOptions & { phase: string; target?: string } & Partial<Record<Verb, boolean>>, out: Out): Promise<number> {
  const verbs = VERBS.filter((v) => argv[v]);
  if (verbs.length !== 1)
    throw new FleetError(
      'BAD_USAGE',
      `give exactly one verb with --phase (got ${verbs.length ? verbs.map((v) => `--${v}`).join(' ') : 'none'}); verbs: ${VERBS.map((v) => `--${v}`).join(' ')}`,
    );
  const verb = verbs[0];
  const defs = Object.values(PHASE_DEFS);
  // `all` runs the phases whose steps are fixed; a rollout is about one server and runs on its own
  const phases = argv.phase === 'all' ? defs.filter((d) => Array.isArray(d.verbs[verb])).map((d) => d.name) : [argv.phase as PhaseName];
  if (phases.length === 0) throw new FleetError('UNKNOWN_VERB', `no phase has --${verb}`);
  const params = paramsOf(argv);
  const plan = phases.map((phase) => ({ phase, steps: stepsFor(phase, verb, params) }));
  if (argv.worker) await checkDocker(plan.flatMap((p) => p.steps));

  const session = await Session.open(argv, out, argv.worker);
  const interactive = !argv.json && !argv.yes && process.stdin.isTTY === true;
  const request = (phase: PhaseName) => ({ phase, verb, params, autoApprove: argv.yes, ...(argv.target ? { target: argv.target } : {}) });
  try {
    if (argv.phase !== 'all') {
      const handle = await session.client.start(request(plan[0].phase), plan[0].steps);
      out.line(`${plan[0].phase} --${verb}: ${handle.workflowId}`);
      const result = await follow(session.client, handle.workflowId, out, interactive);
      for (const l of summaryLines(handle.workflowId, result)) out.line(l);
      out.result(runJson(handle.workflowId, result));
      return result.status === 'passed' ? 0 : 1;
    }
    // one durable parent run, a child run per phase (workflows/all-phases.ts)
    const parent = await session.client.startAll(
      verb,
      plan.map(({ phase, steps }) => ({ ...request(phase), steps })),
    );
    out.line(`all --${verb}: ${parent.workflowId} (${plan.map((p) => p.phase).join(', ')})`);
    const runs = await followAll(session.client, parent.workflowId, out, interactive);
    const passed = runs.length === plan.length && runs.every((r) => r.status === 'passed');
    out.line(
      `all --${verb}: ${passed ? 'PASSED' : 'FAILED'} (${runs.filter((r) => r.status === 'passed').length} of ${plan.length} phases passed) — ${parent.workflowId}`,
    );
    out.result(allJson(parent.workflowId, verb, runs, passed));
    return passed ? 0 : 1;
  } finally {
    await session.close();
  }
}

function allJson(workflowId: string, verb: Verb, runs: Record<string, unknown>[], passed: boolean): Record<string, unknown> {
  return {
    status: passed ? 'passed' : 'failed',
    workflowId,
    verb,
    runs,
    steps: runs.flatMap((r) => (r.steps as object[]).map((s) => ({ phase: r.phase, ...s }))),
    workflowIds: runs.map((r) => r.workflowId),
  };
}

async function withSession<T>(argv: Common, out: Out, worker: boolean | 'if-started', fn: (s: Session) => Promise<T>): Promise<T> {
  const s = await Session.open(argv, out, worker);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

export async function main(args: string[]): Promise<number> {
  guardOutput(); // console.log into a pipe whose reader is gone must not throw
  let code = 0;
  let json = args.includes('--json');
  const out = () => new Out(json);
  const parser = yargs(args)
    .scriptName(CLI)
    .usage(`$0 --phase NAME|all --<verb> [--yes] [--json]\n$0 up [--keep-stack]\n$0 list | status [ID] | watch ID | approve ID | reject ID`)
    .option('json', { type: 'boolean', default: false, describe: 'last stdout line: one JSON document' })
    .option('yes', { type: 'boolean', default: false, describe: 'approve every gate (CI)' })
    .option('worker', { type: 'boolean', default: true, describe: 'run a worker in this process (--no-worker when workers run elsewhere)' })
    .option('temporal-address', { type: 'string', describe: 'host:port of a Temporal cluster (default TEMPORAL_ADDRESS, else a local dev server)' })
    .option('namespace', { type: 'string', describe: 'Temporal namespace (default TEMPORAL_NAMESPACE or default)' })
    .option('tls', { type: 'boolean', describe: 'TLS to the cluster (implied by --api-key)' })
    .option('api-key', { type: 'string', describe: 'Temporal Cloud API key (default TEMPORAL_API_KEY)' })
    .command(
      '$0',
      'run a phase',
      (y) => {
        y.option('phase', { type: 'string', describe: `${PHASES.join(' | ')} | all` }).option('target', {
          type: 'string',
          describe: 'compose project or server the phase works on',
        });
        for (const v of VERBS) y.option(v, { type: 'boolean', describe: `verb: ${v}` });
        return runOptions(y);
      },
      async (argv) => {
        json = argv.json;
        if (!argv.phase)
          throw new FleetError('BAD_USAGE', `give --phase NAME|all with a verb, or a command (list, status, watch, approve, reject); see --help`);
        code = await runCommand(argv as never, out());
      },
    )
    .command(
      'up',
      'bring the whole fleet up (Temporal dev server, worker, images, compose stack) and serve until Ctrl-C',
      (y) =>
        y
          .option('keep-stack', { type: 'boolean', default: false, describe: 'leave the compose stack running on Ctrl-C' })
          .option('build', { type: 'boolean', default: true, describe: 'build the images first (--no-build: use them as they are)' })
          .option('target', { type: 'string', describe: 'compose project (default mcp-fleet)' })
          .option('gateway-port', { type: 'number', describe: 'published gateway port on 127.0.0.1 (default 8080; 0 = any free port)' }),
      async (argv) => {
        code = await fleetUp(argv, out());
      },
    )
    .command('list', 'list the phases and their verbs', {}, (argv) => {
      const rows = Object.values(PHASE_DEFS).map((d) => ({ phase: d.name, verbs: Object.keys(d.verbs), summary: d.summary }));
      if (argv.json) out().result({ status: 'ok', phases: rows });
      else
        for (const r of rows)
          console.log(
            `${r.phase.padEnd(20)} ${r.verbs
              .map((v) => `--${v}`)
              .join(' ')
              .padEnd(24)} ${r.summary}`,
          );
    })
    .command(
      'status [id]',
      'a run’s steps, or the recent runs',
      (y) => y.positional('id', { type: 'string' }),
      async (argv) => {
        await withSession(argv as Common, out(), 'if-started', async (s) => {
          if (!argv.id) {
            const runs = await s.client.list();
            if (argv.json) out().result({ status: 'ok', runs });
            else for (const r of runs) console.log(`${r.status.padEnd(11)} ${r.startTime.toISOString()}  ${r.workflowId}`);
            return;
          }
          if ((await s.client.describe(argv.id)).type === ALL_WORKFLOW_TYPE) {
            const children = await s.client.children(argv.id);
            if (argv.json) out().result({ status: 'ok', workflowId: argv.id, ...children });
            else {
              console.log(`${argv.id}: a sweep of phases`);
              for (const c of children.done) console.log(`  ${c.status.padEnd(8)} ${c.workflowId}`);
              if (children.current) console.log(`  running  ${children.current}`);
            }
            return;
          }
          const st = await s.client.status(argv.id);
          if (argv.json) out().result({ ...st, status: st.state, workflowId: argv.id });
          else {
            console.log(`${argv.id}: ${st.state}`);
            for (const l of new ProgressPrinter().update(st)) console.log(l);
            if (st.gate) console.log(`  waiting for approval: ${st.gate.prompt}`);
          }
        });
      },
    )
    .command(
      'watch <id>',
      'follow a run until it ends',
      (y) => y.positional('id', { type: 'string', demandOption: true }),
      async (argv) => {
        code = await withSession(argv as Common, out(), argv.worker, async (s) => {
          const interactive = !argv.json && process.stdin.isTTY === true;
          if ((await s.client.describe(argv.id)).type === ALL_WORKFLOW_TYPE) {
            const runs = await followAll(s.client, argv.id, out(), interactive);
            const all = await s.client.allResult(argv.id);
            out().result(allJson(argv.id, all.verb, runs, all.status === 'passed'));
            return all.status === 'passed' ? 0 : 1;
          }
          const result = await follow(s.client, argv.id, out(), interactive);
          for (const l of summaryLines(argv.id, result)) out().line(l);
          out().result(runJson(argv.id, result));
          return result.status === 'passed' ? 0 : 1;
        });
      },
    );
  for (const [name, approved] of [
    ['approve', true],
    ['reject', false],
  ] as const) {
    parser.command(
      `${name} <id>`,
      `${name} the gate a run waits at`,
      (y) => y.positional('id', { type: 'string', demandOption: true }).option('step', { type: 'string' }).option('reason', { type: 'string' }),
      async (argv) => {
        await withSession(argv as Common, out(), 'if-started', async (s) => {
          const answer = { by: process.env.USER ?? 'cli', ...(argv.step ? { stepId: argv.step } : {}), ...(argv.reason ? { reason: argv.reason } : {}) };
          const gate = approved ? await s.client.approve(argv.id, answer) : await s.client.reject(argv.id, answer);
          out().line(`${approved ? 'approved' : 'rejected'} ${gate.stepId} of ${argv.id}`);
          out().result({ status: approved ? 'approved' : 'rejected', workflowId: argv.id, step: gate.stepId });
        });
      },
    );
  }
  try {
    await parser
      .strict()
      .exitProcess(false)
      .fail((msg, err) => {
        throw err ?? new FleetError('BAD_USAGE', msg);
      })
      .parseAsync();
  } catch (err) {
    const error = toFleetError(err);
    safeWrite(process.stderr, `${CLI}: ${error.message}\n`);
    out().result({ status: 'error', code: error.code, message: error.message });
    return error.exitCode;
  }
  return code;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${CLI}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
