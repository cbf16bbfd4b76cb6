/**
 * Submission keys as the dequeuer files them, their arrangement into finalizer batches, and the
 * bounded steps an epoch is read and stored in (header reads, plan chunks). Pure functions: no
 * I/O, no Temporal.
 */
import { compareCodePoints, goJsonString, goJsonStrings } from './gojson.js';

/** `<market lower>.<epochId>.<projectId>.<slotId>`, the name of one submission in Redis. */
export interface SubmissionKey {
  key: string;
  projectId: string;
  slotId: string;
}

export type ParsedKey = { ok: true; value: SubmissionKey } | { ok: false; key: string; reason: string };

const SLOT_ID = /^(0|[1-9][0-9]*)$/;

/**
 * Parses a member of `SnapshotCollector.<market>.<epoch>.<header>`. Upstream only splits on
 * `.` and panics on fewer than 4 parts; here anything that is not exactly this market's and
 * epoch's key with a non-empty project and a numeric slot is rejected with a reason.
 */
export function parseSubmissionKey(key: string, market: string, epochId: string): ParsedKey {
  const parts = key.split('.');
  if (parts.length !== 4) return { ok: false, key, reason: `expected 4 dot-separated parts, got ${parts.length}` };
  const [keyMarket, keyEpoch, projectId, slotId] = parts as [string, string, string, string];
  if (keyMarket !== market) return { ok: false, key, reason: `market ${keyMarket} is not ${market}` };
  if (keyEpoch !== epochId) return { ok: false, key, reason: `epoch ${keyEpoch} is not ${epochId}` };
  if (projectId === '') return { ok: false, key, reason: 'empty project id' };
  if (!SLOT_ID.test(slotId)) return { ok: false, key, reason: `slot id ${JSON.stringify(slotId)} is not a number` };
  return { ok: true, value: { key, projectId, slotId } };
}

/**
 * parseSubmissionKey for one market and epoch, quicker on the usual well-formed key (one prefix
 * check and one search for the slot's dot, where a split makes four strings); any other key
 * goes through parseSubmissionKey, for its reason.
 */
export function submissionKeyParser(market: string, epochId: string): (key: string) => ParsedKey {
  const prefix = `${market}.${epochId}.`;
  const quick = !market.includes('.') && !epochId.includes('.');
  return (key) => {
    if (quick && key.startsWith(prefix)) {
      const dot = key.indexOf('.', prefix.length);
      if (dot > prefix.length && key.indexOf('.', dot + 1) === -1) {
        const slotId = key.slice(dot + 1);
        if (SLOT_ID.test(slotId)) return { ok: true, value: { key, projectId: key.slice(prefix.length, dot), slotId } };
      }
    }
    return parseSubmissionKey(key, market, epochId);
  };
}

/** One finalizer batch: projects in order, each with its submission keys in order. */
export type Batch = Array<[projectId: string, keys: string[]]>;


/**
 * Groups keys by project and cuts them into batches of `batchSize` projects. Deterministic:
 * projects sorted, keys sorted, duplicates removed, a project's keys never split.
 */
export function arrangeBatches(keys: readonly SubmissionKey[], batchSize: number): Batch[] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  const byProject = new Map<string, string[]>();
  for (const { key, projectId } of keys) {
    const list = byProject.get(projectId);
    if (list) list.push(key);
    else byProject.set(projectId, [key]);
  }
  // Go's encoding/json writes map keys in UTF-8 byte order: projects sorted the same way.
  const projects = sortByCodePoints([...byProject.keys()]);
  const batches: Batch[] = [];
  for (let i = 0; i < projects.length; i += batchSize) {
    batches.push(projects.slice(i, i + batchSize).map((p) => [p, withoutRepeats(sortByCodePoints(byProject.get(p)!))]));
  }
  return batches;
}

/** A sorted list without its repeats (each kept once), in place. */
function withoutRepeats(sorted: string[]): string[] {
  let n = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[n - 1]) sorted[n++] = sorted[i]!;
  sorted.length = n;
  return sorted;
}

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * Sorts in place in code point order (UTF-8 byte order). Without surrogates UTF-16 unit order is
 * the same, and the engine's own comparison is many times quicker than compareCodePoints.
 */
function sortByCodePoints(values: string[]): string[] {
  return values.some((v) => SURROGATE.test(v)) ? values.sort(compareCodePoints) : values.sort();
}

