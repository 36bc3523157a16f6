/**
 * Heartbeats and cancellation inside an activity context: a long command is killed when the
 * activity is cancelled; composeUp on a real engine heartbeats while compose works, stops with a
 * non-retryable CANCELLED failure when cancelled, and composeDown (its compensation) then leaves
 * nothing of the project.
 */
import { execFileSync } from 'node:child_process';
import { composeDown, composeUp } from '../../activities';
import { heartbeat, pause, runCommand } from '../../activities/runtime';
import type { StepInput } from '../../pipeline/types';
import { docker, requireEngineAndImages, TAG, uniqueName } from '../containers/support/docker';
import { fakeActivity } from './support';

jest.setTimeout(180_000);

describe('activity context', () => {
  it('heartbeat is a no-op outside a worker and recorded inside one', async () => {
    expect(() => heartbeat('outside')).not.toThrow();
    const activity = fakeActivity();
    await activity.run(async () => pause(10, 'waiting a moment'));
    expect(activity.heartbeats).toEqual(['waiting a moment']);
  });

  it('kills a running command when the activity is cancelled', async () => {
    const activity = fakeActivity();
    const marker = `sleep-${process.pid}-${Date.now() % 100000}`;
    const started = Date.now();
    const run = activity.run(() => runCommand('bash', ['-c', `exec -a ${marker} sleep 30`], 'sleeping'));
    setTimeout(() => activity.cancel(), 300);
    await expect(run).rejects.toMatchObject({ type: 'CANCELLED', nonRetryable: true, message: 'sleeping was cancelled' });
    expect(Date.now() - started).toBeLessThan(10_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(() => execFileSync('pgrep', ['-f', marker])).toThrow(); // pgrep exits 1: no such process
  });

  it('composeUp heartbeats, honours cancellation, and composeDown removes what it had created', async () => {
    await requireEngineAndImages();
    const project = uniqueName('mcpfleet-test');
    const input: StepInput = { runId: 'test', phase: 'docker-compose', verb: 'deploy', target: project, params: { gatewayPort: 0, tag: TAG }, previous: {} };
    const label = `label=com.docker.compose.project=${project}`;
    const leftovers = async () =>
      (await Promise.all([docker('ps', '-a', '-q', '--filter', label), docker('network', 'ls', '-q', '--filter', label), docker('volume', 'ls', '-q', '--filter', label)])).join('\n').split('\n').filter(Boolean);
    try {
      const activity = fakeActivity();
      const up = activity.run(() => composeUp(input));
      // cancel once compose has created something, before the stack can be healthy
      const deadline = Date.now() + 30_000;
      while ((await leftovers()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      activity.cancel();
      await expect(up).rejects.toMatchObject({ type: 'CANCELLED', nonRetryable: true });
      expect(activity.heartbeats).toContain(`bringing up ${project}`);
    } finally {
      const down = await composeDown({ ...input, params: { ...input.params, removeVolumes: true } });
      expect(down.outcome).toBe('passed');
      expect(await leftovers()).toEqual([]);
    }
  });
});
