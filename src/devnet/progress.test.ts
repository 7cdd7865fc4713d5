import { DemoStepError, Progress, shortHex } from './progress.js';

function sink(): { lines: () => string[]; write: (text: string) => void } {
  let text = '';
  return { lines: () => text.split('\n').filter((l) => l !== ''), write: (t: string) => { text += t; } };
}

describe('Progress', () => {
  test('a successful step prints one ✓ line with the success text and returns the value', async () => {
    const out = sink();
    const value = await new Progress(out).step('DKG', () => Promise.resolve(42), (v) => `DKG done: version ${v}`);
    expect(value).toBe(42);
    expect(out.lines()).toEqual(['✓ DKG done: version 42']);
  });

  test('a failed step prints ✗ with the step name and throws DemoStepError naming it', async () => {
    const out = sink();
    const failing = new Progress(out).step('reshare', () => Promise.reject(new Error('no agreement within 120 s')), () => 'unused');
    await expect(failing).rejects.toThrow(new DemoStepError('reshare', 'no agreement within 120 s'));
    expect(out.lines()).toEqual(['✗ reshare: no agreement within 120 s']);
  });

  test('a DemoStepError from inside keeps its own step name', async () => {
    const out = sink();
    const failing = new Progress(out).step('outer', () => Promise.reject(new DemoStepError('inner', 'why')), () => 'unused');
    await expect(failing).rejects.toMatchObject({ step: 'inner', reason: 'why' });
    expect(out.lines()).toEqual(['✗ outer: why']);
  });

  test('wait, ok, fail and info prefixes', () => {
    const out = sink();
    const p = new Progress(out);
    p.wait('waiting');
    p.ok('done');
    p.fail('broken');
    p.info('detail');
    expect(out.lines()).toEqual(['… waiting', '✓ done', '✗ broken', '  detail']);
  });
});

describe('shortHex', () => {
  test('keeps short values and elides the middle of long ones', () => {
    expect(shortHex('0xabcd')).toBe('0xabcd');
    expect(shortHex(`0x${'ab'.repeat(48)}`)).toBe('0xabababab…abab');
    expect(shortHex('0x70997970c51812dc3a010c7d01b50e0d17dc79c8', 8, 4)).toBe('0x709979…79c8');
  });
});
