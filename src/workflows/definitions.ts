/**
 * The contract between the client CLI, the market workflow and its children: workflow IDs,
 * queries, updates and signals. Workflow-safe: no I/O imports.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ChainCursor, EpochOutcome, EpochReleased, FinalityViolation, FollowerConditions, MarketParams } from '../domain/types.js';

/** Business IDs: one market workflow per market, one batch preparation per epoch. */
export const marketWorkflowId = (market: string) => `market/${market}`;
export const batchPreparationWorkflowId = (market: string, epochId: string) => `market/${market}/epoch/${epochId}`;
export const batchSubmissionWorkflowId = (market: string, epochId: string) => `market/${market}/epoch/${epochId}/submit`;
export const periodicRewardsWorkflowId = (market: string, epochId: string) => `market/${market}/epoch/${epochId}/rewards`;
export const finalRewardsWorkflowId = (market: string, day: string) => `market/${market}/day/${day}/final-rewards`;
/** The market's alerts to SLACK_REPORTING_URL (started by the worker when it is set). */
export const marketAlertsWorkflowId = (market: string) => `market/${market}/alerts`;

/** Versioning: market runs started before day tracking replay without it (see README). */
export const DAYS_AND_REWARDS_PATCH = 'days-and-rewards';
/** Market runs from 0.3.0 on watch the head while paused or halted (runs from before do not). */
export const CHAIN_TRUTH_PATCH = 'chain-truth';
/** Batch preparations from 0.3.0 on close their window on chain time (before: the head at the window's end). */
export const CHAIN_TIME_WINDOW_PATCH = 'chain-time-window';
/**
 * Runs from 0.5.0 on keep their search attributes current (upserts are commands: runs started
 * before replay without them). See search-attributes.ts.
 */
export const SEARCH_ATTRIBUTES_PATCH = 'search-attributes';
/**
 * Market runs from 0.6.0 on start each epoch as one `epochWorkflow` (its sending an activity, not
 * a child workflow); runs started before start a `batchPreparationWorkflow`, as they did.
 */
export const EPOCH_WORKFLOW_PATCH = 'epoch-workflow';
/**
 * Market runs from 0.7.0 on continue as new after MARKET_RUN_MAX_EVENTS history events; runs
 * started before go on until the server suggests it (thousands of events).
 */
export const BOUNDED_MARKET_RUN_PATCH = 'bounded-market-run';
/**
 * Epoch runs from 0.8.0 on ask `prepareEpoch` to send the epoch once stored (one Temporal hop less
 * from the window's close to the finalizer), and run `submitEpoch` only if that send failed; runs
 * started before always run `submitEpoch`.
 */
export const SEND_WITH_PREPARATION_PATCH = 'send-with-preparation';
/**
 * A market run's history bound, in events (about 20 epochs, or 17 hours idle). A worker that
 * takes over a market (its worker died, or its cache evicted it) replays the whole run before the
 * market goes on, about 0.5 ms of its one workflow thread per event. With runs of up to 1,843
 * events and the markets of a killed worker replaying at once on a busy 2-core machine, 92
 * workflow tasks outlived their 10 s timeout and were repeated from scratch, holding epochs for
 * up to 3 minutes (npm run bench -- --only workers). A new run costs about 20 events and 2
 * actions (its start, its parameter read), none of them an epoch's.
 */
export const MARKET_RUN_MAX_EVENTS = 500;

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
  // Absent in states from before 0.3.0:
  /** Epochs whose release left the chain before their window closed (nothing batched). */
  epochsOrphaned?: number;
  /** RPC answers the follower refused (lagging, malformed, incomplete, contradicting). */
  rpcAnswersRejected?: number;
  /** Blocks replaced by the deepest reorg followed. */
  reorgDepthMax?: number;
  /** Events only the delayed re-scan found (a first answer had missed them). */
  eventsRecovered?: number;
}

/**
 * Something keeps the market from working normally. Kinds: `finality-violation` (the chain
 * disagrees with what was recorded beyond any reorg: the market stops advancing until an
 * operator acts), `follower-stalled` (no progress while the chain moves), `redis-unavailable`
 * (the worker cannot reach Redis: nothing advances until it is back), `redis-data-lost` (Redis
 * lost what seqflow wrote: the epochs it may have hit are named; cleared by `resume`),
 * `rpc-answers-rejected` (answers refused in the last minute), `day-mismatch` (dayCounter below
 * the market's day); and, added by the status the operator reads (src/status.ts),
 * `epoch-retrying` (an open epoch's effect keeps failing: Temporal retries it).
 */
