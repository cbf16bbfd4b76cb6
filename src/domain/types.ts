/**
 * Data that crosses the Temporal boundary (workflow inputs, activity inputs and results,
 * query answers). Everything is JSON-safe: numbers for block numbers and counts, canonical
 * decimal strings for uint256 values, no bigint, Map, Set or Date.
 */
import type { RewardSettings } from '../config.js';

/** Where a market's chain follower resumes: the next block to scan and the hash of the one before. */
export interface ChainCursor {
  nextBlock: number;
  /** Canonical hash of `nextBlock - 1` when it was scanned; null before the first scan. */
  parentHash: string | null;
}

export interface EpochReleased {
  kind: 'EpochReleased';
  epochId: string;
  blockNumber: number;
  blockHash: string;
  /** Timestamp (seconds) of the release block: the submission window opens then. */
  blockTimestamp: number;
  logIndex: number;
}

export interface DayStarted {
  kind: 'DayStarted';
  dayId: string;
  blockNumber: number;
  blockTimestamp: number;
  logIndex: number;
}

export interface SnapshotBatchSubmitted {
  kind: 'SnapshotBatchSubmitted';
  epochId: string;
  batchCid: string;
  blockNumber: number;
  logIndex: number;
}

export type MarketEvent = EpochReleased | DayStarted | SnapshotBatchSubmitted;

export interface FollowChainInput {
  /** EIP-55 address of the data market. */
  market: string;
  cursor: ChainCursor;
  /** Return after this long even without events, so the workflow can checkpoint the cursor. */
  maxWaitMs: number;
}

export interface FollowChainResult {
  events: MarketEvent[];
  cursor: ChainCursor;
  /** Chain head at the last poll. */
  head: number;
  /** Parent-hash mismatches seen (each rewound and rescanned). */
  reorgs: number;
  /** Logs that could not be decoded (reported and skipped). */
  skippedLogs: number;
}

/** The market's contract parameters, and the worker's reward settings the workflows act on. */
export interface MarketParams {
  submissionWindowSeconds: number;
  /** Present from the days-and-rewards version on (absent in older histories). */
  daySize?: number;
  dailySnapshotQuota?: string;
  epochsInADay?: number;
  rewards?: Pick<RewardSettings, 'epochInterval' | 'pastDaysBuffer' | 'dayTransitionBufferEpochs'>;
}

export interface RewardUpdateInput {
  market: string;
  day: string;
  /** final: the day's eligible slots and count; periodic: today's counts, eligibleNodes 0; pastDay: the count with empty arrays. */
  kind: 'final' | 'periodic' | 'pastDay';
  /** The interval epoch of a periodic update (a day has several). */
  epochId?: string;
}

export interface PreparedRewardUpdate {
  updateId: string;
  chunkCount: number;
  slotCount: number;
  eligibleNodes: number;
  /** CONCURRENT_SUBMISSION_COUNT_UPDATES of the worker. */
  concurrency: number;
}

export interface BatchPreparationInput {
  market: string;
  epochId: string;
  /** The day the epoch was released in; absent in histories from before day tracking. */
  day?: string;
  releaseBlockNumber: number;
  releaseBlockTimestamp: number;
  submissionWindowSeconds: number;
}

export interface PrepareBatchesInput {
  market: string;
  epochId: string;
  fromBlock: number;
  toBlock: number;
  day: string;
}

export interface PreparedBatches {
  batchCount: number;
  submissionCount: number;
  malformedCount: number;
  /** False when an earlier attempt had already stored this epoch: its result is returned. */
  storedNow: boolean;
}

export interface BatchSubmissionInput {
  market: string;
  epochId: string;
  batchCount: number;
}

export interface EpochOutcome {
  epochId: string;
  batchCount: number;
  submissionCount: number;
  malformedCount: number;
  day: string;
}
