import { randomBytes } from 'node:crypto';
import { PersistenceConfigError } from './errors.js';
import { createRecordSealer, pooledRandomBytes, SealOpenFailure } from './sealing.js';

describe('createRecordSealer', () => {
  const secret = randomBytes(32);
  const plaintext = Buffer.from('{"privateShare":"0x1234"}');

  it('opens what it sealed for the same key, with a fresh nonce each time', () => {
    const sealer = createRecordSealer(secret);
    const a = sealer.seal('kms:keyshare:1', plaintext);
    const b = sealer.seal('kms:keyshare:1', plaintext);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(Buffer.from(sealer.open('kms:keyshare:1', a))).toEqual(plaintext);
    expect(Buffer.from(a).includes(plaintext)).toBe(false);
  });

  it('derives the same key from the same secret (a restarted node opens old records)', () => {
    const sealed = createRecordSealer(secret).seal('k', plaintext);
    expect(Buffer.from(createRecordSealer(Buffer.from(secret)).open('k', sealed))).toEqual(plaintext);
  });

  it('fails on another record key (AAD), another secret, and any flipped bit', () => {
    const sealer = createRecordSealer(secret);
    const sealed = sealer.seal('kms:keyshare:1', plaintext);
    expect(() => sealer.open('kms:keyshare:2', sealed)).toThrow(SealOpenFailure);
    expect(() => createRecordSealer(randomBytes(32)).open('kms:keyshare:1', sealed)).toThrow(SealOpenFailure);
    for (let i = 1; i < sealed.length; i++) {
      const flipped = Uint8Array.from(sealed);
      flipped[i]! ^= 0x80;
      expect(() => sealer.open('kms:keyshare:1', flipped)).toThrow(SealOpenFailure);
    }
    const wrongFormat = Uint8Array.from(sealed);
    wrongFormat[0] = 9;
    expect(() => sealer.open('kms:keyshare:1', wrongFormat)).toThrow('unknown sealed format 9');
    expect(() => sealer.open('kms:keyshare:1', sealed.subarray(0, 20))).toThrow('too short');
  });

  it('uses the injected nonce source and a 1+12+n+16 byte layout', () => {
    const sealer = createRecordSealer(secret, (n) => new Uint8Array(n).fill(7));
    const sealed = sealer.seal('k', plaintext);
    expect(sealed.length).toBe(1 + 12 + plaintext.length + 16);
    expect([...sealed.subarray(1, 13)]).toEqual(new Array<number>(12).fill(7));
  });

  it('uses every cipher, and so every nonce, once: made ahead between turns or on the spot', async () => {
    let drawn = 0;
    const sealer = createRecordSealer(secret, (n) => new Uint8Array(n).fill(++drawn));
    const nonceOf = (sealed: Uint8Array): number => sealed[1] ?? -1;
    const sealed = [sealer.seal('k', plaintext), sealer.seal('k', plaintext)];
    await new Promise((resolve) => setImmediate(resolve));
    const spareReady = drawn;
    sealed.push(sealer.seal('k', plaintext));
    expect(drawn).toBe(spareReady); // the third seal took the spare made between turns
    sealed.push(sealer.seal('k', plaintext));
    await new Promise((resolve) => setImmediate(resolve));
    const nonces = sealed.map(nonceOf);
    expect(new Set(nonces).size).toBe(sealed.length);
    for (const blob of sealed) expect(Buffer.from(sealer.open('k', blob))).toEqual(plaintext);
    // The spare made after the last seal is new too, never one already used.
    expect(drawn).toBe(sealed.length + 1);
  });

  it('refuses a secret shorter than 32 bytes', () => {
    expect(() => createRecordSealer(randomBytes(16))).toThrow(PersistenceConfigError);
  });
});

describe('pooledRandomBytes', () => {
  it('never hands out the same bytes twice, refills when spent, and returns independent copies', () => {
    const next = pooledRandomBytes(64);
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const nonce = next(12);
      expect(nonce).toHaveLength(12);
      const hex = Buffer.from(nonce).toString('hex');
      expect(seen.has(hex)).toBe(false);
      seen.add(hex);
    }
    const a = next(12);
    const copy = Uint8Array.from(a);
    next(60); // forces a refill of the pool
    expect(a).toEqual(copy);
    expect(next(100)).toHaveLength(100);
  });
});
