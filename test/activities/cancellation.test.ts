/**
 * Heartbeats and cancellation inside an activity context: a long command is killed when the
 * activity is cancelled; composeUp on a real engine heartbeats while compose works, stops with a
 * non-retryable Cancelled failure when cancelled, and composeDown (its compensation) then leaves
 * nothing of the project.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { composeDown, composeUp } from '../../activities';
import { heartbeat, pause, runCommand } from '../../activities/runtime';
import type { StepInput } from '../../pipeline/types';
import { docker, requireEngineAndImages, TAG, uniqueName } from '../containers/support/docker';
import { waitFor } from '../helpers/wait';
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
    const marker = `sleep-${randomUUID()}`;
    const running = () => {
      try {
        execFileSync('pgrep', ['-f', marker]);
        return true;
      } catch {
        return false; // pgrep exits 1: no such process
      }
    };
    // far longer than the test may take: if the command ends, it was killed
    const run = activity.run(() => runCommand('bash', ['-c', `exec -a ${marker} sleep 3600`], 'sleeping'));
    await waitFor(running, 'the command to start');
    activity.cancel();
    await expect(run).rejects.toMatchObject({ type: 'CANCELLED', nonRetryable: true, message: 'sleeping was cancelled' });
    // the rejection comes when the kill is sent; the process is gone once the kernel delivered it
    await waitFor(() => !running(), 'the command to die');
  });

  it('composeUp heartbeats, honours cancellation, and composeDown removes what it had created', async () => {
    await requireEngineAndImages();
    const project = uniqueName('mcpfleet-test');
    const input: StepInput = { runId: 'test', phase: 'docker-compose', verb: 'deploy', target: project, params: { gatewayPort: 0, tag: TAG }, previous: {} };
    const label = `label=com.docker.compose.project=${project}`;
    const leftovers = async () =>
      (
        await Promise.all([
          docker('ps', '-a', '-q', '--filter', label),
          docker('network', 'ls', '-q', '--filter', label),
          docker('volume', 'ls', '-q', '--filter', label),
        ])
      )
        .join('\n')
        .split('\n')
        .filter(Boolean);
    try {
      const activity = fakeActivity();
      const up = activity.run(() => composeUp(input));
      // cancel once compose has created something, before the stack can be healthy
      await waitFor(async () => (await leftovers()).length > 0, `compose to create something of ${project}`);
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
