/**
 * uint256 values (epoch ids, days) travel as canonical decimal strings: JSON-safe for Temporal
 * payloads, exact beyond 2^53, and written into JSON bodies as bare digits so that the Go
 * neighbours read JSON numbers.
 */
const CANONICAL_DECIMAL = /^(0|[1-9][0-9]*)$/;

export function isCanonicalDecimal(value: string): boolean {
  return CANONICAL_DECIMAL.test(value);
}

/** Numeric comparison of two canonical decimal strings. */
export function compareDecimal(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
