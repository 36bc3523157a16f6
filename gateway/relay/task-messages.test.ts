/** The tasks capability the gateway declares, from what its upstreams declare, and task ids inside messages. */
import { RELATED_TASK, tasksCapability, withRelatedTask, withTaskId } from './task-messages';

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
