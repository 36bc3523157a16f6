/** The tasks capability the gateway declares, from what its upstreams declare, and task ids inside messages. */
import { RELATED_TASK, TASKS_EXTENSION, declaresTasksExtension, tasksCapability, toModernTask, withRelatedTask, withTaskId } from './task-messages';

const CALLABLE = { requests: { tools: { call: {} } } };

describe('the tasks capability', () => {
  it('is absent when no upstream takes task-augmented tools/call', () => {
    expect(tasksCapability([])).toBeUndefined();
    expect(tasksCapability([{ tools: {} }, { tasks: { list: {}, cancel: {} } }, { tasks: { requests: { sampling: { createMessage: {} } } } }])).toBeUndefined();
  });

  it('offers list and cancel as far as an upstream that takes tasks does, and only tools/call', () => {
    expect(tasksCapability([{ tasks: CALLABLE }])).toEqual(CALLABLE);
    expect(tasksCapability([{ tasks: { ...CALLABLE, cancel: {} } }, { tasks: { list: {} } }])).toEqual({ cancel: {}, ...CALLABLE });
    expect(tasksCapability([{ tasks: { list: {}, requests: { tools: { call: {} }, prompts: { get: {} } } } }])).toEqual({ list: {}, ...CALLABLE });
  });
});

describe('task ids inside messages', () => {
  it('renames the task a message is about, and its related-task meta, keeping everything else', () => {
    const task = { taskId: 'up', status: 'working', _meta: { [RELATED_TASK]: { taskId: 'up' }, other: 1 } };
    expect(withTaskId(task, 'gw')).toEqual({ taskId: 'gw', status: 'working', _meta: { [RELATED_TASK]: { taskId: 'gw' }, other: 1 } });
    expect(withRelatedTask({ content: [] }, 'gw')).toEqual({ content: [] });
  });
});

describe('a task for the 2026-07-28 extension', () => {
  it('names ttl and poll interval in milliseconds, null for an unlimited ttl, and drops the related-task meta', () => {
    const at = '2026-12-02T00:00:00Z';
    expect(toModernTask({ taskId: 'up', status: 'working', createdAt: at, lastUpdatedAt: at, ttl: 5, pollInterval: 1 }, 'gw')).toEqual({
      taskId: 'gw',
      status: 'working',
      createdAt: at,
      lastUpdatedAt: at,
      ttlMs: 5,
      pollIntervalMs: 1,
    });
    expect(toModernTask({ taskId: 'up', status: 'failed', ttl: null, _meta: { [RELATED_TASK]: { taskId: 'up' }, keep: 1 } }, 'gw')).toEqual({
      taskId: 'gw',
      status: 'failed',
      ttlMs: null,
      _meta: { keep: 1 },
    });
  });

  it('is negotiated by the extension in the request’s client capabilities', () => {
    expect(declaresTasksExtension({ extensions: { [TASKS_EXTENSION]: {} } })).toBe(true);
    expect(declaresTasksExtension({ tasks: {} })).toBe(false);
  });
});
