/**
 * The task table on its own: ids the gateway hands out never collide whatever the upstreams call
 * their tasks, a task is found only by the client that owns it, and memory stays bounded (a cap,
 * expiry at the task's ttl, removal when the upstream session or the client goes).
 */
import type { UpstreamConnection } from '../upstream/connection';
import { TaskTable, type TaskLimits } from './tasks';

function conn(era: 'legacy' | 'modern' = 'legacy'): UpstreamConnection & { isOpen: boolean } {
  return { isOpen: true, era } as UpstreamConnection & { isOpen: boolean };
}

function table(limits: Partial<TaskLimits> = {}) {
  const clock = { now: 1_000 };
  let n = 0;
  const tasks = new TaskTable(
    { maxTasks: 10, maxTtlMs: 60_000, ...limits },
    () => clock.now,
    () => `gw-${++n}`,
  );
  return { tasks, clock };
}

function task(taskId: string, extra: Record<string, unknown> = {}) {
  return { taskId, status: 'working', ttl: 30_000, ...extra };
}

describe('the task table', () => {
  it('gives tasks of different upstreams with the same id different ids of its own, each mapping back to its upstream', () => {
    const { tasks } = table();
    const a = conn();
    const b = conn();
    const onA = tasks.add({ clientId: 'c1', server: 'a', backend: 'primary', conn: a, task: task('task-1') });
    const onB = tasks.add({ clientId: 'c1', server: 'b', backend: 'primary', conn: b, task: task('task-1') });
    expect(onA.id).not.toBe(onB.id);
    expect(tasks.upstream(a, 'task-1')).toBe(onA);
    expect(tasks.upstream(b, 'task-1')).toBe(onB);
    expect(tasks.owned(onB.id, 'c1')).toMatchObject({ server: 'b', upstreamId: 'task-1' });
  });

  it('finds a task only for the client that created it, and never by the upstream id', () => {
    const { tasks } = table();
    const entry = tasks.add({ clientId: 'c1', server: 'a', backend: 'primary', conn: conn(), task: task('up-1') });
    expect(tasks.owned(entry.id, 'c1')).toBe(entry);
    expect(tasks.owned(entry.id, 'c2')).toBeUndefined();
    expect(tasks.owned('up-1', 'c1')).toBeUndefined();
    expect(tasks.owned(42, 'c1')).toBeUndefined();
    expect(tasks.ofClient('c2')).toEqual([]);
    expect(tasks.ofClient('c1')).toEqual([entry]);
  });

  it('forgets a task when its ttl passes, capped at maxTtlMs; an unlimited ttl counts as maxTtlMs', () => {
    const { tasks, clock } = table({ maxTtlMs: 60_000 });
    const c = conn();
    const short = tasks.add({ clientId: 'c', server: 'a', backend: 'primary', conn: c, task: task('1', { ttl: 10_000 }) });
    const long = tasks.add({ clientId: 'c', server: 'a', backend: 'primary', conn: c, task: task('2', { ttl: 10_000_000 }) });
    const unlimited = tasks.add({ clientId: 'c', server: 'a', backend: 'primary', conn: c, task: task('3', { ttl: null }) });
    clock.now += 10_000;
    expect(tasks.owned(short.id, 'c')).toBeUndefined();
    expect(tasks.upstream(c, '1')).toBeUndefined();
    expect(tasks.ofClient('c')).toEqual([long, unlimited]);
    clock.now += 50_000;
    expect(tasks.ofClient('c')).toEqual([]);
    expect(tasks.size).toBe(0);
  });

  it('forgets the tasks of an upstream session that ended, and of a client that left', () => {
    const { tasks } = table();
    const gone = conn();
    const kept = conn();
    tasks.add({ clientId: 'c1', server: 'a', backend: 'primary', conn: gone, task: task('1') });
    const stays = tasks.add({ clientId: 'c1', server: 'b', backend: 'primary', conn: kept, task: task('1') });
    tasks.add({ clientId: 'c2', server: 'b', backend: 'primary', conn: kept, task: task('2') });
    gone.isOpen = false;
    tasks.sweep();
    expect(tasks.size).toBe(2);
    tasks.dropClient('c2');
    expect(tasks.size).toBe(1);
    expect(tasks.ofClient('c1')).toEqual([stays]);
  });

  it("keeps a 2026-07-28 server's tasks through a lost connection, and moves them to its backend's next one", () => {
    const { tasks } = table();
    const lost = conn('modern');
    const next = conn('modern');
    const onPrimary = tasks.add({ clientId: 'c1', server: 'm', backend: 'primary', conn: lost, task: task('t-1') });
    const onTwin = tasks.add({ clientId: 'c1', server: 'm', backend: 'twin', conn: lost, task: task('t-2') });
    lost.isOpen = false;
    tasks.sweep();
    // the server holds them: they wait for the backend to connect again
    expect(tasks.ofClient('c1')).toEqual([onPrimary, onTwin]);
    expect(tasks.reconnected('m', 'primary', next)).toBe(1);
    expect([onPrimary.conn, onTwin.conn]).toEqual([next, lost]);
    expect(tasks.upstream(next, 't-1')).toBe(onPrimary);
    expect(tasks.upstream(lost, 't-1')).toBeUndefined();
    // a 2025 session's task is not the next session's
    const session = conn();
    const ofSession = tasks.add({ clientId: 'c1', server: 'm', backend: 'primary', conn: session, task: task('t-3') });
    session.isOpen = false;
    expect(tasks.reconnected('m', 'primary', next)).toBe(0);
    expect(tasks.owned(ofSession.id, 'c1')).toBeUndefined();
  });

  it('holds at most maxTasks, creations in flight included; finished tasks make way for new ones, running ones do not', () => {
    const { tasks } = table({ maxTasks: 2 });
    const c = conn();
    expect(tasks.reserve()).toBe(true);
    const first = tasks.add({ clientId: 'c', server: 'a', backend: 'primary', conn: c, task: task('1') });
    tasks.settled();
    expect(tasks.reserve()).toBe(true);
    // the second creation is still in flight: no room for a third
    expect(tasks.reserve()).toBe(false);
    tasks.add({ clientId: 'c', server: 'a', backend: 'primary', conn: c, task: task('2') });
    tasks.settled();
    expect(tasks.reserve()).toBe(false);
    first.status = 'completed';
    expect(tasks.reserve()).toBe(true);
    expect(tasks.owned(first.id, 'c')).toBeUndefined();
    tasks.settled();
    expect(tasks.size).toBe(1);
  });

  it('makes room by expiry first', () => {
    const { tasks, clock } = table({ maxTasks: 1 });
    tasks.add({ clientId: 'c', server: 'a', backend: 'primary', conn: conn(), task: task('1', { ttl: 5 }) });
    expect(tasks.reserve()).toBe(false);
    clock.now += 5;
    expect(tasks.reserve()).toBe(true);
    expect(tasks.size).toBe(0);
  });

  it("ends a removed server's tasks at once: waiters are told, what hung on them goes, and the id names the server until its ttl", async () => {
    const { tasks, clock } = table({ maxTasks: 2 });
    const onE = tasks.add({ clientId: 'c1', server: 'e', backend: 'primary', conn: conn(), task: task('t-1') });
    const other = tasks.add({ clientId: 'c1', server: 'a', backend: 'primary', conn: conn(), task: task('t-1') });
    let released = 0;
    onE.onEnd = () => void released++;
    const never = new Promise<never>(() => {});
    const waiting = tasks.untilEnded(onE, never);
    const answered = tasks.untilEnded(other, Promise.resolve('done'));

    tasks.endServer('e');
    await expect(waiting).rejects.toMatchObject({
      code: 'UNKNOWN_TASK',
      message: expect.stringContaining('server "e", which ran it, was removed'),
      data: { server: 'e' },
    });
    await expect(answered).resolves.toBe('done');
    expect(released).toBe(1);
    expect(tasks.size).toBe(1);
    expect(tasks.owned(onE.id, 'c1')).toBeUndefined();
    expect(tasks.whyEnded(onE.id, 'c1')?.data).toEqual({ taskId: onE.id, server: 'e', cause: 'removed' });
    // another client learns nothing of it, and the record goes at the task's ttl
    expect(tasks.whyEnded(onE.id, 'c2')).toBeUndefined();
    clock.now += 30_000;
    expect(tasks.whyEnded(onE.id, 'c1')).toBeUndefined();
  });

  it('ends the tasks on the connections a reload replaced, saying so, and keeps those on connections it kept', async () => {
    const { tasks } = table({ maxTasks: 4 });
    const kept = conn();
    const onKept = tasks.add({ clientId: 'c1', server: 'a', backend: 'primary', conn: kept, task: task('t-1') });
    const onReplaced = tasks.add({ clientId: 'c1', server: 'a', backend: 'primary', conn: conn(), task: task('t-2') });
    const waiting = tasks.untilEnded(onReplaced, new Promise<never>(() => {}));

    expect(tasks.endServer('a', 'replaced', (c) => c === kept)).toBe(1);
    await expect(waiting).rejects.toMatchObject({
      code: 'UNKNOWN_TASK',
      message: expect.stringContaining('a config reload replaced the upstream connection of server "a", which ran it'),
      data: { server: 'a', cause: 'replaced' },
    });
    expect(tasks.owned(onKept.id, 'c1')).toBe(onKept);
    expect(tasks.whyEnded(onKept.id, 'c1')).toBeUndefined();
    expect(tasks.whyEnded(onReplaced.id, 'c1')?.message).toContain('a config reload replaced');
  });

  it('keeps at most maxTasks records of ended tasks, and none of a client that left', () => {
    const { tasks } = table({ maxTasks: 2 });
    const ids = ['a', 'b', 'c'].map((server) => {
      const entry = tasks.add({ clientId: 'c1', server, backend: 'primary', conn: conn(), task: task('t') });
      tasks.endServer(server);
      return entry.id;
    });
    expect(ids.map((id) => tasks.whyEnded(id, 'c1') !== undefined)).toEqual([false, true, true]);
    tasks.dropClient('c1');
    expect(ids.map((id) => tasks.whyEnded(id, 'c1'))).toEqual([undefined, undefined, undefined]);
  });
});
