/**
 * The pure parts of the read API's answers: the envelope, the days a `pastDays` request covers,
 * pagination, the order of lists upstream left to chance, the parsing of numbers stored in Redis
 * as Go parses them, and Go's RFC 3339 time text.
 */
import { compareCodePoints } from '../domain/gojson.js';
import { encodeGo, type GoJson } from './go-json.js';

/**
 * The body of a success: `{"info":{"success":true,"response":<payload>},"requestID":"<uuid>"}`
 * and a newline, as Go's json.Encoder writes upstream's Response struct.
 */
export function successBody(response: GoJson, requestId: string): string {
  return `${encodeGo({ info: { success: true, response }, requestID: requestId })}\n`;
}

/** The body of an error: the text and a newline, as Go's http.Error writes it. */
export const errorBody = (text: string) => `${text}\n`;

/** big.Int's Int64(): the low 64 bits as a signed integer. */
export const int64 = (value: bigint) => BigInt.asIntN(64, value);

/** The days `count` days back from `currentDay`, newest first: currentDay, currentDay − 1, … */
export function daysBack(currentDay: bigint, count: bigint): bigint[] {
  const days: bigint[] = [];
  for (let i = 0n; i < count; i++) days.push(currentDay - i);
  return days;
}

/** Projects per page of `/discardedSubmissionsByDay` (upstream's fixed page size). */
export const PAGE_SIZE = 50n;

/**
 * Upstream's paging: a page below 1 is page 1, pages of PAGE_SIZE, a page past the end is empty.
 * `items` must already be in a stable order, so that pages never overlap or skip between calls.
 */
export function paginate<T>(items: readonly T[], requestedPage: bigint): { items: T[]; totalPages: bigint; currentPage: bigint } {
  const currentPage = requestedPage < 1n ? 1n : requestedPage;
  const count = BigInt(items.length);
  const start = (currentPage - 1n) * PAGE_SIZE;
  const end = start + PAGE_SIZE < count ? start + PAGE_SIZE : count;
  return {
    items: start >= count ? [] : items.slice(Number(start), Number(end)),
    totalPages: (count + PAGE_SIZE - 1n) / PAGE_SIZE,
    currentPage,
  };
}

/**
 * The order of slot IDs (members of Redis sets and hash fields, which Redis returns in no set
 * order): decimal IDs by value, anything else after them; ties (`01` and `1`) by code points.
 */
export function compareSlotIds(a: string, b: string): number {
  const numeric = (s: string) => /^[0-9]+$/.test(s);
  if (numeric(a) && numeric(b)) {
    const x = BigInt(a);
    const y = BigInt(b);
    if (x !== y) return x < y ? -1 : 1;
  } else if (numeric(a) !== numeric(b)) return numeric(a) ? -1 : 1;
  return compareCodePoints(a, b);
}

/** strconv.Atoi (and ParseInt(s, 10, 64)): an optional sign and decimal digits within int64, or null. */
export function goAtoi(text: string): bigint | null {
  if (!/^[+-]?[0-9]+$/.test(text)) return null;
  const value = BigInt(text);
  return value === BigInt.asIntN(64, value) ? value : null;
}

/** big.Int.SetString(s, 10) then Int64(): any size of integer, its low 64 bits; or null. */
export function goBigInt64(text: string): bigint | null {
  return /^[+-]?[0-9]+$/.test(text) ? int64(BigInt(text)) : null;
}

const floorDiv = (a: bigint, b: bigint) => (a >= 0n ? a / b : -((-a + b - 1n) / b));
const pad = (n: bigint, width: number) => n.toString().padStart(width, '0');

/** The largest instant a JS Date holds, in ms: a zone's offset is read at most this far out. */
const DATE_LIMIT_MS = 8.64e15;

/**
 * `time.Unix(seconds, 0).Format(time.RFC3339)` in a zone: `2006-01-02T15:04:05Z07:00`, `Z` for
 * UTC, the offset's seconds dropped as Go drops them; years below 1000 with four digits, beyond
 * 9999 with all of theirs, before year 0 with a minus sign (Go's appendInt(year, 4)).
 * `utcOffsetMinutes` gives the zone's offset east of UTC at an instant (ms since the epoch).
 */
export function rfc3339(unixSeconds: bigint, utcOffsetMinutes: (epochMs: number) => number): string {
  const ms = Math.max(-DATE_LIMIT_MS, Math.min(DATE_LIMIT_MS, Number(unixSeconds) * 1000));
  const offset = Math.trunc(utcOffsetMinutes(ms));
  const local = unixSeconds + BigInt(offset * 60);
  const days = floorDiv(local, 86_400n);
  const secondOfDay = local - days * 86_400n;
  // Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil inverse), proleptic Gregorian as Go's.
  const z = days + 719_468n;
  const era = floorDiv(z, 146_097n);
  const dayOfEra = z - era * 146_097n;
  const yearOfEra = (dayOfEra - dayOfEra / 1460n + dayOfEra / 36_524n - dayOfEra / 146_096n) / 365n;
  const dayOfYear = dayOfEra - (365n * yearOfEra + yearOfEra / 4n - yearOfEra / 100n);
  const mp = (5n * dayOfYear + 2n) / 153n;
  const day = dayOfYear - (153n * mp + 2n) / 5n + 1n;
  const month = mp < 10n ? mp + 3n : mp - 9n;
  const year = yearOfEra + era * 400n + (month <= 2n ? 1n : 0n);
  const yearText = year < 0n ? `-${pad(-year, 4)}` : pad(year, 4);
  const time = `${pad(secondOfDay / 3600n, 2)}:${pad((secondOfDay / 60n) % 60n, 2)}:${pad(secondOfDay % 60n, 2)}`;
  const zone = offset === 0 ? 'Z' : `${offset < 0 ? '-' : '+'}${String(Math.floor(Math.abs(offset) / 60)).padStart(2, '0')}:${String(Math.abs(offset) % 60).padStart(2, '0')}`;
  return `${yearText}-${pad(month, 2)}-${pad(day, 2)}T${time}${zone}`;
}

/** The process's own time zone, as Go's time.Local is the server's. */
export const localUtcOffsetMinutes = (epochMs: number) => -new Date(epochMs).getTimezoneOffset();