export interface MarketProblem {
  kind: 'finality-violation' | 'follower-stalled' | 'redis-unavailable' | 'redis-data-lost' | 'rpc-answers-rejected' | 'day-mismatch' | 'epoch-retrying';
  /** ISO 8601, when it began. */
  since: string;
  detail: string;
  /** `rpc-answers-rejected`: how many answers were refused in the streak. */
  count?: number;
}

/** `failed`: the market does not advance (finality violation, stalled follower, Redis unreachable); `degraded`: it advances, with problems. */
export type MarketHealth = 'ok' | 'degraded' | 'failed';

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
  // Absent in states from before 0.3.0:
  /** The follower's conditions as last reported (they are passed back to it, which returns when they change). */
  follower?: FollowerConditions;
  /** Ids of the events of the last follower result, acknowledged in the next call (see FollowChainInput). */
  ackEventIds?: string[];
  /** Set while the market is halted at a finality violation; cleared by the operator (resume or rewind). */
  violation?: (FinalityViolation & { sinceMs: number }) | null;
  /** dayCounter went below the market's day: `chainDay` is what it says now. */
  dayMismatch?: { sinceMs: number; chainDay: string; blockNumber: number } | null;
  /** Epochs whose preparation ended orphaned, most recent last: a later release starts them again. */
  orphanedEpochs?: string[];
  /** The latest epochs that failed, with the failure (the last 64; absent before 0.5.0). */
  failedEpochs?: Array<{ epochId: string; error: string }>;
  /** Releases of epochs seen while their preparation was open: one is used if that preparation ends orphaned. */
  rereleases?: EpochReleased[];
  // Absent in states from before 0.4.0:
  /** The market's Redis marker (see FollowChainInput.redisMarker). */
  redisMarker?: { id: string; seenAtMs: number | null };
  /** Epochs closed (workflow time) since the follower last saw the marker: a data loss may have hit their reads. */
  recentlyClosed?: Array<{ epochId: string; atMs: number }>;
  /** Redis lost its data: detected at `sinceMs`, after `lastSeenMs`; `epochs` whose windows overlapped it. Cleared by `resume`. */
  redisDataLost?: { sinceMs: number; lastSeenMs: number; epochs: string[] } | null;
}

export interface MarketWorkflowInput {
  /** EIP-55 address of the data market. */
  market: string;
  /** First block to follow for a new market; default: the current confirmed head. */
  startBlock?: number;
  /** State carried over by continue-as-new or from a stopped run. */
  state?: MarketState;
  /** Continue as new once the history is longer than this many events (default MARKET_RUN_MAX_EVENTS; tests set fewer). */
  continueAsNewAfterEvents?: number;
}

export interface MarketStatus extends MarketState {
  /** Blocks between the head and the cursor at the last poll. */
  headLag: number | null;
  params: MarketParams | null;
  stopping: boolean;
  runId: string;
  health: MarketHealth;
  problems: MarketProblem[];
}

export interface EpochClosed {
  epochId: string;
  outcome: { status: 'batched'; result: EpochOutcome } | { status: 'failed'; error: string } | { status: 'orphaned'; detail: string };
}

export const statusQuery = defineQuery<MarketStatus>('status');
export const pauseUpdate = defineUpdate<MarketStatus>('pause');
export const resumeUpdate = defineUpdate<MarketStatus>('resume');
export const stopUpdate = defineUpdate<MarketStatus>('stop');
/**
 * The operator's answer to a finality violation that is real: follow the chain as it is now
 * from `toBlock` (at most the cursor). Blocks from there are scanned again (effects are
 * idempotent); recorded hashes above it are forgotten.
 */
export const rewindUpdate = defineUpdate<MarketStatus, [{ toBlock: number }]>('rewind');
/** Re-reads the contract parameters before the next poll (they are also read on every event). */
export const refreshParamsSignal = defineSignal('refreshParams');
/** Sent by a batch preparation to its market's workflow ID, so it reaches the current run. */
export const epochClosedSignal = defineSignal<[EpochClosed]>('epochClosed');

/** The carried state inside a status answer, e.g. to restart a stopped market where it ended. */
export function marketStateOf(status: MarketStatus): MarketState {
  const state: Partial<MarketStatus> = { ...status };
  for (const key of STATUS_ONLY) delete state[key];
  return state as MarketState;
}

/** The fields a status adds to the state. */
const STATUS_ONLY = ['headLag', 'params', 'stopping', 'runId', 'health', 'problems'] as const satisfies ReadonlyArray<Exclude<keyof MarketStatus, keyof MarketState>>;
