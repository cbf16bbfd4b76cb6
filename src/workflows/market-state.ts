/**
 * The market's state and decisions, apart from Temporal's APIs so that they read (and can be
 * tested) as plain code. The workflow function feeds it chain results and child reports.
 */
import { compareDecimal } from '../domain/decimal.js';
import { eventId } from '../domain/events.js';
import { epochsDurationMs } from '../domain/rewards.js';
import type { ChainCursor, DayStarted, EpochReleased, FollowChainResult, MarketEvent, MarketParams } from '../domain/types.js';
import type { DayTracking, EpochClosed, MarketHealth, MarketProblem, MarketState } from './definitions.js';

/** Orphaned epochs and re-releases remembered, most recent last. */
const REMEMBERED_EPOCHS = 64;
/** Epochs closed since the Redis marker was last seen, remembered at most (a follower down for long). */
const REMEMBERED_CLOSES = 256;

/** What the market workflow starts after a follower result, in chain order. */
export interface MarketPlan {
  epochs: Array<{ event: EpochReleased; day: string }>;
  /** Days whose final reward update is due. */
  finalDays: string[];
  periodic: Array<{ epochId: string; day: string; skipPreviousDay: boolean }>;
  attestor: Array<{ epochId: string; batchCid: string }>;
}

export function initialMarketState(market: string): MarketState {
  return {
    market,
    cursor: null,
    head: null,
    lastEpochId: null,
    openEpochs: [],
    paused: false,
    stats: {
      epochsStarted: 0,
      duplicateReleases: 0,
      epochsBatched: 0,
      epochsFailed: 0,
      reorgs: 0,
      skippedLogs: 0,
      periodicRewardUpdates: 0,
      finalRewardUpdates: 0,
      epochsOrphaned: 0,
      rpcAnswersRejected: 0,
      reorgDepthMax: 0,
      eventsRecovered: 0,
    },
    follower: { stalled: null, rejecting: null, redis: null },
    violation: null,
    dayMismatch: null,
    orphanedEpochs: [],
    rereleases: [],
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

export class Market {
  constructor(readonly state: MarketState) {}

  get cursor(): ChainCursor {
    if (!this.state.cursor) throw new Error('market cursor not initialised');
    return this.state.cursor;
  }

  startAt(nextBlock: number): void {
    this.state.cursor = { nextBlock, parentHash: null };
  }

  /**
   * Takes a follower result at workflow time `nowMs`: cursor, head, counters, conditions, a
   * finality violation. Returns the events to act on, in chain order; a dayCounter above the
   * market's day is one more event, a day start like a DayStartedEvent.
   */
  advance(result: FollowChainResult, nowMs: number): MarketEvent[] {
    const { state } = this;
    const stats = state.stats;
    state.cursor = result.cursor;
    if (result.head !== null) state.head = result.head;
    stats.reorgs += result.reorgs;
    stats.skippedLogs += result.skippedLogs;
    stats.reorgDepthMax = Math.max(stats.reorgDepthMax ?? 0, result.reorgDepthMax ?? 0);
    stats.rpcAnswersRejected = (stats.rpcAnswersRejected ?? 0) + (result.rejectedAnswers ?? 0);
    stats.eventsRecovered = (stats.eventsRecovered ?? 0) + (result.recoveredEvents ?? 0);
    if (result.conditions) state.follower = result.conditions;
    state.ackEventIds = result.events.flatMap((e) => (e.blockHash === undefined ? [] : [eventId({ ...e, blockHash: e.blockHash })]));
    if (result.violation) state.violation = { ...result.violation, sinceMs: nowMs };
    if (result.redisMarkerSeenAtMs !== undefined) this.redisMarkerSeen(result.redisMarkerSeenAtMs);
    if (result.redisDataLost) this.redisDataLost(result.redisDataLost);
    if (!result.dayCounter || !state.days) return result.events;
    return [...result.events, ...this.dayCounterSays(result.dayCounter, result.events, nowMs)];
  }

  /** The chain's dayCounter is authoritative: above the market's day it starts that day; below, it is a problem. */
  private dayCounterSays(counter: { day: string; blockNumber: number }, events: readonly MarketEvent[], nowMs: number): DayStarted[] {
    const order = compareDecimal(counter.day, this.dayAfter(events));
    if (order < 0) {
      this.state.dayMismatch = { sinceMs: this.state.dayMismatch?.sinceMs ?? nowMs, chainDay: counter.day, blockNumber: counter.blockNumber };
      return [];
    }
    this.state.dayMismatch = null;
    return order > 0 ? [{ kind: 'DayStarted', dayId: counter.day, blockNumber: counter.blockNumber, logIndex: -1, source: 'dayCounter' }] : [];
  }

  /** The day the follower compares dayCounter with: what the chain said last when it disagreed, else the market's day. */
  followerDay(): string | undefined {
    return this.state.dayMismatch?.chainDay ?? this.state.days?.day;
  }

  headLag(): number | null {
    if (this.state.head === null || !this.state.cursor) return null;
    return Math.max(0, this.state.head - (this.state.cursor.nextBlock - 1));
  }

  /** Paused by the operator, or halted at a finality violation: the market does not follow the chain. */
  halted(): boolean {
    return this.state.paused || Boolean(this.state.violation);
  }

  /** Not following (paused or halted): the follower's conditions say nothing until it runs again. */
  followerStopped(): void {
    this.state.follower = { stalled: null, rejecting: null, redis: null };
  }

  /**
   * The operator's resume: following again, also after a finality violation (the follower
   * checks anew); a Redis data loss is taken as seen.
   */
  resume(): void {
    this.state.paused = false;
    this.state.violation = null;
    this.state.redisDataLost = null;
  }

  /** The marker the follower keeps in Redis for this market, made once with `newId` (see FollowChainInput.redisMarker). */
  redisMarker(newId: () => string): { id: string; seenAtMs: number | null } {
    return (this.state.redisMarker ??= { id: newId(), seenAtMs: null });
  }

  /** Epochs closed before the marker was seen read a Redis that still held its data: forgotten. */
  private redisMarkerSeen(atMs: number): void {
    const { state } = this;
    if (state.redisMarker) state.redisMarker.seenAtMs = atMs;
    state.recentlyClosed = (state.recentlyClosed ?? []).filter((c) => c.atMs >= atMs);
  }

  /**
   * Redis lost its data after `lastSeenMs`: the epochs whose windows overlapped the loss are the
   * open ones and those closed since; their counts and batches may miss submissions.
   */
  private redisDataLost(lost: { lastSeenMs: number; detectedAtMs: number }): void {
    const { state } = this;
    const closed = (state.recentlyClosed ?? []).filter((c) => c.atMs >= lost.lastSeenMs).map((c) => c.epochId);
    const before = state.redisDataLost;
    const epochs = [...new Set([...(before?.epochs ?? []), ...closed, ...state.openEpochs])].sort(compareDecimal);
    state.redisDataLost = { sinceMs: before?.sinceMs ?? lost.detectedAtMs, lastSeenMs: before?.lastSeenMs ?? lost.lastSeenMs, epochs };
    this.redisMarkerSeen(lost.detectedAtMs); // the follower wrote the marker again
  }

  /** Throws unless `toBlock` is a block at or below the cursor. */
  assertCanRewind(toBlock: unknown): void {
    const cursor = this.state.cursor;
    if (!cursor) throw new Error('the market has no cursor yet');
    if (typeof toBlock !== 'number' || !Number.isSafeInteger(toBlock) || toBlock < 0 || toBlock > cursor.nextBlock) {
      throw new Error(`toBlock must be a block number from 0 to the cursor ${cursor.nextBlock}, got ${JSON.stringify(toBlock)}`);
    }
  }

  /** Follows the chain as it is now from `toBlock`: the violation is cleared, what was recorded above is forgotten. */
  rewind(toBlock: number): void {
    const from = this.cursor.nextBlock;
    this.state.cursor = { nextBlock: toBlock, parentHash: null, rescan: null, forget: { upTo: Math.max(from - 1, toBlock) } };
    this.state.violation = null;
  }

  problems(): MarketProblem[] {
    const { violation, follower, dayMismatch, days, redisDataLost } = this.state;
    const problems: MarketProblem[] = [];
    if (violation) problems.push({ kind: 'finality-violation', since: iso(violation.sinceMs), detail: `${violation.kind} at block ${violation.atBlock}: ${violation.detail}` });
    if (follower?.stalled) problems.push({ kind: 'follower-stalled', since: iso(follower.stalled.sinceMs), detail: `no progress; last error: ${follower.stalled.lastError}` });
    if (follower?.redis) problems.push({ kind: 'redis-unavailable', since: iso(follower.redis.sinceMs), detail: `the worker cannot reach Redis: ${follower.redis.lastError}` });
    if (redisDataLost) {
      const { sinceMs, lastSeenMs, epochs } = redisDataLost;
      problems.push({
        kind: 'redis-data-lost',
        since: iso(sinceMs),
        detail:
          `Redis lost its data between ${iso(lastSeenMs)} and ${iso(sinceMs)} (restarted without persistence, flushed or evicted): ` +
          `${epochs.length === 0 ? 'no epoch was open' : `epochs ${epochs.join(', ')} may have been counted and batched without some submissions`}; resume clears this`,
      });
    }
    if (follower?.rejecting) {
      const { sinceMs, count, lastReason } = follower.rejecting;
      problems.push({ kind: 'rpc-answers-rejected', since: iso(sinceMs), detail: `${count} answer${count === 1 ? '' : 's'} refused; last: ${lastReason}`, count });
    }
    if (dayMismatch) {
      problems.push({ kind: 'day-mismatch', since: iso(dayMismatch.sinceMs), detail: `dayCounter is ${dayMismatch.chainDay} at block ${dayMismatch.blockNumber}, below the market's day ${days?.day ?? '?'}` });
    }
    return problems;
  }

  health(): MarketHealth {
    const problems = this.problems();
    if (problems.some((p) => p.kind === 'finality-violation' || p.kind === 'follower-stalled' || p.kind === 'redis-unavailable')) return 'failed';
    return problems.length > 0 ? 'degraded' : 'ok';
  }

  /**
   * Before an epoch's preparation is started: lists it as open, so that a close reported while
   * the start is in flight leaves it closed. Returns whether it was open already.
   */
  epochStarting(epochId: string): boolean {
    if (this.state.openEpochs.includes(epochId)) return true;
    this.state.openEpochs.push(epochId);
    return false;
  }

  epochStarted(epochId: string): void {
    this.state.stats.epochsStarted++;
    this.state.orphanedEpochs = (this.state.orphanedEpochs ?? []).filter((id) => id !== epochId);
    this.noteEpoch(epochId);
  }

  /** The epoch's preparation runs or ran: a re-release of an open epoch is kept in case that preparation ends orphaned. */
  duplicateRelease(event: EpochReleased, wasOpen: boolean): void {
    this.state.stats.duplicateReleases++;
    if (wasOpen) this.state.rereleases = [...(this.state.rereleases ?? []).filter((e) => e.epochId !== event.epochId), event].slice(-REMEMBERED_EPOCHS);
    else this.state.openEpochs = this.state.openEpochs.filter((id) => id !== event.epochId);
    this.noteEpoch(event.epochId);
  }

  /** Whether the epoch's last preparation ended orphaned: a new release may start it again. */
  isOrphaned(epochId: string): boolean {
    return (this.state.orphanedEpochs ?? []).includes(epochId);
  }

  /**
   * Takes a preparation's report at `nowMs`. Returns a release to start the epoch again from,
   * when it ended orphaned and one was seen meanwhile.
   */
  epochClosed(report: EpochClosed, nowMs: number): EpochReleased | null {
    const { state } = this;
    const stats = state.stats;
    state.openEpochs = state.openEpochs.filter((id) => id !== report.epochId);
    // Until the follower sees the Redis marker after this, a data loss may have hit this epoch's reads.
    if (state.redisMarker) state.recentlyClosed = [...(state.recentlyClosed ?? []), { epochId: report.epochId, atMs: nowMs }].slice(-REMEMBERED_CLOSES);
    const rerelease = (state.rereleases ?? []).find((e) => e.epochId === report.epochId) ?? null;
    state.rereleases = (state.rereleases ?? []).filter((e) => e.epochId !== report.epochId);
    if (report.outcome.status === 'batched') stats.epochsBatched++;
    else if (report.outcome.status === 'failed') {
      stats.epochsFailed++;
      state.failedEpochs = [...(state.failedEpochs ?? []).filter((e) => e.epochId !== report.epochId), { epochId: report.epochId, error: report.outcome.error }].slice(-REMEMBERED_EPOCHS);
    }
    else {
      stats.epochsOrphaned = (stats.epochsOrphaned ?? 0) + 1;
      state.orphanedEpochs = [...(state.orphanedEpochs ?? []).filter((id) => id !== report.epochId), report.epochId].slice(-REMEMBERED_EPOCHS);
      return rerelease;
    }
    return null;
  }

  private noteEpoch(epochId: string): void {
    if (this.state.lastEpochId === null || compareDecimal(epochId, this.state.lastEpochId) > 0) this.state.lastEpochId = epochId;
  }

  get days(): DayTracking | undefined {
    return this.state.days;
  }

  /** The day found at start (dayCounter at the cursor): no transition is pending from it. */
  startDay(day: string): void {
    this.state.days = { day, dayStartedAtMs: null, epochsInDay: 0, finalPending: null };
  }

  /** The day after `events`, to write to Redis before acting on them. */
  dayAfter(events: readonly MarketEvent[]): string {
    let day = this.requireDays().day;
    for (const e of events) if (e.kind === 'DayStarted' && compareDecimal(e.dayId, day) > 0) day = e.dayId;
    return day;
  }

  /**
   * Applies the events in chain order and says what to start: a batch preparation per new
   * epoch (with the day it was released in), the previous day's final reward update once the
   * new day has run `dayTransitionBufferEpochs` epochs or their time has passed, periodic
   * updates at interval epochs, and attestor pushes.
   */
  plan(events: readonly MarketEvent[], params: MarketParams, nowMs: number): MarketPlan {
    const days = this.requireDays();
    const rewards = params.rewards;
    const plan: MarketPlan = { epochs: [], finalDays: [], periodic: [], attestor: [] };
    const finalDue = () => {
      if (days.finalPending === null || !rewards) return;
      plan.finalDays.push(days.finalPending);
      days.finalPending = null;
    };
    let latestEpoch = this.state.lastEpochId;
    for (const event of events) {
      if (event.kind === 'DayStarted') {
        if (compareDecimal(event.dayId, days.day) <= 0) continue; // seen before (a rescan)
        finalDue(); // two day changes in a row: the older day is due at once
        // The buffer time counts from when we act on the day change, not from its block: after a
        // catch-up, the old day's last epochs are only now batched, and the finalizer needs
        // that time to count them before the final update reads its counts.
        Object.assign(days, { finalPending: rewards ? days.day : null, day: event.dayId, dayStartedAtMs: nowMs, epochsInDay: 0 });
      } else if (event.kind === 'EpochReleased') {
        // A release only the re-scan found is older than the last epoch: the day at its block, when known.
        const day = event.recovered?.day ?? days.day;
        plan.epochs.push({ event, day });
        // A rescan or a duplicate release repeats an epoch: it does not advance the day.
        const isNew = latestEpoch === null || compareDecimal(event.epochId, latestEpoch) > 0;
        if (isNew) {
          latestEpoch = event.epochId;
          days.epochsInDay++;
          if (rewards && days.epochsInDay > rewards.dayTransitionBufferEpochs) finalDue();
        }
        // A recovered release is seen for the first time: its periodic update is due too.
        if ((isNew || event.recovered) && rewards && BigInt(event.epochId) % BigInt(rewards.epochInterval) === 0n) {
          // The previous day is left to its final update while that is pending or just started.
          const previousDay = (BigInt(day) - 1n).toString();
          const skipPreviousDay = days.finalPending !== null || plan.finalDays.includes(previousDay);
          plan.periodic.push({ epochId: event.epochId, day, skipPreviousDay });
        }
      } else {
        plan.attestor.push({ epochId: event.epochId, batchCid: event.batchCid });
      }
    }
    // Epochs stopped coming: the final update goes out after the time the buffer epochs take.
    const dueAt = this.finalDueAtMs(params);
    if (dueAt !== null && nowMs >= dueAt) finalDue();
    return plan;
  }

  /** When the pending final update is due by time alone; null if none is pending. */
  finalDueAtMs(params: MarketParams): number | null {
    const days = this.state.days;
    if (!days || days.finalPending === null || days.dayStartedAtMs === null || !params.rewards || !params.daySize || !params.epochsInADay) return null;
    return days.dayStartedAtMs + epochsDurationMs(params.rewards.dayTransitionBufferEpochs + 1, params.daySize, params.epochsInADay);
  }

  rewardUpdatesStarted(plan: MarketPlan): void {
    const stats = this.state.stats;
    stats.periodicRewardUpdates = (stats.periodicRewardUpdates ?? 0) + plan.periodic.length;
    stats.finalRewardUpdates = (stats.finalRewardUpdates ?? 0) + plan.finalDays.length;
  }

  private requireDays(): DayTracking {
    if (!this.state.days) throw new Error('market day not initialised');
    return this.state.days;
  }
}
