/**
 * Chain activities: the long-poll follower that turns blocks into market events, and the
 * reads of chain state the workflows need (head, contract parameters, current day).
 */
import { Context, log } from '@temporalio/activity';
import { zeroPadValue } from 'ethers';
import type { Redis } from 'ioredis';
import { protocolState, topics } from '../chain/abi.js';
import type { BlockHeader, ChainClient, RawLog } from '../chain/rpc.js';
import * as keys from '../domain/keys.js';
import type { RewardSettings } from '../config.js';
import type { ChainCursor, FollowChainInput, FollowChainResult, MarketEvent, MarketParams } from '../domain/types.js';

export interface ChainActivityDeps {
  chain: ChainClient;
  redis: Redis;
  protocolStateContract: string;
  confirmations: number;
  logRangeBlocks: number;
  pollIntervalMs: number;
  /** Also follow SnapshotBatchSubmitted (only needed when the attestor queue is fed). */
  followSnapshotBatches: boolean;
  rewards: RewardSettings;
}

/**
 * How far the follower steps back when a block's parent is not the hash it stored: enough for
 * the shallow reorgs a `CONFIRMATIONS`-deep follower can meet. Deeper handling comes later.
 */
export const REORG_REWIND_BLOCKS = 32;
const MAX_REWINDS_PER_CALL = 3;

type RangeScan =
  | { kind: 'scanned'; events: MarketEvent[]; cursor: ChainCursor; skippedLogs: number }
  | { kind: 'reorg'; atBlock: number };

