/**
 * Reward updates: which slots and counts go to `/submitUpdateRewards`, in which chunks, with
 * which body (upstream-collector.md §6 and §7). Pure functions.
 */
import { compareDecimal, isCanonicalDecimal } from './decimal.js';
import { goJsonString } from './gojson.js';

/** One `/submitUpdateRewards` request's arrays: slot ids and their counts, as decimal strings. */
export interface RewardChunk {
  slotIDs: string[];
  submissionsList: string[];
}

/**
 * Cuts (slot, count) pairs into chunks of `chunkSize` slots, slots in numeric order. No slot is
 * dropped (upstream drops everything past 100 chunks). No slots give no chunk, except that
 * `alwaysOneChunk` (the past-days catch-up sends empty arrays with a count) gives one empty chunk.
 */
export function chunkRewards(counts: ReadonlyArray<readonly [slotId: string, count: string]>, chunkSize: number, alwaysOneChunk = false): RewardChunk[] {
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunk size must be a positive integer, got ${chunkSize}`);
  for (const [slot, count] of counts) {
    if (!isCanonicalDecimal(slot) || !isCanonicalDecimal(count)) throw new RangeError(`slot ${JSON.stringify(slot)} count ${JSON.stringify(count)} is not a pair of decimals`);
  }
  const sorted = [...counts].sort(([a], [b]) => compareDecimal(a, b));
  const chunks: RewardChunk[] = [];
  for (let i = 0; i < sorted.length; i += chunkSize) {
    const part = sorted.slice(i, i + chunkSize);
    chunks.push({ slotIDs: part.map(([slot]) => slot), submissionsList: part.map(([, count]) => count) });
  }
  if (chunks.length === 0 && alwaysOneChunk) chunks.push({ slotIDs: [], submissionsList: [] });
  return chunks;
}

/** Body of `POST /submitUpdateRewards`, in upstream's field order; arrays are never null. */
export function updateRewardsBody(checksumMarket: string, chunk: RewardChunk, day: string, eligibleNodes: number, authToken: string): string {
  if (!isCanonicalDecimal(day)) throw new RangeError(`not a canonical day: ${JSON.stringify(day)}`);
  return (
    `{"dataMarketAddress":${goJsonString(checksumMarket)},"slotIDs":[${chunk.slotIDs.join(',')}],` +
    `"submissionsList":[${chunk.submissionsList.join(',')}],"day":${day},"eligibleNodes":${eligibleNodes},"authToken":${goJsonString(authToken)}}`
  );
}

/** The previous days the eligible-node catch-up looks at: day-1 … day-buffer, never day 0. */
export function pastDays(currentDay: string, buffer: number): string[] {
  const days: string[] = [];
  const today = BigInt(currentDay);
  for (let d = 1n; d <= BigInt(buffer) && today - d > 0n; d++) days.push((today - d).toString());
  return days;
}

/**
 * How long `epochs` epochs last: DAY_SIZE is a day in seconds × 10⁴ (the contract's time
 * scale, like SOURCE_CHAIN_BLOCK_TIME), spread over `epochsInADay` epochs.
 */
export function epochsDurationMs(epochs: number, daySize: number, epochsInADay: number): number {
  if (epochsInADay <= 0 || daySize <= 0) return 0;
  return Math.round((epochs * daySize) / 10 / epochsInADay);
}
