import { connect, type Socket } from 'node:net';

/**
 * A one-shot RESP client for probing a redis-server before (or without) a real client:
 * readiness PINGs, INFO while it loads, SHUTDOWN of an orphan. It opens a connection,
 * sends one command, reads one reply and closes, so a dead or half-started server can
 * never leave a reconnecting client behind.
 */

/** Where to reach the server: a unix socket path, or a loopback host and port. */
export type RespTarget = { readonly path: string } | { readonly host: string; readonly port: number };

export type RespReply =
  | { readonly kind: 'simple'; readonly value: string }
  | { readonly kind: 'error'; readonly value: string }
  | { readonly kind: 'bulk'; readonly value: string }
  | { readonly kind: 'integer'; readonly value: number }
  | { readonly kind: 'null' }
  | { readonly kind: 'array'; readonly items: readonly RespReply[] };

/** Thrown when the connection fails, closes early or times out (not a Redis error reply). */
export class RespProbeError extends Error {
  constructor(message: string, readonly errno?: string) {
    super(message);
    this.name = 'RespProbeError';
  }
}

function encode(args: readonly string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** Parses one reply at `offset`; returns null when the buffer does not hold all of it yet. */
function parse(buf: Buffer, offset: number): { reply: RespReply; next: number } | null {
  const lineEnd = buf.indexOf('\r\n', offset);
  if (lineEnd < 0) return null;
  const type = String.fromCharCode(buf[offset] ?? 0);
  const line = buf.toString('utf8', offset + 1, lineEnd);
  const after = lineEnd + 2;
  switch (type) {
    case '+': return { reply: { kind: 'simple', value: line }, next: after };
    case '-': return { reply: { kind: 'error', value: line }, next: after };
    case ':': return { reply: { kind: 'integer', value: Number(line) }, next: after };
    case '$': {
      const len = Number(line);
      if (len < 0) return { reply: { kind: 'null' }, next: after };
      if (buf.length < after + len + 2) return null;
      return { reply: { kind: 'bulk', value: buf.toString('utf8', after, after + len) }, next: after + len + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { reply: { kind: 'null' }, next: after };
      const items: RespReply[] = [];
      let next = after;
      for (let i = 0; i < count; i++) {
        const item = parse(buf, next);
        if (item === null) return null;
        items.push(item.reply);
        next = item.next;
      }
      return { reply: { kind: 'array', items }, next };
    }
    default:
      throw new RespProbeError(`unexpected RESP type byte '${type}'`);
  }
}

/**
 * Sends one command and resolves with its reply (a Redis error reply resolves too, as
 * kind 'error'). Rejects with RespProbeError on connection failure or timeout. When
 * `expectClose` is set (SHUTDOWN), a connection closed without a reply resolves null.
 */
export function sendCommand(
  target: RespTarget,
  args: readonly string[],
  options: { readonly timeoutMs?: number; readonly expectClose?: boolean } = {},
): Promise<RespReply | null> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  return new Promise((resolve, reject) => {
    const socket: Socket = 'path' in target ? connect(target.path) : connect(target.port, target.host);
    let buf = Buffer.alloc(0);
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    const timer = setTimeout(() => {
      finish(() => { reject(new RespProbeError(`no reply to ${args[0] ?? ''} within ${timeoutMs} ms`, 'ETIMEDOUT')); });
    }, timeoutMs);
    socket.on('connect', () => socket.write(encode(args)));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        const parsed = parse(buf, 0);
        if (parsed !== null) finish(() => { resolve(parsed.reply); });
      } catch (error) {
        finish(() => { reject(error instanceof Error ? error : new RespProbeError(String(error))); });
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      finish(() => { reject(new RespProbeError(`connection failed: ${error.message}`, error.code)); });
    });
    socket.on('close', () => {
      finish(() => {
        if (options.expectClose === true) resolve(null);
        else reject(new RespProbeError(`connection closed before a reply to ${args[0] ?? ''}`, 'ECONNRESET'));
      });
    });
  });
}

/** Parses an INFO bulk reply into field → value. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}
