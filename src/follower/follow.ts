/**
 * The follower's long poll for one market (run by the `followChain` activity): reads a sane
 * head, steps the scanner towards it, re-scans old wide ranges once they are due, checks the
 * chain's dayCounter and the market's Redis marker, and returns when it has events, a finality
 * violation, a day change, lost Redis data, a change in its conditions (stalled, refusing
 * answers, Redis unreachable), or after `maxWaitMs`.
 *
 * Failures do not end the call: a refused answer or an unreachable node is retried here with
 * backoff, and shows as a condition the market reports (`follower-stalled`,
 * `rpc-answers-rejected`, `redis-unavailable`) instead of hiding in an activity's retry count.
 *
 * The chain is read through the worker's ContractReader, which every market's follower shares;
 * what is the market's own (cursor, record, reorgs, conditions) stays here.
 */
import { log } from '@temporalio/activity';
import { protocolState } from '../chain/abi.js';
import { BrokenHashChain, type BlockHeader, type CallOptions, type ChainClient } from '../chain/rpc.js';
import type { ChainCursor, FollowChainInput, FollowChainResult, FollowerConditions, MarketEvent } from '../domain/types.js';
import type { FollowerMetrics } from '../metrics/metrics.js';
import type { RedisStatus } from '../services/redis.js';
import type { ContractReader } from './contract-reader.js';
import type { FollowerRecord } from './record.js';
import { ChainScanner, ForkBelowReorgDepth } from './scanner.js';

export interface FollowerSettings {
  /** ProtocolState address. */
  contract: string;
  /** topic0 of each followed event. */
  topic0s: string[];
  confirmations: number;
  maxReorgDepth: number;
  pollIntervalMs: number;
  /** How long after a wide range was read it is read again. */
  rescanDelayMs: number;
  /** No progress for this long while the chain is ahead: `follower-stalled`. */
  stallMs: number;
  /** A refused answer shows as `rpc-answers-rejected` until this long has passed without another. */
  rejectionWindowMs: number;
}

/** What the follower heartbeats: where it is, for a retry to resume from and for `status` to show. */
export interface FollowerHeartbeat {
  cursor: ChainCursor;
  head: number | null;
  /** eth_getLogs span now (blocks; 0 for the head watcher). */
  rangeBlocks: number;
  lastError: string | null;
  rejectedAnswers: number;
}

/** How the activity lets the loop heartbeat, sleep (cancellably) and see cancellation. */
export interface FollowerIo {
  heartbeat(details: FollowerHeartbeat): void;
  sleep(ms: number): Promise<void>;
  signal: AbortSignal;
  /** The last heartbeat of an earlier attempt of this call. */
  resumed?: FollowerHeartbeat;
}

/** A refused answer shows as `rpc-answers-rejected` for a minute (the README's "in the last minute"). */
export const REJECTION_WINDOW_MS = 60_000;
const MAX_BACKOFF_MS = 30_000;

function isResumable(value: unknown): value is FollowerHeartbeat {
  const cursor = (value as FollowerHeartbeat | undefined)?.cursor;
  return cursor !== undefined && cursor !== null && Number.isSafeInteger(cursor.nextBlock);
}

const describe = (err: unknown) => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

export class Follower {
  private readonly chain: ChainClient;

  constructor(
    /** The worker's reader of the contract, shared by every market (and call) of the worker. */
    private readonly reader: ContractReader,
    private readonly record: FollowerRecord,
    private readonly settings: FollowerSettings,
    private readonly market: string,
    /** The worker's Redis connection: while it is down the follower waits and says so. */
    private readonly redis: RedisStatus,
    private readonly metrics?: FollowerMetrics,
  ) {
    this.chain = reader.chain;
  }

