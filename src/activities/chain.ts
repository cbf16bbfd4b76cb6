/**
 * Chain activities: the long-poll follower that turns blocks into market events (see
 * src/follower/), the head watcher of a paused market, and the reads of chain state the
 * workflows need (head, contract parameters, current day).
 */
import { Context, log } from '@temporalio/activity';
import type { Redis } from 'ioredis';
import { protocolState } from '../chain/abi.js';
import { readCurrentDay } from '../chain/current-day.js';
import type { ChainClient } from '../chain/rpc.js';
import * as keys from '../domain/keys.js';
import type { RewardSettings } from '../config.js';
import type { ChainCursor, FollowChainInput, FollowChainResult, MarketParams } from '../domain/types.js';
import { ContractReader, followedTopics } from '../follower/contract-reader.js';
import { Follower, type FollowerHeartbeat, type FollowerSettings } from '../follower/follow.js';
import type { AdaptiveRange } from '../follower/range.js';
import { FollowerRecord } from '../follower/record.js';
import type { RedisStatus } from '../services/redis.js';
import type { FollowerMetrics } from '../metrics/metrics.js';
import { KeepAlive } from './keep-alive.js';

export interface ChainActivityDeps {
  chain: ChainClient;
  redis: Redis;
  /** Whether `redis` is reachable now (the worker's RedisConnection). */
  redisStatus: RedisStatus;
  protocolStateContract: string;
  follower: Omit<FollowerSettings, 'contract' | 'topic0s'>;
  /** Also follow SnapshotBatchSubmitted (only needed when the attestor queue is fed). */
  followSnapshotBatches: boolean;
  rewards: RewardSettings;
  /** The worker's eth_getLogs span: a provider's limits hold for every market, learnt once and kept across calls. */
  range: AdaptiveRange;
  /** The worker's reader of the contract, when shared beyond these activities (the epochs' windows read their heads through it); made here if not given. */
  reader?: ContractReader;
  metrics?: FollowerMetrics;
}

/** The worker's reader of ProtocolState `contract`, following the topics the worker needs. */
export function createContractReader(chain: ChainClient, range: AdaptiveRange, opts: { contract: string; followSnapshotBatches: boolean; pollIntervalMs: number }): ContractReader {
  return new ContractReader(chain, range, { contract: opts.contract, topic0s: followedTopics(opts.followSnapshotBatches), pollIntervalMs: opts.pollIntervalMs });
}

/**
 * The chain activities of a worker. Their followers, one per market, share one ContractReader:
 * made here, once per worker (the worker builds its activities once), so that RPC requests do
 * not grow with the number of markets.
 */
export function createChainActivities(deps: ChainActivityDeps) {
  const { chain, redis } = deps;
  const dayCounter = (market: string, block?: number) => chain.viewUint(deps.protocolStateContract, protocolState, 'dayCounter', [market], block);
  const settings: FollowerSettings = {
    ...deps.follower,
    contract: deps.protocolStateContract,
    topic0s: followedTopics(deps.followSnapshotBatches),
  };
  const reader = deps.reader ?? createContractReader(chain, deps.range, { contract: settings.contract, followSnapshotBatches: deps.followSnapshotBatches, pollIntervalMs: settings.pollIntervalMs });
  /** Canonical hashes are kept a little deeper than any reorg may reach. */
  const recordOf = (market: string) => new FollowerRecord(redis, market, 2 * (settings.maxReorgDepth + settings.confirmations));

  return {
    /**
     * Follows the chain for one market from `input.cursor` (see src/follower/follow.ts): returns
     * as soon as it has the market's events, a finality violation, a day change or a change in
     * its conditions, or after `maxWaitMs`. Heartbeats carry the cursor of event-less progress,
     * so a retry resumes after it and never past an unreported event.
     */
    async followChain(input: FollowChainInput): Promise<FollowChainResult> {
      const ctx = Context.current();
      const alive = new KeepAlive(ctx);
      try {
        return await new Follower(reader, recordOf(input.market), settings, input.market, deps.redisStatus, deps.metrics).run(input, {
          heartbeat: (details) => alive.beat(details),
          sleep: (ms) => ctx.sleep(ms),
          signal: ctx.cancellationSignal,
          resumed: ctx.info.heartbeatDetails as FollowerHeartbeat | undefined,
        });
      } finally {
        alive.stop();
      }
    },

    /**
     * While a market is paused: heartbeats the chain head (and the unchanged cursor) every poll,
     * so that `status` stays current, until cancelled or after `maxWaitMs`. Reads only the head,
     * the one the followers share.
     */
    async watchHead(input: { cursor: ChainCursor; headFloor?: number; maxWaitMs: number }): Promise<{ head: number | null }> {
      const ctx = Context.current();
      const alive = new KeepAlive(ctx);
      const deadline = Date.now() + input.maxWaitMs;
      let head: number | null = null;
      try {
        while (Date.now() < deadline) {
          let lastError: string | null = null;
          try {
            head = (await reader.head({ floor: Math.max(input.headFloor ?? -1, head ?? -1), signal: ctx.cancellationSignal })).number;
          } catch (err) {
            if (ctx.cancellationSignal.aborted) throw err;
            lastError = String(err);
          }
          const beat: FollowerHeartbeat = { cursor: input.cursor, head, rangeBlocks: 0, lastError, rejectedAnswers: 0 };
          alive.beat(beat);
          await ctx.sleep(Math.min(settings.pollIntervalMs, Math.max(1, deadline - Date.now())));
        }
      } finally {
        alive.stop();
      }
      return { head };
    },

    /** A sane head (see ChainClient.head) and the head minus CONFIRMATIONS. */
    async getChainHead(): Promise<{ head: number; safeHead: number }> {
      const head = (await chain.head()).number;
      return { head, safeHead: Math.max(0, head - settings.confirmations) };
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

    /** `CurrentDayKey.<market>`, kept by the finalizer and the cacher; the contract's dayCounter on a miss (see current-day.ts). */
    async resolveCurrentDay(market: string): Promise<string> {
      return readCurrentDay(redis, market, () => dayCounter(market), (value) => log.warn('CurrentDayKey holds no day number; asking the contract', { market, value }));
    },
  };
}
