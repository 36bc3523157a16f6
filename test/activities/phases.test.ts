/** pipeline/phases.ts: every phase and verb resolves to steps that name exported activities. */
import * as activities from '../../activities';
import { PHASE_DEFS, stepsFor } from '../../pipeline/phases';
import { PHASES, VERBS } from '../../pipeline/types';

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
  'service-mesh': ['integrate'],
};

describe('pipeline phases', () => {
  it('defines exactly the ten phases with the verbs the seed gives', () => {
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
        const steps = stepsFor(phase, verb);
        expect(steps.length).toBeGreaterThan(0);
        expect(new Set(steps.map((s) => s.id)).size).toBe(steps.length);
        for (const s of steps) {
          expect({ step: `${phase}/${verb}/${s.id}`, activity: typeof exported[s.activity] }).toEqual({ step: `${phase}/${verb}/${s.id}`, activity: 'function' });
          if (s.compensate) expect(typeof exported[s.compensate]).toBe('function');
        }
      }
    }
  });

  it('gates production and destructive steps and compensates compose-up', () => {
    const all = PHASES.flatMap((p) => Object.values(PHASE_DEFS[p].verbs).flat());
    for (const s of all.filter((x) => x.activity === 'composeUp')) {
      expect(s.approval).toBeTruthy();
      expect(s.compensate).toBe('composeDown');
    }
    expect(all.find((s) => s.activity === 'killReplicaAndMeasureRecovery')?.approval).toBeTruthy();
    expect(stepsFor('docker-compose', 'deploy').map((s) => s.activity)).toEqual(['buildImages', 'composeUp', 'healthStatus', 'gatewayHealth', 'mcpRoundTrip']);
  });

  it('every exported activity is used by some step', () => {
    const used = new Set(PHASES.flatMap((p) => Object.values(PHASE_DEFS[p].verbs).flat()).flatMap((s) => [s.activity, s.compensate].filter(Boolean)));
    expect(Object.keys(activities).filter((name) => !used.has(name))).toEqual([]);
  });

  it('names the valid phases for an unknown phase, and the phase verbs for a wrong verb', () => {
    expect(() => stepsFor('docker', 'deploy')).toThrow(`unknown phase 'docker'; valid phases: ${PHASES.join(', ')}`);
    expect(() => stepsFor('docker-compose', 'audit')).toThrow("phase docker-compose has no verb 'audit'; its verbs: validate, deploy");
    expect(() => stepsFor('security-hardening', 'deploy-now')).toThrow("phase security-hardening has no verb 'deploy-now'; its verbs: audit");
    expect(VERBS).toContain('audit');
  });
});
