import { runtimeStatus, withPhase } from '../../test/gen/kmsNode.js';
import type { NodeStatusChange } from './runtime.js';
import { StatusListeners } from './statusListeners.js';

describe('StatusListeners', () => {
  test('calls every listener in subscription order with the reason and status', () => {
    const listeners = new StatusListeners((error) => { throw error; });
    const heard: string[] = [];
    const status = runtimeStatus(withPhase('restoring'));
    listeners.add((c: NodeStatusChange) => { heard.push(`a:${c.reason}:${c.status.phase}`); });
    listeners.add((c: NodeStatusChange) => { heard.push(`b:${c.reason}:${c.status.phase}`); });
    listeners.emit('phase', status);
    expect(heard).toEqual(['a:phase:restoring', 'b:phase:restoring']);
  });

  test('one function subscribed twice is two subscriptions; each unsubscribe removes one, once', () => {
    const listeners = new StatusListeners((error) => { throw error; });
    let calls = 0;
    const listener = (): void => { calls++; };
    const first = listeners.add(listener);
    listeners.add(listener);
    listeners.emit('boundaryProcessed', runtimeStatus());
    expect(calls).toBe(2);
    first();
    first();
    expect(listeners.size).toBe(1);
    listeners.emit('boundaryProcessed', runtimeStatus());
    expect(calls).toBe(3);
  });

  test('a throwing listener is reported and the others still hear the change', () => {
    const errors: unknown[] = [];
    const listeners = new StatusListeners((error) => { errors.push(error); });
    const heard: string[] = [];
    listeners.add(() => { throw new Error('listener bug'); });
    listeners.add((c) => { heard.push(c.reason); });
    listeners.emit('keyVersionActivated', runtimeStatus());
    expect(heard).toEqual(['keyVersionActivated']);
    expect(errors).toEqual([new Error('listener bug')]);
  });

  test('a listener that unsubscribes another during a change does not take this change from it', () => {
    const listeners = new StatusListeners((error) => { throw error; });
    const heard: string[] = [];
    let removeSecond = (): void => undefined;
    listeners.add(() => { heard.push('first'); removeSecond(); });
    removeSecond = listeners.add(() => { heard.push('second'); });
    listeners.emit('persistenceHealth', runtimeStatus());
    listeners.emit('persistenceHealth', runtimeStatus());
    expect(heard).toEqual(['first', 'second', 'first']);
  });
});
