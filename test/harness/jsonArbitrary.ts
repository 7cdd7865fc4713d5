import fc from 'fast-check';

/** True when `value` has a "__proto__" member at any depth (JSON.parse makes such own members). */
export function hasProtoMember(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasProtoMember);
  if (typeof value !== 'object' || value === null) return false;
  return Object.keys(value).some((key) => key === '__proto__' || hasProtoMember((value as Record<string, unknown>)[key]));
}

/**
 * Any JSON value the wire accepts: fc.jsonValue() without "__proto__" members, which
 * canonicalJson refuses by design (a receiver cannot parse one back as a field) and which
 * fast-check draws now and then.
 */
export function wireJsonValue(): fc.Arbitrary<unknown> {
  return fc.jsonValue().filter((value) => !hasProtoMember(value));
}
