/**
 * Fixed binary layouts for record bodies: big-endian integers and length-prefixed lists,
 * read strictly. A layout that is short, long, or out of range fails with the field's
 * name; the codec turns that into a CorruptRecordError naming the record's key.
 */

/** Thrown by ByteReader; never carries the bytes themselves (they may be secret). */
export class LayoutError extends Error {
  constructor(readonly field: string, readonly reason: string) {
    super(`${field}: ${reason}`);
    this.name = 'LayoutError';
  }
}

const MAX_U16 = 0xffff;

/**
 * Writes fields into a buffer of exactly the layout's size (both layouts know it up
 * front): one allocation per record, hex written in place, and a size mismatch is a bug
 * caught here rather than a record that reads back wrong.
 */
export class ByteWriter {
  private readonly bytes: Buffer;
  private length = 0;

  constructor(readonly size: number) {
    // Not zero-filled: finish() hands the bytes out only once every one was written.
    this.bytes = Buffer.allocUnsafe(size);
  }

  u8(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 255) throw new RangeError(`u8 out of range: ${value}`);
    this.bytes.writeUInt8(value, this.reserve(1));
    return this;
  }

  u16(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > MAX_U16) throw new RangeError(`u16 out of range: ${value}`);
    this.bytes.writeUInt16BE(value, this.reserve(2));
    return this;
  }

  /** A non-negative safe integer as 8 bytes. */
  u64(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`u64 out of range: ${value}`);
    // Two 32-bit halves: a safe integer needs no BigInt (every save writes two of these).
    const at = this.reserve(8);
    this.bytes.writeUInt32BE(Math.floor(value / 2 ** 32), at);
    this.bytes.writeUInt32BE(value % 2 ** 32, at + 4);
    return this;
  }

  /** An unsigned integer below 2^256 as 32 big-endian bytes. */
  u256(value: bigint): this {
    if (value < 0n || value >= 1n << 256n) throw new RangeError('u256 out of range');
    this.bytes.write(value.toString(16).padStart(64, '0'), this.reserve(32), 32, 'hex');
    return this;
  }

  raw(data: Uint8Array): this {
    this.bytes.set(data, this.reserve(data.length));
    return this;
  }

  /** A u16 count, then every item of exactly `itemBytes` bytes. */
  list(items: readonly Uint8Array[], itemBytes: number): this {
    this.u16(items.length);
    for (const item of items) {
      if (item.length !== itemBytes) throw new RangeError(`list item of ${item.length} bytes, expected ${itemBytes}`);
      this.raw(item);
    }
    return this;
  }

  /** Exactly `n` bytes given as hex, decoded in place. */
  hex(hex: string, n: number): this {
    if (hex.length !== n * 2) throw new RangeError(`hex of ${hex.length} characters, expected ${n * 2}`);
    if (this.bytes.write(hex, this.reserve(n), n, 'hex') !== n) throw new RangeError('not hex');
    return this;
  }

  /** A u16 count, then every item given as hex of exactly `itemBytes` bytes (decoded in one call). */
  hexList(items: readonly string[], itemBytes: number): this {
    for (const item of items) {
      if (item.length !== itemBytes * 2) throw new RangeError(`hex list item of ${item.length} characters, expected ${itemBytes * 2}`);
    }
    return this.u16(items.length).hex(items.join(''), items.length * itemBytes);
  }

  /** The record; fails unless exactly `size` bytes were written. */
  finish(): Buffer {
    if (this.length !== this.size) throw new RangeError(`layout wrote ${this.length} of ${this.size} bytes`);
    return this.bytes;
  }

  private reserve(n: number): number {
    const at = this.length;
    if (at + n > this.size) throw new RangeError(`layout overflows its ${this.size} bytes`);
    this.length += n;
    return at;
  }
}

/**
 * Copies small byte strings into shared 64 KiB blocks: one ArrayBuffer per ~40 decoded
 * versions instead of one each. A year of versions held at once was 52,560 buffers, and
 * allocating and tracking them was most of the listing's garbage-collection time. Only
 * public bytes go in (a view's .buffer exposes its neighbours).
 */
export class Slab {
  private block = new Uint8Array(0);
  private used = 0;

  constructor(private readonly blockBytes = 64 * 1024) {}

  copy(bytes: Uint8Array): Uint8Array {
    if (bytes.length > this.blockBytes / 4) return bytes.slice();
    if (this.used + bytes.length > this.block.length) {
      this.block = new Uint8Array(this.blockBytes);
      this.used = 0;
    }
    const out = this.block.subarray(this.used, this.used + bytes.length);
    out.set(bytes);
    this.used += bytes.length;
    return out;
  }
}

/** Reads fields in order; every read names its field so a failure says which one. */
export class ByteReader {
  private offset = 0;
  private readonly view: DataView;
  private readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    // A plain Uint8Array over the same memory: Buffer#slice returns a view, not a copy, and
    // the copies handed out must never reach the rest of the record (the private share).
    this.bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u16(field: string): number {
    return this.view.getUint16(this.take(field, 2));
  }

  /** 8 bytes that must hold a safe integer. */
  u64(field: string): number {
    const value = this.view.getBigUint64(this.take(field, 8));
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new LayoutError(field, 'exceeds the largest safe integer');
    return Number(value);
  }

  u256(field: string): bigint {
    const at = this.take(field, 32);
    // Through hex: one BigInt parse instead of 32 shift-and-or steps.
    return BigInt(`0x${Buffer.from(this.bytes.buffer, this.bytes.byteOffset + at, 32).toString('hex')}`);
  }

  /** `n` bytes as lowercase hex. */
  hex(field: string, n: number): string {
    const at = this.take(field, n);
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + at, n).toString('hex');
  }

  /** A counted list of fixed-size items as one lowercase hex string (count × itemBytes × 2 characters). */
  countedHex(field: string, itemBytes: number): string {
    const { at, count } = this.counted(field, itemBytes);
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + at, count * itemBytes).toString('hex');
  }

  /** Skips `n` bytes (read them later from a copy). */
  skip(field: string, n: number): void {
    this.take(field, n);
  }

  /** Skips a counted list of fixed-size items (read it later from a copy); returns its count. */
  skipList(field: string, itemBytes: number): number {
    return this.counted(field, itemBytes).count;
  }

  /** The offset of the next field. */
  get position(): number {
    return this.offset;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  u8(field: string): number {
    return this.view.getUint8(this.take(field, 1));
  }

  /** One copy of the bytes from `start` up to the current position (into `slab` when given). */
  copySince(start: number, slab?: Slab): Uint8Array {
    const bytes = this.bytes.subarray(start, this.offset);
    return slab === undefined ? bytes.slice() : slab.copy(bytes);
  }

  /** Fails when bytes are left over: a layout is exact. */
  end(what: string): void {
    const left = this.bytes.length - this.offset;
    if (left !== 0) throw new LayoutError(what, `${left} unexpected trailing bytes`);
  }

  private counted(field: string, itemBytes: number): { at: number; count: number } {
    const count = this.u16(`${field} count`);
    if (count * itemBytes > this.bytes.length - this.offset) {
      throw new LayoutError(field, `declares ${count} items of ${itemBytes} bytes but the record ends first`);
    }
    return { at: this.take(field, count * itemBytes), count };
  }

  private take(field: string, n: number): number {
    if (this.offset + n > this.bytes.length) throw new LayoutError(field, 'the record ends before this field');
    const at = this.offset;
    this.offset += n;
    return at;
  }
}
