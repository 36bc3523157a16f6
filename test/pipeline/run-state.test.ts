/** RunState outside the sandbox: verdicts, gates, compensation order, the status snapshot. */
import type { StepDef } from '../../pipeline/types';
import { RunState } from '../../workflows/run-state';

const step = (id: string, extra: Partial<StepDef> = {}): StepDef => ({ id, title: id, activity: 'x', ...extra });
const state = (steps: StepDef[], autoApprove = false) => new RunState({ phase: 'docker-compose', verb: 'deploy', steps, autoApprove });

test('passed needs one passed step and no failure; not-available stays not-available', () => {
  const s = state([step('a'), step('b')]);
  s.start('a', 0);
  s.finish('a', { outcome: 'passed', summary: 'ok' }, 5);
  s.start('b', 5);
  s.finish('b', { outcome: 'not-available', summary: 'later' }, 6);
  const r = s.result();
  expect(r.status).toBe('passed');
  expect(r.steps.map((x) => [x.outcome, x.durationMs])).toEqual([
    ['passed', 5],
    ['not-available', 1],
  ]);
});

test('every step not-available is failed, naming them', () => {
  const s = state([step('a'), step('b')]);
  for (const id of ['a', 'b']) s.finish(id, { outcome: 'not-available', summary: 'n/a' }, 0);
  const r = s.result();
  expect(r.status).toBe('failed');
  expect(r.failure).toMatchObject({ step: 'a', reason: 'no step passed: not available yet: a, b' });
});

test('a failure keeps the first reason and hint; steps not reached are skipped', () => {
  const s = state([step('a'), step('b'), step('c')]);
  expect(s.finish('a', { outcome: 'failed', summary: 'boom', details: { hint: 'fix it' } }, 0)).toBe(false);
  s.fail('b', 'later');
  const r = s.result();
  expect(r.failure).toEqual({ step: 'a', reason: 'boom', hint: 'fix it' });
  expect(r.steps.map((x) => x.outcome)).toEqual(['failed', 'skipped', 'skipped']);
});

test('compensation covers passed steps with a compensate activity, latest first', () => {
  const s = state([step('a', { compensate: 'undo' }), step('b'), step('c', { compensate: 'undo' }), step('d', { compensate: 'undo' })]);
  for (const id of ['a', 'b', 'c']) s.finish(id, { outcome: 'passed', summary: id }, 0);
  s.finish('d', { outcome: 'failed', summary: 'x' }, 0);
  expect(s.toCompensate().map((x) => x.id)).toEqual(['c', 'a']);
  expect(s.status().state).toBe('compensating');
  s.compensated('c', 'removed');
  s.compensationFailed('a', 'engine gone');
  const r = s.result();
  expect(r.steps.map((x) => x.outcome)).toEqual(['passed', 'passed', 'compensated', 'failed']);
  expect(r.steps[0].summary).toBe('a (undo FAILED: engine gone)');
});

test('gates: open, refuse a wrong step, decide; autoApprove never opens one', () => {
  const s = state([step('a', { approval: 'go?' })]);
  expect(s.refuseDecision()).toBe('no approval gate is waiting');
  expect(s.openGate(step('a', { approval: 'go?' }))).toBe(true);
  expect(s.status()).toMatchObject({ state: 'awaiting-approval', gate: { stepId: 'a', prompt: 'go?' } });
  expect(s.refuseDecision('b')).toBe('the waiting gate is a (got b)');
  expect(s.refuseDecision('a')).toBeUndefined();
  expect(s.decide({ approved: false, by: 'me' })).toEqual({ stepId: 'a', prompt: 'go?' });
  s.rejected('a', s.decision('a')!);
  expect(s.result().failure?.reason).toBe('rejected by me');

  const auto = state([step('a', { approval: 'go?' })], true);
  expect(auto.openGate(step('a', { approval: 'go?' }))).toBe(false);
  expect(auto.decision('a')).toMatchObject({ approved: true });
});
