/**
 * Data that crosses the Temporal boundary (workflow inputs, activity inputs and results,
 * query answers). Everything is JSON-safe: numbers for block numbers and counts, canonical
 * decimal strings for uint256 values, no bigint, Map, Set or Date.
 */
import type { RewardSettings } from '../config.js';

/** Where a market's chain follower resumes: the next block to scan and the hash of the one before. */
export interface ChainCursor {
  nextBlock: number;
  /** Canonical hash of `nextBlock - 1` when it was checked block by block; null after wide ranges or before the first scan. */
  parentHash: string | null;
  /** Old blocks read in wide eth_getLogs ranges, to be read again once `dueAtMs` has passed (absent or null: none). */
  rescan?: RescanRange | null;
  /** Set by the operator's rewind: the follower forgets what it recorded above the cursor, up to this block. */
  forget?: { upTo: number } | null;
}

/** Blocks `nextBlock..toBlock` still to be re-scanned, not before `dueAtMs` (wall-clock ms). */
export interface RescanRange {
  nextBlock: number;
  toBlock: number;
  dueAtMs: number;
}

export interface EpochReleased {
  kind: 'EpochReleased';
  epochId: string;
  blockNumber: number;
  blockHash: string;
  /** Timestamp (seconds) of the release block: the submission window opens then. */
  blockTimestamp: number;
  logIndex: number;
  /** Found only by the re-scan of a range whose first answer missed it: `day` is dayCounter at its block when the node could tell. */
  recovered?: { day: string | null };
}

export interface DayStarted {
  kind: 'DayStarted';
  dayId: string;
  blockNumber: number;
  /** Absent in histories from before 0.3.0, and for a day read from dayCounter. */
  blockHash?: string;
  /** Absent for a day read from dayCounter. */
  blockTimestamp?: number;
  logIndex: number;
  /** `dayCounter`: no DayStartedEvent, the contract's dayCounter was raised (e.g. by the owner's loadCurrentDay). */
  source?: 'dayCounter';
}

export interface SnapshotBatchSubmitted {
  kind: 'SnapshotBatchSubmitted';
  epochId: string;
  batchCid: string;
  blockNumber: number;
  /** Absent in histories from before 0.3.0. */
  blockHash?: string;
  logIndex: number;
}

export type MarketEvent = EpochReleased | DayStarted | SnapshotBatchSubmitted;

export interface FollowChainInput {
  /** EIP-55 address of the data market. */
  market: string;
  cursor: ChainCursor;
  /** Return after this long even without events, so the workflow can checkpoint the cursor. */
  maxWaitMs: number;
  /** The highest head the market has seen: a lower answer is a lagging node, refused. */
  headFloor?: number;
  /** The market's day: a dayCounter that differs ends the call early (the chain's day is authoritative). */
  day?: string;
  /** The follower conditions the market shows now: the call returns as soon as they change. */
  shown?: FollowerConditions;
  /**
   * Ids (`blockNumber:blockHash:logIndex`) of the events of the previous result, which the market received:
   * the re-scan of wide ranges does not report them again. Only the workflow can say this: a
   * result may be lost (a cancelled or timed-out call) after the activity returned it.
   */
  ackEventIds?: string[];
  /**
   * The market's marker in Redis (see FollowerRecord.marker): written when `seenAtMs` is null,
   * else checked on every poll; gone means Redis lost its data since `seenAtMs` (wall clock).
   */
  redisMarker?: { id: string; seenAtMs: number | null };
}

/** What keeps the follower from working normally; null when all is well. */
export interface FollowerConditions {
  /** No progress since `sinceMs` (wall clock) while the chain is ahead or every attempt fails. */
  stalled: { sinceMs: number; lastError: string } | null;
  /** RPC answers refused since `sinceMs` (wall clock), the last one at `lastAtMs`, within the last minute. */
  rejecting: { sinceMs: number; lastAtMs: number; count: number; lastReason: string } | null;
  /** The worker's Redis is unreachable since `sinceMs` (wall clock); absent before 0.4.0. */
  redis?: { sinceMs: number; lastError: string } | null;
}

