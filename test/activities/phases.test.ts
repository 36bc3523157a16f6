/** pipeline/phases.ts: every phase and verb resolves to steps that name exported activities. */
import * as activities from '../../activities';
import { PHASE_DEFS, stepsFor } from '../../pipeline/phases';
import { PHASES, VERBS, type StepDef } from '../../pipeline/types';

/** Enough for the rollout plan (service-mesh --deploy), whose steps depend on its params. */
const ROLLOUT = { server: 'memory', backend: { url: 'http://memory-v2:8080/mcp' } };
const allSteps = (): StepDef[] => PHASES.flatMap((p) => Object.keys(PHASE_DEFS[p].verbs).flatMap((v) => stepsFor(p, v, ROLLOUT)));

const SEED_VERBS: Record<string, string[]> = {
  'docker-compose': ['validate', 'deploy'],
  'service-discovery': ['test'],
  'mcp-transport': ['implement', 'validate'],
  'health-monitoring': ['deploy'],
  'dev-workflow': ['optimize'],
  'debugging-tools': ['enhance'],
  'high-availability': ['configure'],
  'security-hardening': ['audit'],
  'connection-fabric': ['build'],
  'service-mesh': ['integrate', 'deploy'], // deploy: the rollout (canary, blue/green) the issue adds
};

describe('pipeline phases', () => {
  it('defines exactly the ten phases with the verbs the seed gives (and the rollout)', () => {
    expect(Object.keys(PHASE_DEFS).sort()).toEqual([...PHASES].sort());
    for (const phase of PHASES) {
      expect(PHASE_DEFS[phase].name).toBe(phase);
      expect(Object.keys(PHASE_DEFS[phase].verbs).sort()).toEqual(SEED_VERBS[phase].sort());
    }
  });

  it('resolves every phase/verb to steps with unique ids naming exported activities', () => {
    const exported = activities as unknown as Record<string, unknown>;
    for (const [phase, verbs] of Object.entries(SEED_VERBS)) {
      for (const verb of verbs) {
        const steps = stepsFor(phase, verb, ROLLOUT);
        expect(steps.length).toBeGreaterThan(0);
        expect(new Set(steps.map((s) => s.id)).size).toBe(steps.length);
        for (const s of steps) {
          expect({ step: `${phase}/${verb}/${s.id}`, activity: typeof exported[s.activity] }).toEqual({
            step: `${phase}/${verb}/${s.id}`,
            activity: 'function',
          });
          if (s.compensate) expect(typeof exported[s.compensate]).toBe('function');
        }
      }
    }
  });

  it('gates production and destructive steps and compensates compose-up', () => {
    const all = allSteps();
    for (const s of all.filter((x) => x.activity === 'composeUp')) {
      expect(s.approval).toBeTruthy();
      expect(s.compensate).toBe('composeDown');
    }
    expect(all.find((s) => s.activity === 'killReplicaAndMeasureRecovery')?.approval).toBeTruthy();
    expect(all.find((s) => s.activity === 'killGatewayReplicaAndMeasureRecovery')?.approval).toBeTruthy();
    // the gateway replica is killed after the filesystem replica, on the stack compose-up brought up
    expect(stepsFor('high-availability', 'configure').map((s) => s.id)).toEqual(['compose-up', 'stack-healthy', 'kill-replica', 'kill-gateway-replica']);
    expect(stepsFor('docker-compose', 'deploy').map((s) => s.activity)).toEqual(['buildImages', 'composeUp', 'healthStatus', 'gatewayHealth', 'mcpRoundTrip']);
  });

  it('every exported activity is used by some step', () => {
    const used = new Set(allSteps().flatMap((s) => [s.activity, s.compensate].filter(Boolean)));
    expect(Object.keys(activities).filter((name) => !used.has(name))).toEqual([]);
  });

  it('names the valid phases for an unknown phase, and the phase verbs for a wrong verb', () => {
    expect(() => stepsFor('docker', 'deploy')).toThrow(`unknown phase "docker"; phases: ${PHASES.join(', ')}`);
    expect(() => stepsFor('docker-compose', 'audit')).toThrow('phase docker-compose has no --audit (not defined for this phase); it has: --validate --deploy');
    expect(() => stepsFor('security-hardening', 'deploy-now')).toThrow('phase security-hardening has no --deploy-now (unknown verb); it has: --audit');
    expect(VERBS).toContain('audit');
  });

  it('plans a canary as add, one gated step per percentage, promote; blue/green as add, switch, promote', () => {
    const canary = stepsFor('service-mesh', 'deploy', { ...ROLLOUT, percents: [10, 100] });
    expect(canary.map((s) => [s.id, s.activity, s.params?.percent])).toEqual([
      ['add-version', 'addRolloutBackend', undefined],
      ['canary-10', 'shiftTraffic', 10],
      ['canary-100', 'shiftTraffic', 100],
      ['promote', 'promoteRollout', undefined],
    ]);
    expect(canary[0]).toMatchObject({ compensate: 'rollBackRollout', approval: expect.stringContaining('memory') });
    expect(canary[3].approval).toMatch(/no rollback after this/);
    expect(
      stepsFor('service-mesh', 'deploy', ROLLOUT)
        .filter((s) => s.activity === 'shiftTraffic')
        .map((s) => s.params?.percent),
    ).toEqual([5, 25, 50, 100]);
    expect(stepsFor('service-mesh', 'deploy', { ...ROLLOUT, strategy: 'blue-green' }).map((s) => s.id)).toEqual(['add-version', 'switch', 'promote']);
  });

  it('refuses bad rollout params with the CLI option and the param they came from', () => {
    expect(() => stepsFor('service-mesh', 'deploy', {})).toThrow(/--server \(params.server\): .*; --backend \(params.backend\): the new version's transport/);
    expect(() => stepsFor('service-mesh', 'deploy', { ...ROLLOUT, percents: [50, 25] })).toThrow(
      /--steps \(params.percents\): increasing percentages ending at 100/,
    );
    expect(() => stepsFor('service-mesh', 'deploy', { ...ROLLOUT, strategy: 'big-bang' })).toThrow(/--strategy \(params.strategy\)/);
    expect(() => stepsFor('service-mesh', 'deploy', { ...ROLLOUT, maxErrorRate: 5 })).toThrow(/--max-error-rate \(params.maxErrorRate\)/);
    expect(() => stepsFor('service-mesh', 'deploy', { ...ROLLOUT, version: 'no spaces' })).toThrow(/--backend-id \(params.version\): letters, digits/);
  });
});
