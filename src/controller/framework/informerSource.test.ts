import { generationChanged } from './informerSource.js';

describe('generationChanged (update predicate)', () => {
  const obj = (generation: number, extra: Record<string, unknown> = {}) => ({ metadata: { name: 'n', generation, ...extra } });
  test('a spec change (new generation) triggers a reconcile', () => {
    expect(generationChanged(obj(1), obj(2))).toBe(true);
  });
  test('a status-only update (same generation), such as the controller\'s own patch, does not', () => {
    expect(generationChanged(obj(3), { ...obj(3), status: { phase: 'Running' } } as never)).toBe(false);
  });
  test('deletion in progress does', () => {
    expect(generationChanged(obj(3), obj(3, { deletionTimestamp: new Date(0) }))).toBe(true);
  });
  test('an object seen for the first time does', () => {
    expect(generationChanged(undefined, obj(1))).toBe(true);
  });
});