/**
 * The chain disagrees with what seqflow recorded beyond what any reorg allows: a fork deeper
 * than MAX_REORG_DEPTH, or headers that do not link on any node. The market stops advancing.
 */
export interface FinalityViolation {
  kind: 'deep-reorg' | 'broken-chain';
  /** The first block that does not fit the recorded chain. */
  atBlock: number;
  detail: string;
}

export interface FollowChainResult {
  events: MarketEvent[];
  cursor: ChainCursor;
  /** Chain head at the last poll (a sane one: never below one seen before, and a block the node serves); null if none was read. */
  head: number | null;
  /** Reorgs walked back and rescanned. */
  reorgs: number;
  /** Logs of followed events that could not be decoded (reported and skipped). */
  skippedLogs: number;
  // The fields below are absent in histories from before 0.3.0.
  /** Blocks replaced by the deepest of those reorgs. */
  reorgDepthMax?: number;
  /** RPC answers refused during the call. */
  rejectedAnswers?: number;
  /** Events only the delayed re-scan found: a first eth_getLogs answer had silently missed them. */
  recoveredEvents?: number;
  conditions?: FollowerConditions;
  /** Set when the follower stopped at a finality violation: `cursor` did not pass it. */
  violation?: FinalityViolation;
  /** dayCounter at block `blockNumber` (the last block scanned) differs from the market's day. */
  dayCounter?: { day: string; blockNumber: number };
  // The fields below are absent in histories from before 0.4.0.
  /** When the follower last saw the market's Redis marker (wall clock), written or found. */
  redisMarkerSeenAtMs?: number;
  /** The marker was gone at `detectedAtMs`: Redis lost its data after `lastSeenMs` (both wall clock). */
  redisDataLost?: { lastSeenMs: number; detectedAtMs: number };
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
  /** Absent in histories from before 0.3.0. */
  releaseBlockHash?: string;
  submissionWindowSeconds: number;
  /** The market's head when it saw the release: the preparation refuses lower heads. */
  headFloor?: number;
}

/** The block an epoch was released in, as the follower saw it. */
export interface ReleaseBlock {
  blockNumber: number;
  blockHash: string;
  /** Seconds. */
  timestamp: number;
}

export interface PrepareEpochInput {
  market: string;
  epochId: string;
  day: string;
  release: ReleaseBlock;
  submissionWindowSeconds: number;
  headFloor?: number;
  /**
   * Epoch runs of 0.8.0 on: once stored, also send the epoch (relayer, then finalizer) in the
   * same activity; a send that fails there is left to `submitEpoch` (`sent: false`).
   */
  send?: boolean;
}

/** The blocks of an epoch's submission window, and what ended it. */
export interface EpochWindow {
  fromBlock: number;
  toBlock: number;
  /** `next-block`: the first block past the window's end exists; `wait-timeout`: none came within WINDOW_CLOSE_WAIT_SECONDS. */
  closedBy: 'next-block' | 'wait-timeout';
}

export type PreparedEpoch =
  /** `sent`: asked to `send`, it did (the relayer knows the batch count, the finalizer has every batch). */
  | ({ kind: 'prepared'; window: EpochWindow; sent?: boolean } & PreparedBatches)
  /** The release block left the chain, and the release is now in another block: the window starts there. */
  | { kind: 'rebased'; release: ReleaseBlock }
  /** The release block left the chain and no canonical block holds the release. */
  | { kind: 'orphaned'; detail: string };

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
  /** Timestamp (seconds) of the release block the window started at (absent before 0.5.0): the epoch's latency is measured from it. */
  releaseBlockTimestamp?: number;
}

export interface EpochOutcome {
  epochId: string;
  batchCount: number;
  submissionCount: number;
  malformedCount: number;
  day: string;
  /** The window's blocks (absent in outcomes from before 0.3.0). */
  window?: EpochWindow;
}

/** A batch preparation whose release left the chain: nothing was counted or pushed. */
export interface OrphanedEpoch {
  epochId: string;
  orphaned: true;
  detail: string;
}