  async run(input: FollowChainInput, io: FollowerIo): Promise<FollowChainResult> {
    const s = this.settings;
    const resumed = isResumable(io.resumed) ? io.resumed : undefined;
    const range = this.reader.range;
    const scanner = new ChainScanner(this.reader, this.record, { contract: s.contract.toLowerCase(), market: this.market, topic0s: s.topic0s.map((t) => t.toLowerCase()), confirmations: s.confirmations, maxReorgDepth: s.maxReorgDepth });
    const started = Date.now();
    const deadline = started + input.maxWaitMs;

    let cursor: ChainCursor = resumed?.cursor ?? input.cursor;
    let head: BlockHeader | null = null;
    let headFloor = Math.max(input.headFloor ?? -1, resumed?.head ?? -1);
    let reorgs = 0;
    let reorgDepthMax = 0;
    let skippedLogs = 0;
    let rejectedAnswers = 0;
    let lastError: string | null = null;
    let errorStreak = 0;
    // A stall the market shows lasts until real progress; a rejection streak until a quiet minute.
    let lastProgressMs = input.shown?.stalled?.sinceMs ?? started;
    let rejectingSince = input.shown?.rejecting?.sinceMs ?? null;
    let rejectingCount = input.shown?.rejecting?.count ?? 0;
    let lastRejectionMs = input.shown?.rejecting?.lastAtMs ?? 0;
    let lastRejection = input.shown?.rejecting?.lastReason ?? '';
    let marker = input.redisMarker;
    let markerSeenAtMs: number | undefined;

    const opts: CallOptions = {
      signal: io.signal,
      onRejected: (err) => {
        if (err instanceof ForkBelowReorgDepth) return; // a verdict on the chain, reported as a violation
        rejectedAnswers++;
        rejectingCount++;
        lastRejectionMs = Date.now();
        rejectingSince ??= lastRejectionMs;
        lastRejection = err.message;
      },
    };

    const conditions = (): FollowerConditions => {
      const now = Date.now();
      const behind = head === null || cursor.nextBlock <= head.number - s.confirmations;
      const stalled = now - lastProgressMs >= s.stallMs && (lastError !== null || behind);
      const rejecting = rejectingSince !== null && now - lastRejectionMs < s.rejectionWindowMs;
      if (!rejecting) {
        rejectingSince = null;
        rejectingCount = 0;
      }
      const outage = this.redis.outage;
      return {
        stalled: stalled ? { sinceMs: lastProgressMs, lastError: lastError ?? 'no error, but no progress' } : null,
        rejecting: rejecting ? { sinceMs: rejectingSince!, lastAtMs: lastRejectionMs, count: rejectingCount, lastReason: lastRejection } : null,
        redis: outage && { sinceMs: outage.sinceMs, lastError: outage.lastError },
      };
    };
    const result = (extra: Partial<FollowChainResult> = {}): FollowChainResult => ({
      events: [],
      cursor,
      head: head?.number ?? this.chain.highestHead ?? (headFloor >= 0 ? headFloor : null),
      reorgs,
      skippedLogs,
      reorgDepthMax,
      rejectedAnswers,
      conditions: conditions(),
      ...(markerSeenAtMs === undefined ? {} : { redisMarkerSeenAtMs: markerSeenAtMs }),
      ...extra,
    });
    const shown = (c: FollowerConditions | undefined) => [c?.stalled, c?.rejecting, c?.redis].map((x) => x != null).join();
    const changed = (c: FollowerConditions) => shown(c) !== shown(input.shown);

    let acked = false;
    for (;;) {
      let idle = false;
      const outage = this.redis.outage;
      if (outage) {
        // Nothing to record the chain in: wait for Redis (ioredis reconnects) and say why.
        lastError = `Redis unavailable: ${outage.lastError}`;
        io.heartbeat({ cursor, head: head?.number ?? null, rangeBlocks: range.size, lastError, rejectedAnswers });
        if (changed(conditions()) || Date.now() >= deadline) return result();
        await io.sleep(s.pollIntervalMs);
        continue;
      }
      try {
        if (marker) {
          const lost = await this.checkMarker(marker);
          if (lost) return result({ redisDataLost: lost });
          marker = { ...marker, seenAtMs: (markerSeenAtMs = Date.now()) };
        }
        if (!acked) {
          await this.record.noteReported(input.ackEventIds ?? [], cursor.rescan?.nextBlock ?? cursor.nextBlock);
          acked = true;
        }
        if (cursor.forget) {
          // Rewound by the operator: what was recorded above the new cursor belongs to the old chain.
          await this.record.forgetAbove(cursor.nextBlock - 1, cursor.forget.upTo);
          cursor = { ...cursor, forget: null };
        }
        head = await this.reader.head({ ...opts, floor: headFloor });
        headFloor = head.number;
        const safeHead = head.number - s.confirmations;

        const rescan = cursor.rescan;
        if (rescan && Date.now() >= rescan.dueAtMs) {
          // A second opinion: from another node than the one that answered first, where there is one.
          const found = await scanner.rangeEvents(rescan.nextBlock, rescan.toBlock, { ...opts, secondOpinion: true });
          const fresh = await this.record.unreported(found.ids);
          const recovered = await Promise.all(found.events.filter((_, i) => fresh.has(found.ids[i]!)).map((e) => this.recover(e)));
          cursor = { ...cursor, rescan: found.to >= rescan.toBlock ? null : { ...rescan, nextBlock: found.to + 1 } };
          if (recovered.length > 0) {
            log.warn('the re-scan found events a first eth_getLogs answer had missed', { market: this.market, from: rescan.nextBlock, to: found.to, events: recovered.length });
            return result({ events: recovered, recoveredEvents: recovered.length });
          }
        }

        if (cursor.nextBlock <= safeHead) {
          const step = await scanner.step(cursor, head, opts);
          if (step.kind === 'violation') {
            this.metrics?.finalityViolation(this.market);
            log.error('finality violation: the market stops advancing until an operator acts', { market: this.market, ...step.violation });
            return result({ violation: step.violation });
          }
          if (step.kind === 'reorg') {
            reorgs++;
            reorgDepthMax = Math.max(reorgDepthMax, step.depth);
            this.metrics?.reorg(this.market, step.depth);
            log.warn('reorg: rescanning from the fork point', { market: this.market, forkBlock: step.forkBlock, depth: step.depth, replacedUpTo: cursor.nextBlock - 1 });
            cursor = step.cursor;
            continue;
          }
          skippedLogs += step.skippedLogs;
          cursor = step.cursor;
          if (step.wideRange) {
            const { from, to } = step.wideRange;
            cursor.rescan = { nextBlock: cursor.rescan?.nextBlock ?? from, toBlock: to, dueAtMs: Date.now() + s.rescanDelayMs };
          }
          lastProgressMs = Date.now();
          if (step.events.length > 0) {
            lastError = null;
            return result({ events: step.events });
          }
          const day = await this.dayCheck(input.day, cursor.nextBlock - 1, io.signal);
          if (day != null && day !== input.day) return result({ dayCounter: { day, blockNumber: cursor.nextBlock - 1 } });
        } else {
          idle = true;
          lastProgressMs = Date.now(); // caught up is not stalled
        }
        lastError = null;
        errorStreak = 0;
      } catch (err) {
        if (io.signal.aborted) throw err;
        lastError = describe(err);
        if (++errorStreak === 1) log.warn('follower step failed; retrying', { market: this.market, error: lastError });
        // Headers that do not link, on every node, for as long as a stall: the chain, not a glitch.
        if (err instanceof BrokenHashChain && Date.now() - lastProgressMs >= s.stallMs) {
          const violation = { kind: 'broken-chain' as const, atBlock: err.atBlock, detail: `${err.message}, on every RPC node, without progress for ${Math.round((Date.now() - lastProgressMs) / 1000)} s` };
          this.metrics?.finalityViolation(this.market);
          log.error('finality violation: the market stops advancing until an operator acts', { market: this.market, ...violation });
          return result({ violation });
        }
      }
      io.heartbeat({ cursor, head: head?.number ?? null, rangeBlocks: range.size, lastError, rejectedAnswers });
      const now = conditions();
      if (changed(now)) return result({ conditions: now });
      if (Date.now() >= deadline) return result();
      if (errorStreak > 0) await io.sleep(Math.min(MAX_BACKOFF_MS, s.pollIntervalMs * 2 ** Math.min(errorStreak - 1, 10)));
      // Until the shared head is read again: every market waiting for blocks wakes to the same read.
      else if (idle) await io.sleep(Math.min(this.reader.msUntilNextHead(), Math.max(0, deadline - Date.now())));
    }
  }

