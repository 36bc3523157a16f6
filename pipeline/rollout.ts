/**
 * A new version of one gateway server, rolled out as steps (service-mesh --deploy): the version
 * joins the server as a new backend with weight 0; a canary then shifts traffic to it in steps
 * (5 → 25 → 50 → 100 % by default), each held for the bake time and gated on the error rate and
 * p95 latency the gateway measured for it; blue/green switches all traffic at once and holds it
 * there. A breach fails the step, and the saga rolls back: old weights restored, new backend
 * removed. Promotion (removing the old backends) waits at an approval gate.
 *
 * The parameters are checked here, before a run starts, so a bad one is one clear message naming
 * the CLI option and the run_phase param; the backend's transport is checked by the gateway itself.
 */
import { z } from 'zod';
import { FleetError } from '../gateway/protocol/errors';
import type { StepDef } from './types';

export const STRATEGIES = ['canary', 'blue-green'] as const;
export const DEFAULT_CANARY_PERCENTS = [5, 25, 50, 100];

/** Each param with the CLI option that sets it, for messages. */
const OPTION: Record<string, string> = {
  server: '--server',
  backend: '--backend',
  version: '--backend-id',
  strategy: '--strategy',
  percents: '--steps',
  bakeSec: '--bake-sec',
  maxErrorRate: '--max-error-rate',
  maxP95Ms: '--max-p95-ms',
  minCalls: '--min-calls',
  probe: '--probe-tool / --no-probe',
};

const increasingTo100 = (p: number[]) => p.every((x, i) => i === 0 || x > p[i - 1]) && p[p.length - 1] === 100;

export const rolloutSchema = z.object({
  server: z.string().min(1, 'name the gateway server to roll out'),
  backend: z.record(z.string(), z.unknown(), {
    error: 'the new version\'s transport, as one server entry of the gateway config: {"url": ...}, {"command": ..., "args": [...]} or {"docker": {...}}',
  }),
  version: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'letters, digits, . _ - (it becomes the backend id)')
    .optional(),
  strategy: z.enum(STRATEGIES).default('canary'),
  percents: z.array(z.number().gt(0).max(100)).min(1).refine(increasingTo100, 'increasing percentages ending at 100, e.g. 5,25,50,100').optional(),
  bakeSec: z.number().min(0).max(3600).default(10),
  maxErrorRate: z.number().min(0).max(1).default(0.01),
  maxP95Ms: z.number().positive().default(1000),
  minCalls: z.number().int().min(1).default(5),
  /** Synthetic calls through the gateway while a step bakes; false = judge real traffic only. */
  probe: z
    .union([
      z.literal(false),
      z.object({ tool: z.string().optional(), arguments: z.record(z.string(), z.unknown()).optional(), calls: z.number().int().min(1).max(10_000).optional() }),
    ])
    .default({}),
});

export type RolloutParams = z.output<typeof rolloutSchema>;

/** The rollout's params with defaults, or a FleetError naming each bad one. */
export function rolloutParams(params: Record<string, unknown>): RolloutParams {
  const parsed = rolloutSchema.safeParse(params);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => {
    const key = String(i.path[0] ?? '');
    return `${OPTION[key] ?? key} (params.${i.path.join('.')}): ${i.message}`;
  });
  throw new FleetError('BAD_INPUT', `service-mesh --deploy: ${problems.join('; ')}`);
}

/** The backend id of the new version: params.version, else one made from the run's workflow id (stable across retries). */
export function versionOf(p: Pick<RolloutParams, 'version'>, runId: string): string {
  return p.version ?? `v${runId.replace(/^.*-(\d{8}-\d{6}-\d{3})$/, '$1')}`;
}

export function rolloutSteps(raw: Record<string, unknown>): StepDef[] {
  const p = rolloutParams(raw);
  const version = p.version ?? 'the new version';
  const add: StepDef = {
    id: 'add-version',
    title: `Start ${version} of ${p.server} beside the serving version (weight 0)`,
    activity: 'addRolloutBackend',
    approval: `Roll out ${version} of ${p.server} (${p.strategy}); traffic moves to it step by step`,
    compensate: 'rollBackRollout',
    timeoutSec: 120,
  };
  const hold = (percent: number, title: string): StepDef => ({
    id: p.strategy === 'canary' ? `canary-${percent}` : 'switch',
    title,
    activity: 'shiftTraffic',
    params: { percent },
    // the bake time plus the probe's calls and the stats read
    timeoutSec: Math.ceil(p.bakeSec) + 120,
  });
  const shifts =
    p.strategy === 'canary'
      ? (p.percents ?? DEFAULT_CANARY_PERCENTS).map((pc) =>
          hold(pc, `${pc} % of ${p.server} to ${version}, held ${p.bakeSec} s; gate: error rate <= ${p.maxErrorRate * 100} %, p95 <= ${p.maxP95Ms} ms`),
        )
      : [hold(100, `Switch all of ${p.server} to ${version}, held ${p.bakeSec} s; gate: error rate <= ${p.maxErrorRate * 100} %, p95 <= ${p.maxP95Ms} ms`)];
  const promote: StepDef = {
    id: 'promote',
    title: `Remove the previous version of ${p.server}; ${version} serves alone`,
    activity: 'promoteRollout',
    approval: `Promote ${version}: remove the previous version of ${p.server} (no rollback after this)`,
  };
  return [add, ...shifts, promote];
}
