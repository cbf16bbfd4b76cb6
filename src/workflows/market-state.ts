/**
 * The market's state and decisions, apart from Temporal's APIs so that they read (and can be
 * tested) as plain code. The workflow function feeds it chain results and child reports.
 */
import { compareDecimal } from '../domain/decimal.js';
import { epochsDurationMs } from '../domain/rewards.js';
import type { ChainCursor, EpochReleased, FollowChainResult, MarketEvent, MarketParams } from '../domain/types.js';
import type { DayTracking, EpochClosed, MarketState } from './definitions.js';

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
    stats: { epochsStarted: 0, duplicateReleases: 0, epochsBatched: 0, epochsFailed: 0, reorgs: 0, skippedLogs: 0, periodicRewardUpdates: 0, finalRewardUpdates: 0 },
  };
}

export class Market {
  constructor(readonly state: MarketState) {}

  get cursor(): ChainCursor {
    if (!this.state.cursor) throw new Error('market cursor not initialised');
    return this.state.cursor;
  }

  startAt(nextBlock: number): void {
    this.state.cursor = { nextBlock, parentHash: null };
  }

  /** Takes a follower result; returns the epoch releases to act on, in chain order. */
  advance(result: FollowChainResult): MarketEvent[] {
    this.state.cursor = result.cursor;
    this.state.head = result.head;
    this.state.stats.reorgs += result.reorgs;
    this.state.stats.skippedLogs += result.skippedLogs;
    return result.events;
  }

  headLag(): number | null {
    if (this.state.head === null || !this.state.cursor) return null;
    return Math.max(0, this.state.head - (this.state.cursor.nextBlock - 1));
  }

  epochStarted(epochId: string): void {
    this.state.stats.epochsStarted++;
    if (!this.state.openEpochs.includes(epochId)) this.state.openEpochs.push(epochId);
    this.noteEpoch(epochId);
  }

  duplicateRelease(epochId: string): void {
    this.state.stats.duplicateReleases++;
    this.noteEpoch(epochId);
  }

  epochClosed(report: EpochClosed): void {
    this.state.openEpochs = this.state.openEpochs.filter((id) => id !== report.epochId);
    if (report.outcome.status === 'batched') this.state.stats.epochsBatched++;
    else this.state.stats.epochsFailed++;
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
        plan.epochs.push({ event, day: days.day });
        // A rescan or a duplicate release repeats an epoch: it does not advance the day.
        if (latestEpoch !== null && compareDecimal(event.epochId, latestEpoch) <= 0) continue;
        latestEpoch = event.epochId;
        days.epochsInDay++;
        if (rewards && days.epochsInDay > rewards.dayTransitionBufferEpochs) finalDue();
        if (rewards && BigInt(event.epochId) % BigInt(rewards.epochInterval) === 0n) {
          // The previous day is left to its final update while that is pending or just started.
          const previousDay = (BigInt(days.day) - 1n).toString();
          const skipPreviousDay = days.finalPending !== null || plan.finalDays.includes(previousDay);
          plan.periodic.push({ epochId: event.epochId, day: days.day, skipPreviousDay });
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
