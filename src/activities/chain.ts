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
import type { ChainCursor, FollowChainInput, FollowChainResult, MarketEvent, MarketParams } from '../domain/types.js';

export interface ChainActivityDeps {
  chain: ChainClient;
  redis: Redis;
  protocolStateContract: string;
  confirmations: number;
  logRangeBlocks: number;
  pollIntervalMs: number;
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

  async function storeBlockHashes(headers: readonly BlockHeader[]): Promise<void> {
    if (headers.length === 0) return;
    const pipeline = redis.pipeline();
    for (const h of headers) pipeline.set(keys.blockHashByNumber(h.number), h.hash, 'EX', keys.BLOCK_HASH_TTL_SECONDS);
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
  }

  function decodeEpochReleased(logEntry: RawLog, header: BlockHeader): MarketEvent {
    const parsed = protocolState.parseLog({ topics: logEntry.topics, data: logEntry.data });
    if (!parsed || parsed.name !== 'EpochReleased') throw new Error(`not an EpochReleased log (topic ${logEntry.topics[0]})`);
    return {
      kind: 'EpochReleased',
      epochId: (parsed.args.epochId as bigint).toString(),
      blockNumber: logEntry.blockNumber,
      blockHash: logEntry.blockHash,
      blockTimestamp: header.timestamp,
      logIndex: logEntry.logIndex,
    };
  }

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
      topics: [[topics.EpochReleased], zeroPadValue(market.toLowerCase(), 32)],
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
        events.push(decodeEpochReleased(entry, header));
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

    /** Reads the market's parameters from ProtocolState and caches them where upstream does. */
    async loadMarketParams(market: string): Promise<MarketParams> {
      const window = await chain.viewUint(deps.protocolStateContract, protocolState, 'snapshotSubmissionWindow', [market]);
      const submissionWindowSeconds = Number(window);
      if (!Number.isSafeInteger(submissionWindowSeconds)) throw new Error(`snapshotSubmissionWindow(${market}) = ${window} is out of range`);
      await redis.hset(keys.submissionLimitTable, market, window);
      return { submissionWindowSeconds };
    },

    /** `CurrentDayKey.<market>`, kept by the finalizer and the cacher; the contract's dayCounter on a miss. */
    async resolveCurrentDay(market: string): Promise<string> {
      const cached = await redis.get(keys.currentDay(market.toLowerCase()));
      if (cached !== null && /^[1-9][0-9]*$/.test(cached)) return cached;
      if (cached !== null) log.warn('CurrentDayKey holds no day number; asking the contract', { market, value: cached });
      return chain.viewUint(deps.protocolStateContract, protocolState, 'dayCounter', [market]);
    },
  };
}
