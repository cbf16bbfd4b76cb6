/**
 * The contract between the client CLI, the market workflow and its children: workflow IDs,
 * queries, updates and signals. Workflow-safe: no I/O imports.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ChainCursor, EpochOutcome, MarketParams } from '../domain/types.js';

/** Business IDs: one market workflow per market, one batch preparation per epoch. */
export const marketWorkflowId = (market: string) => `market/${market}`;
export const batchPreparationWorkflowId = (market: string, epochId: string) => `market/${market}/epoch/${epochId}`;
export const batchSubmissionWorkflowId = (market: string, epochId: string) => `market/${market}/epoch/${epochId}/submit`;
export const periodicRewardsWorkflowId = (market: string, epochId: string) => `market/${market}/epoch/${epochId}/rewards`;
export const finalRewardsWorkflowId = (market: string, day: string) => `market/${market}/day/${day}/final-rewards`;

/** Versioning: market runs started before day tracking replay without it (see README). */
export const DAYS_AND_REWARDS_PATCH = 'days-and-rewards';

export interface MarketStats {
  epochsStarted: number;
  /** Releases of an epoch whose batch preparation already ran or runs. */
  duplicateReleases: number;
  epochsBatched: number;
  epochsFailed: number;
  reorgs: number;
  skippedLogs: number;
  /** Periodic reward updates and final day updates started (absent in older states). */
  periodicRewardUpdates?: number;
  finalRewardUpdates?: number;
}

/** The market's day, as the chain says (dayCounter, then each DayStartedEvent). */
export interface DayTracking {
  day: string;
  /** Workflow time when the day change was seen; null for the day found at start. */
  dayStartedAtMs: number | null;
  /** EpochReleased of this day seen so far. */
  epochsInDay: number;
  /** The previous day, until its final reward update is started. */
  finalPending: string | null;
}

/** Everything a market workflow carries across continue-as-new: small and JSON-safe. */
export interface MarketState {
  market: string;
  cursor: ChainCursor | null;
  head: number | null;
  lastEpochId: string | null;
  /** Epochs whose batch preparation was started and has not reported back. */
  openEpochs: string[];
  paused: boolean;
  stats: MarketStats;
  /** Absent in states from before day tracking, and until the day is first read. */
  days?: DayTracking;
}

export interface MarketWorkflowInput {
  /** EIP-55 address of the data market. */
  market: string;
  /** First block to follow for a new market; default: the current confirmed head. */
  startBlock?: number;
  /** State carried over by continue-as-new or from a stopped run. */
  state?: MarketState;
  /** Test hook: continue as new once the history is longer than this many events. */
  continueAsNewAfterEvents?: number;
}

export interface MarketStatus extends MarketState {
  /** Blocks between the head and the cursor at the last poll. */
  headLag: number | null;
  params: MarketParams | null;
  stopping: boolean;
  runId: string;
}

export interface EpochClosed {
  epochId: string;
  outcome: { status: 'batched'; result: EpochOutcome } | { status: 'failed'; error: string };
}

export const statusQuery = defineQuery<MarketStatus>('status');
export const pauseUpdate = defineUpdate<MarketStatus>('pause');
export const resumeUpdate = defineUpdate<MarketStatus>('resume');
export const stopUpdate = defineUpdate<MarketStatus>('stop');
/** Re-reads the contract parameters before the next poll (they are also read on every event). */
export const refreshParamsSignal = defineSignal('refreshParams');
/** Sent by a batch preparation to its market's workflow ID, so it reaches the current run. */
export const epochClosedSignal = defineSignal<[EpochClosed]>('epochClosed');

/** The carried state inside a status answer, e.g. to restart a stopped market where it ended. */
export function marketStateOf(status: MarketStatus): MarketState {
  const { market, cursor, head, lastEpochId, openEpochs, paused, stats, days } = status;
  return { market, cursor, head, lastEpochId, openEpochs, paused, stats, ...(days ? { days } : {}) };
}