  /**
   * Writes the market's marker when it is new; else checks that it is still there. Gone: Redis
   * lost its data after `seenAtMs`; the marker is written again, so that the loss is reported once.
   */
  private async checkMarker(marker: { id: string; seenAtMs: number | null }): Promise<{ lastSeenMs: number; detectedAtMs: number } | null> {
    if (marker.seenAtMs !== null && (await this.record.hasMarker(marker.id))) return null;
    await this.record.putMarker(marker.id);
    if (marker.seenAtMs === null) return null;
    const lost = { lastSeenMs: marker.seenAtMs, detectedAtMs: Date.now() };
    log.error('Redis lost its data: the market marker is gone', { market: this.market, lastSeen: new Date(lost.lastSeenMs).toISOString() });
    return lost;
  }

  /**
   * dayCounter at `block`, once per DAY_CHECK_MS (undefined: not checked now), batched with the
   * other markets' checks; null when the node lacks that block's state (not an archive node, a
   * catch-up far behind): checked later.
   */
  private async dayCheck(day: string | undefined, block: number, signal: AbortSignal): Promise<string | null | undefined> {
    if (day === undefined || block < 0 || !this.reader.dayCheckDue(this.market)) return undefined;
    return this.reader.dayCounter(this.market, block, signal).catch((err: unknown) => {
      if (signal.aborted) throw err;
      log.debug('dayCounter not available at the cursor; checked later', { market: this.market, block, error: describe(err) });
      return null;
    });
  }

  /** A release found by the re-scan carries the day at its block, if the node still has that state. */
  private async recover(event: MarketEvent): Promise<MarketEvent> {
    if (event.kind !== 'EpochReleased') return event;
    const day = await this.chain.viewUint(this.settings.contract, protocolState, 'dayCounter', [this.market], event.blockNumber).catch(() => null);
    return { ...event, recovered: { day } };
  }
}