export function createChainActivities(deps: ChainActivityDeps) {
  const { chain, redis } = deps;
  const dayCounter = (market: string, block?: number) => chain.viewUint(deps.protocolStateContract, protocolState, 'dayCounter', [market], block);

  async function storeBlockHashes(headers: readonly BlockHeader[]): Promise<void> {
    if (headers.length === 0) return;
    const pipeline = redis.pipeline();
    for (const h of headers) pipeline.set(keys.blockHashByNumber(h.number), h.hash, 'EX', keys.BLOCK_HASH_TTL_SECONDS);
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
  }

  function decodeEvent(logEntry: RawLog, header: BlockHeader): MarketEvent {
    const parsed = protocolState.parseLog({ topics: logEntry.topics, data: logEntry.data });
    const at = { blockNumber: logEntry.blockNumber, logIndex: logEntry.logIndex };
    switch (parsed?.name) {
      case 'EpochReleased':
        return { kind: 'EpochReleased', epochId: (parsed.args.epochId as bigint).toString(), blockHash: logEntry.blockHash, blockTimestamp: header.timestamp, ...at };
      case 'DayStartedEvent':
        return { kind: 'DayStarted', dayId: (parsed.args.dayId as bigint).toString(), blockTimestamp: header.timestamp, ...at };
      case 'SnapshotBatchSubmitted':
        return { kind: 'SnapshotBatchSubmitted', epochId: (parsed.args.epochId as bigint).toString(), batchCid: parsed.args.batchCid as string, ...at };
      default:
        throw new Error(`unexpected log (topic ${logEntry.topics[0]})`);
    }
  }

  const followedTopics = [topics.EpochReleased, topics.DayStartedEvent, ...(deps.followSnapshotBatches ? [topics.SnapshotBatchSubmitted] : [])];

  /** Scans `cursor.nextBlock..to`: checks the hash chain, stores block hashes, decodes this market's events. */
  async function scanRange(market: string, cursor: ChainCursor, to: number): Promise<RangeScan> {
    const from = cursor.nextBlock;
    const headers = await chain.headers(from, to);
    let parent = cursor.parentHash;
    for (const h of headers) {
      if (parent !== null && h.parentHash !== parent) return { kind: 'reorg', atBlock: h.number };
      parent = h.hash;
    }
    const logs = await chain.logs({
      address: deps.protocolStateContract,
      topics: [followedTopics, zeroPadValue(market.toLowerCase(), 32)],
      fromBlock: from,
      toBlock: to,
    });
    const events: MarketEvent[] = [];
    let skippedLogs = 0;
    for (const entry of logs) {
      const header = headers[entry.blockNumber - from];
      if (entry.blockNumber < from || entry.blockNumber > to || !header) {
        skippedLogs++;
        log.warn('eth_getLogs returned a log outside the requested range; skipped', { market, blockNumber: entry.blockNumber, from, to });
        continue;
      }
      // A log from another fork of this height: the chain moved under us, rescan.
      if (entry.removed || entry.blockHash !== header.hash) return { kind: 'reorg', atBlock: entry.blockNumber };
      try {
        events.push(decodeEvent(entry, header));
      } catch (err) {
        skippedLogs++;
        log.warn('undecodable log skipped', { market, blockNumber: entry.blockNumber, logIndex: entry.logIndex, error: String(err) });
      }
    }
    await storeBlockHashes(headers);
    events.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
    return { kind: 'scanned', events, skippedLogs, cursor: { nextBlock: to + 1, parentHash: parent } };
  }

  return {
    /**
     * Follows the chain for one market from `input.cursor`, `CONFIRMATIONS` blocks behind the
     * head, in `eth_getLogs` ranges. Returns as soon as a range holds events of the market, or
     * after `maxWaitMs` with the advanced cursor. Progress is heartbeated only for ranges
     * without events, so a retry resumes after them and never past an unreported event.
     */
    async followChain(input: FollowChainInput): Promise<FollowChainResult> {
      const ctx = Context.current();
      const resumed = ctx.info.heartbeatDetails as ChainCursor | undefined;
      let cursor = resumed && Number.isSafeInteger(resumed.nextBlock) ? resumed : input.cursor;
      const deadline = Date.now() + input.maxWaitMs;
      let reorgs = 0;
      let skippedLogs = 0;
      for (;;) {
        const head = await chain.blockNumber();
        const safeHead = head - deps.confirmations;
        if (cursor.nextBlock <= safeHead) {
          const to = Math.min(safeHead, cursor.nextBlock + deps.logRangeBlocks - 1);
          const scan = await scanRange(input.market, cursor, to);
          if (scan.kind === 'reorg') {
            // A node that keeps answering a broken chain is a bad node, not a reorg: let
            // Temporal retry with backoff rather than walk the cursor back without end.
            if (++reorgs > MAX_REWINDS_PER_CALL) throw new Error(`block hash chain still broken at ${scan.atBlock} after ${MAX_REWINDS_PER_CALL} rewinds`);
            const nextBlock = Math.max(0, cursor.nextBlock - REORG_REWIND_BLOCKS);
            log.warn('block hash chain broken: rewinding and rescanning', { market: input.market, atBlock: scan.atBlock, rewindTo: nextBlock });
            cursor = { nextBlock, parentHash: null };
          } else {
            skippedLogs += scan.skippedLogs;
            cursor = scan.cursor;
            if (scan.events.length > 0) return { events: scan.events, cursor, head, reorgs, skippedLogs };
          }
          ctx.heartbeat(cursor);
          if (cursor.nextBlock <= safeHead && Date.now() < deadline) continue; // backlog: no pause
        } else {
          ctx.heartbeat(cursor);
        }
        const remaining = deadline - Date.now();
        if (remaining <= 0) return { events: [], cursor, head, reorgs, skippedLogs };
        await ctx.sleep(Math.min(deps.pollIntervalMs, remaining)); // throws on cancellation
      }
    },

    async getChainHead(): Promise<{ head: number; safeHead: number }> {
      const head = await chain.blockNumber();
      return { head, safeHead: Math.max(0, head - deps.confirmations) };
    },

    /**
     * Reads the market's parameters from ProtocolState and writes them where the neighbours read
     * them (hash fields keyed by the EIP-55 address; EpochsInADay only when absent, as the cacher
     * owns it). With `day`, also refreshes CurrentDayKey and LastKnownDayKey (see keys.ts).
     */
    async loadMarketParams(market: string, day?: string): Promise<MarketParams> {
      const view = (fn: string) => chain.viewUint(deps.protocolStateContract, protocolState, fn, [market]);
      const [window, daySize, quota, epochsInADay] = await Promise.all([
        view('snapshotSubmissionWindow'),
        view('DAY_SIZE'),
        view('dailySnapshotQuota'),
        view('epochsInADay'),
      ]);
      const asNumber = (name: string, value: string) => {
        const n = Number(value);
        if (!Number.isSafeInteger(n)) throw new Error(`${name}(${market}) = ${value} is out of range`);
        return n;
      };
      const m = market.toLowerCase();
      const pipeline = redis
        .multi()
        .hset(keys.submissionLimitTable, market, window)
        .hset(keys.daySizeTable, market, daySize)
        .hset(keys.dailySnapshotQuotaTable, market, quota)
        .set(keys.epochsInADay(market), epochsInADay, 'NX');
      if (day !== undefined) {
        pipeline.set(keys.currentDay(m), day, 'EX', keys.CURRENT_DAY_TTL_SECONDS).set(keys.lastKnownDay(m), day, 'EX', keys.LAST_KNOWN_DAY_TTL_SECONDS);
      }
      const failed = (await pipeline.exec())?.find(([err]) => err);
      if (failed) throw failed[0];
      const { epochInterval, pastDaysBuffer, dayTransitionBufferEpochs } = deps.rewards;
      return {
        submissionWindowSeconds: asNumber('snapshotSubmissionWindow', window),
        daySize: asNumber('DAY_SIZE', daySize),
        dailySnapshotQuota: quota,
        epochsInADay: asNumber('epochsInADay', epochsInADay),
        rewards: { epochInterval, pastDaysBuffer, dayTransitionBufferEpochs },
      };
    },

    /** The contract's dayCounter, at `block` if given (the day a catch-up resumes in). */
    async readDayCounter(market: string, block?: number): Promise<string> {
      try {
        return await dayCounter(market, block);
      } catch (err) {
        if (block === undefined) throw err;
        // A node without that block's state (not an archive node): the current day is the best we have.
        log.warn('dayCounter not available at the cursor block; using the current one', { market, block, error: String(err) });
        return dayCounter(market);
      }
    },

    /** `CurrentDayKey.<market>`, kept by the finalizer and the cacher; the contract's dayCounter on a miss. */
    async resolveCurrentDay(market: string): Promise<string> {
      const cached = await redis.get(keys.currentDay(market.toLowerCase()));
      if (cached !== null && /^[1-9][0-9]*$/.test(cached)) return cached;
      if (cached !== null) log.warn('CurrentDayKey holds no day number; asking the contract', { market, value: cached });
      return dayCounter(market);
    },
  };
}
