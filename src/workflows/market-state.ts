/**
 * The market's state and decisions, apart from Temporal's APIs so that they read (and can be
 * tested) as plain code. The workflow function feeds it chain results and child reports.
 */
import { compareDecimal } from '../domain/decimal.js';
import type { ChainCursor, FollowChainResult, MarketEvent } from '../domain/types.js';
import type { EpochClosed, MarketState } from './definitions.js';

export function initialMarketState(market: string): MarketState {
  return {
    market,
    cursor: null,
    head: null,
    lastEpochId: null,
    openEpochs: [],
    paused: false,
    stats: { epochsStarted: 0, duplicateReleases: 0, epochsBatched: 0, epochsFailed: 0, reorgs: 0, skippedLogs: 0 },
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
}