/** Submissions per slot, the increments of `SlotSubmissionsKey.<market>.<day>.<slot>`. */
export function countBySlot(keys: readonly SubmissionKey[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { slotId } of keys) counts.set(slotId, (counts.get(slotId) ?? 0) + 1);
  return counts;
}

/**
 * JSON of a batch as the finalizer expects `Batch`: project id → keys, as Go's encoding/json
 * writes a map[string][]string. Written by hand so that the project order is kept (a JS object
 * would move integer-like project ids to the front).
 */
export function serializeBatch(batch: Batch): string {
  return `{${batch.map(([projectId, keys]) => `${goJsonString(projectId)}:[${goJsonStrings(keys)}]`).join(',')}}`;
}

/**
 * How the header sets of an epoch's window are read, so that no read and no round trip holds
 * Redis long (SMEMBERS costs about 0.4 µs a member, SSCAN about 0.8): sets of at most `perRead`
 * members whole, packed into round trips (arrays of indexes into `sizes`) of at most `perRead`
 * members together; larger sets (`scanned`) by SSCAN, a cursor at a time. Empty sets are skipped.
 */
export function planHeaderReads(sizes: readonly number[], perRead: number): { whole: number[][]; scanned: number[] } {
  if (!Number.isInteger(perRead) || perRead < 1) throw new RangeError(`members per read must be a positive integer, got ${perRead}`);
  const whole: number[][] = [];
  const scanned: number[] = [];
  let trip: number[] = [];
  let members = 0;
  sizes.forEach((size, i) => {
    if (size === 0) return;
    if (size > perRead) return void scanned.push(i);
    if (members + size > perRead) {
      whole.push(trip);
      [trip, members] = [[], 0];
    }
    trip.push(i);
    members += size;
  });
  if (trip.length > 0) whole.push(trip);
  return { whole, scanned };
}

/**
 * One step of an epoch's store: batches `firstBatch..firstBatch + batchCount - 1` (1-based
 * BatchIDs) and these slot counter increments (slot id, submissions), applied in one script.
 */
export interface PlanChunk {
  firstBatch: number;
  batchCount: number;
  slots: Array<[slotId: string, by: number]>;
}

/**
 * Cuts a run of finalizer pushes into scripts, in order: `[start, end)` index ranges of
 * `batchBytes` (the byte lengths of consecutive batches), each at most `bytes` together (a larger
 * batch alone) and at most `batches` long. None for no batches.
 */
export function planPushes(batchBytes: readonly number[], bytes: number, batches: number): Array<[start: number, end: number]> {
  if (!Number.isInteger(bytes) || bytes < 1 || !Number.isInteger(batches) || batches < 1) throw new RangeError(`push bytes and batches must be positive integers, got ${bytes} and ${batches}`);
  const ranges: Array<[number, number]> = [];
  for (let start = 0; start < batchBytes.length; ) {
    let end = start + 1;
    let sum = batchBytes[start]!;
    while (end < batchBytes.length && end - start < batches && sum + batchBytes[end]! <= bytes) sum += batchBytes[end++]!;
    ranges.push([start, end]);
    start = end;
  }
  return ranges;
}

/** Bounds of one chunk: bytes of batch JSON, batches, slot counters. */
export interface ChunkLimits {
  bytes: number;
  batches: number;
  slots: number;
}

/**
 * Cuts an epoch's writes into chunks that each stay within `limits`: batches in BatchID order
 * (`batchBytes[i]` the UTF-8 length of batch i + 1; a batch over `limits.bytes` makes a chunk of
 * its own), slot increments in the order given, both from the first chunk on. Always at least
 * one chunk: an epoch without submissions still has its batch count and guard to write.
 */
export function planChunks(batchBytes: readonly number[], slots: ReadonlyArray<readonly [string, number]>, limits: ChunkLimits): PlanChunk[] {
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`chunk ${name} must be a positive integer, got ${value}`);
  }
  const chunks: PlanChunk[] = [];
  let batch = 0;
  let slot = 0;
  do {
    const chunk: PlanChunk = { firstBatch: batch + 1, batchCount: 0, slots: [] };
    let bytes = 0;
    while (batch < batchBytes.length && chunk.batchCount < limits.batches && (chunk.batchCount === 0 || bytes + batchBytes[batch]! <= limits.bytes)) {
      bytes += batchBytes[batch++]!;
      chunk.batchCount++;
    }
    chunk.slots = slots.slice(slot, slot + limits.slots).map(([id, by]) => [id, by]);
    slot += chunk.slots.length;
    chunks.push(chunk);
  } while (batch < batchBytes.length || slot < slots.length);
  return chunks;
}
