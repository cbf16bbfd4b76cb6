/**
 * Activity stubs with their timeouts and retry policies. Every effect is idempotent, so
 * everything retries without limit: a Redis or relayer outage delays an epoch, never loses it.
 * A relayer that refuses a request fails it as non-retryable (see activities/relayer.ts).
 *
 * Every activity heartbeats while it runs (its progress, or keep-alive.ts), so a killed worker
 * is noticed within HEARTBEAT_TIMEOUT and its activities run again on a live one; the
 * start-to-close timeouts only bound work that hangs while heartbeating.
 */
import { ActivityCancellationType, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

const retryForever: ActivityOptions['retry'] = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' };

/** Heartbeats go out every second (the worker's throttle): ten missed is a dead worker. */
const HEARTBEAT_TIMEOUT = '10 seconds';

/**
 * How long one follower call waits for events before it returns its cursor to be recorded. It
 * returns at once on events and on any change of its conditions, and `status` reads its cursor
 * and head from its heartbeat, so a long wait costs no freshness: an idle market makes 144 calls
 * (about 1,000 history events) a day.
 */
export const FOLLOW_MAX_WAIT_MS = 10 * 60 * 1000;

export const { followChain } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  // Pause and stop must not wait for the next heartbeat: an abandoned poll only re-reads
  // blocks that the next one scans again, and its writes are idempotent.
  cancellationType: ActivityCancellationType.TRY_CANCEL,
});

/** A paused or halted market's head watcher ends after this long, and is started again. */
export const WATCH_MAX_WAIT_MS = 60 * 60 * 1000;

export const { watchHead } = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: retryForever,
  cancellationType: ActivityCancellationType.TRY_CANCEL,
});

export const { getChainHead, loadMarketParams, readDayCounter, resolveCurrentDay, findPastDaysToCatchUp, prepareRewardUpdate, pushAttestorMessages } =
  proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: retryForever,
});

export const { prepareBatches, pushBatchesToFinalizer } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: retryForever,
});

/** Waits up to WINDOW_CLOSE_WAIT_SECONDS (at most an hour) for the window's end block, heartbeating every poll. */
export const { prepareEpoch } = proxyActivities<Activities>({
  startToCloseTimeout: '70 minutes',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: retryForever,
});

/** A relayer call is bounded by HTTP_TIMEOUT (at most an hour) and heartbeats while it waits; submitEpoch's pushes take seconds. */
export const { submitBatchSize, sendRewardChunk, submitEpoch } = proxyActivities<Activities>({
  startToCloseTimeout: '65 minutes',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: retryForever,
});

/** Alerts: the watch long-polls the market's status; a webhook that keeps failing gives up after about 10 minutes (logged). */
export const { watchIncidents } = proxyActivities<Activities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: retryForever,
});

export const { sendAlert } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 15 },
});
