/**
 * Deterministic JSON: object keys sorted by UTF-16 code units, no whitespace,
 * `undefined` object members omitted (as JSON.stringify does). Two nodes that
 * build the same message get the same bytes, so signatures and hashes over a
 * payload do not depend on property insertion order.
 *
 * Anything JSON cannot carry faithfully is refused instead of silently changed:
 * non-finite numbers, bigint, functions, symbols, `undefined` inside arrays,
 * and objects that are not plain (Date, Map, class instances, typed arrays).
 */
export function canonicalJson(value: unknown): string {
  return encode(value, '$');
}

function encode(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${path} is a non-finite number`);
      return JSON.stringify(value);
    case 'object':
      return Array.isArray(value) ? encodeArray(value, path) : encodeObject(value, path);
    default:
      throw new TypeError(`canonicalJson: ${path} has type ${typeof value}, which JSON cannot carry`);
  }
}

function encodeArray(items: readonly unknown[], path: string): string {
  const parts = items.map((item, i) => {
    if (item === undefined) throw new TypeError(`canonicalJson: ${path}[${i}] is undefined`);
    return encode(item, `${path}[${i}]`);
  });
  return `[${parts.join(',')}]`;
}

function encodeObject(obj: object, path: string): string {
  const proto: unknown = Object.getPrototypeOf(obj);
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError(`canonicalJson: ${path} is not a plain object; convert it to JSON-safe fields first`);
  }
  const record = obj as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  const parts: string[] = [];
  for (const key of keys) {
    if (key === '__proto__') throw new TypeError(`canonicalJson: ${path} has a "__proto__" member, which a receiver cannot parse back as a field`);
    const member = record[key];
    if (member === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${encode(member, `${path}.${key}`)}`);
  }
  return `{${parts.join(',')}}`;
}
