import { ByteReader, ByteWriter, LayoutError, Slab } from './byteLayout.js';

describe('byte layout', () => {
  it('writes exactly its size and reads back every field', () => {
    const items = [Uint8Array.of(1, 2), Uint8Array.of(3, 4)];
    const bytes = new ByteWriter(2 + 8 + 32 + 2 + 4 + 3 + 2 + 2)
      .u16(0xbeef).u64(Number.MAX_SAFE_INTEGER).u256((1n << 255n) + 7n).list(items, 2).hex('abcdef', 3).hexList(['0a0b'], 2)
      .finish();
    const r = new ByteReader(bytes);
    expect(r.u16('a')).toBe(0xbeef);
    expect(r.u64('b')).toBe(Number.MAX_SAFE_INTEGER);
    expect(r.u256('c')).toBe((1n << 255n) + 7n);
    const listAt = r.position;
    expect(r.skipList('d', 2)).toBe(2);
    expect([...r.copySince(listAt)]).toEqual([0, 2, 1, 2, 3, 4]);
    expect(r.hex('e', 3)).toBe('abcdef');
    expect(r.countedHex('f', 2)).toBe('0a0b');
    expect(() => { r.end('body'); }).not.toThrow();
  });

  it('refuses to write past, or finish short of, its size, and out-of-range values', () => {
    expect(() => new ByteWriter(1).u16(1)).toThrow('overflows');
    expect(() => new ByteWriter(4).u16(1).finish()).toThrow('wrote 2 of 4');
    expect(() => new ByteWriter(2).u16(0x10000)).toThrow(RangeError);
    expect(() => new ByteWriter(8).u64(-1)).toThrow(RangeError);
    expect(() => new ByteWriter(32).u256(1n << 256n)).toThrow(RangeError);
    expect(() => new ByteWriter(2).hex('zz', 1)).toThrow('not hex');
    expect(() => new ByteWriter(4).list([Uint8Array.of(1)], 2)).toThrow('expected 2');
  });

  it('names the field that runs past the end, an oversized count, and trailing bytes', () => {
    const fail = (read: (r: ByteReader) => unknown, bytes: Uint8Array): LayoutError => {
      try {
        read(new ByteReader(bytes));
      } catch (error) {
        expect(error).toBeInstanceOf(LayoutError);
        return error as LayoutError;
      }
      throw new Error('expected a LayoutError');
    };
    expect(fail((r) => r.u64('epoch'), new Uint8Array(7))).toMatchObject({ field: 'epoch', reason: 'the record ends before this field' });
    expect(fail((r) => r.skipList('commitments', 96), Uint8Array.of(0, 3, 1, 2))).toMatchObject({ field: 'commitments' });
    expect(fail((r) => r.u64('big'), Uint8Array.of(0, 0x20, 0, 0, 0, 0, 0, 0))).toMatchObject({ reason: 'exceeds the largest safe integer' });
    expect(fail((r) => { r.u16('a'); r.end('body'); }, new Uint8Array(3))).toMatchObject({ field: 'body', reason: '1 unexpected trailing bytes' });
  });
});

describe('Slab', () => {
  it('packs copies into shared blocks without overlap, and copies large inputs alone', () => {
    const slab = new Slab(64);
    const a = slab.copy(Uint8Array.of(1, 2, 3));
    const b = slab.copy(Uint8Array.of(4, 5));
    expect(a.buffer).toBe(b.buffer);
    b.fill(9);
    expect([...a]).toEqual([1, 2, 3]);
    const source = new Uint8Array(40).fill(7);
    const big = slab.copy(source);
    expect(big.buffer).not.toBe(a.buffer);
    source.fill(0);
    expect(big.every((x) => x === 7)).toBe(true);
    // 5 bytes used; four more 15-byte copies overflow the 64-byte block into a new one.
    const copies = [1, 2, 3, 4].map((n) => slab.copy(new Uint8Array(15).fill(n)));
    expect(copies[3]?.buffer).not.toBe(a.buffer);
    copies.forEach((copy, i) => { expect(copy.every((x) => x === i + 1)).toBe(true); });
    expect([...a]).toEqual([1, 2, 3]);
  });
});
