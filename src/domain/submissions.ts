/**
 * Submission keys as the dequeuer files them, and their arrangement into finalizer batches.
 * Pure functions: no I/O, no Temporal.
 */
import { compareCodePoints, goJsonString } from './gojson.js';

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

/** One finalizer batch: projects in order, each with its submission keys in order. */
export type Batch = Array<[projectId: string, keys: string[]]>;


/**
 * Groups keys by project and cuts them into batches of `batchSize` projects. Deterministic:
 * projects sorted, keys sorted, duplicates removed, a project's keys never split.
 */
export function arrangeBatches(keys: readonly SubmissionKey[], batchSize: number): Batch[] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  const byProject = new Map<string, Set<string>>();
  for (const { key, projectId } of keys) {
    let set = byProject.get(projectId);
    if (!set) byProject.set(projectId, (set = new Set()));
    set.add(key);
  }
  // Go's encoding/json writes map keys in UTF-8 byte order: projects sorted the same way.
  const projects = [...byProject.keys()].sort(compareCodePoints);
  const batches: Batch[] = [];
  for (let i = 0; i < projects.length; i += batchSize) {
    batches.push(projects.slice(i, i + batchSize).map((p) => [p, [...byProject.get(p)!].sort(compareCodePoints)]));
  }
  return batches;
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
  return `{${batch.map(([projectId, keys]) => `${goJsonString(projectId)}:[${keys.map(goJsonString).join(',')}]`).join(',')}}`;
}
