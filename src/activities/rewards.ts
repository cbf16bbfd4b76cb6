/**
 * Reward updates and the attestor queue. A reward update is frozen in Redis at its first
 * preparation (so every retry sends the same chunks), and each chunk is acknowledged once:
 * a chunk the relayer accepted is never sent again, and no chunk is ever dropped.
 */
import { ApplicationFailure, log } from '@temporalio/activity';
import type { Redis } from 'ioredis';
import { dataMarket } from '../chain/abi.js';
import type { ChainClient } from '../chain/rpc.js';
import type { RelayerSettings, RewardSettings } from '../config.js';
import type { RelayerMetrics } from '../metrics/metrics.js';
import { isCanonicalDecimal } from '../domain/decimal.js';
import * as keys from '../domain/keys.js';
import { attestorMessage } from '../domain/payloads.js';
import { chunkRewards, pastDays, updateRewardsBody, type RewardChunk } from '../domain/rewards.js';
import type { PreparedRewardUpdate, RewardUpdateInput } from '../domain/types.js';
import { createRedisScripts, readingKey } from './redis-scripts.js';
import { postToRelayer } from './relayer.js';

export interface RewardActivityDeps {
  chain: ChainClient;
  redis: Redis;
  relayer: RelayerSettings;
  rewards: RewardSettings;
  metrics?: RelayerMetrics;
}

/** Slots per MGET when reading counts for 1..TotalNodesCount. */
const SLOT_READ_CHUNK = 1000;

interface UpdateMeta {
  slotCount: number;
  eligibleNodes: number;
  chunkCount: number;
}

export function createRewardActivities(deps: RewardActivityDeps) {
  const { redis } = deps;
  const scripts = createRedisScripts(redis);

  const updateIdOf = (input: RewardUpdateInput) => (input.kind === 'periodic' ? `periodic.${input.epochId}` : `${input.kind}.${input.day}`);

  /** The (slot, count) pairs of a day: of the given slots, those with a count. */
  async function countsOf(market: string, day: string, slots: string[]): Promise<Array<[string, string]>> {
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < slots.length; i += SLOT_READ_CHUNK) {
      const part = slots.slice(i, i + SLOT_READ_CHUNK);
      const counts = await redis.mget(part.map((slot) => keys.eligibleSlotSubmissions(market, day, slot)));
      part.forEach((slot, j) => {
        const count = counts[j];
        if (count === null || count === undefined) return;
        if (isCanonicalDecimal(count)) pairs.push([slot, count]);
        else log.warn('eligible count is not a number; slot skipped', { market, day, slot, count });
      });
    }
    return pairs;
  }

  async function eligibleSlots(market: string, day: string): Promise<string[]> {
    const members = await redis.smembers(keys.eligibleNodeByDay(market, day));
    const bad = members.filter((slot) => !isCanonicalDecimal(slot));
    if (bad.length) log.warn('eligible slot ids that are not numbers skipped', { market, day, slots: bad.slice(0, 20) });
    return members.filter(isCanonicalDecimal);
  }

  async function totalNodes(): Promise<number> {
    const value = await redis.get(keys.totalNodesCount);
    const total = Number(value);
    if (value === null || !isCanonicalDecimal(value) || !Number.isSafeInteger(total)) {
      throw ApplicationFailure.nonRetryable(`${keys.totalNodesCount} is ${JSON.stringify(value)}: the protocol-state-cacher has not written it`, 'TotalNodesCountMissing');
    }
    return total;
  }

  return {
    /**
     * Reads what a reward update sends and freezes it in Redis as chunks of
     * REWARDS_UPDATE_BATCH_SIZE slots. final: the day's eligible slots with their counts,
     * eligibleNodes = number of eligible slots; periodic: counts of slots 1..TotalNodesCount,
     * eligibleNodes 0; pastDay: empty arrays with the day's eligible-node count.
     */
    async prepareRewardUpdate(input: RewardUpdateInput): Promise<PreparedRewardUpdate> {
      const market = input.market.toLowerCase();
      const updateId = updateIdOf(input);
      const chunksKey = keys.rewardUpdateChunks(market, updateId);
      const prepared = (meta: string) => ({ updateId, ...(JSON.parse(meta) as UpdateMeta), concurrency: deps.rewards.concurrentUpdates });
      const stored = await readingKey(chunksKey, redis.hget(chunksKey, 'meta'));
      if (stored !== null) return prepared(stored);
      let pairs: Array<[string, string]> = [];
      let eligibleNodes = 0;
      if (input.kind === 'final') {
        const slots = await eligibleSlots(market, input.day);
        eligibleNodes = slots.length;
        pairs = await countsOf(market, input.day, slots);
      } else if (input.kind === 'periodic') {
        pairs = await countsOf(market, input.day, Array.from({ length: await totalNodes() }, (_, i) => String(i + 1)));
      } else {
        eligibleNodes = await redis.scard(keys.eligibleNodeByDay(market, input.day));
      }
      const chunks = chunkRewards(pairs, deps.rewards.batchSize, input.kind === 'pastDay');
      const meta: UpdateMeta = { slotCount: pairs.length, eligibleNodes, chunkCount: chunks.length };
      // Another attempt may have stored first: the script keeps and returns what is stored.
      return prepared(await scripts.storeRewardUpdateOnce(chunksKey, keys.GUARD_TTL_SECONDS, JSON.stringify(meta), chunks.map((c) => JSON.stringify(c))));
    },

    /**
     * Sends chunk `chunk` of a prepared update to `/submitUpdateRewards`, unless it was accepted
     * before. The attempt that marks the update's last chunk sent logs its one info line,
     * `reward update sent`: market, day, updateId, slots, eligibleNodes, chunks.
     */
    async sendRewardChunk(input: { market: string; day: string; updateId: string; chunk: number }): Promise<{ sentNow: boolean }> {
      const market = input.market.toLowerCase();
      const sentKey = keys.rewardChunksSent(market, input.updateId);
      if (await readingKey(sentKey, redis.sismember(sentKey, String(input.chunk)))) return { sentNow: false };
      const [chunkJson, metaJson] = await redis.hmget(keys.rewardUpdateChunks(market, input.updateId), String(input.chunk), 'meta');
      if (!chunkJson || !metaJson) throw ApplicationFailure.nonRetryable(`reward update ${input.updateId} chunk ${input.chunk} is gone from Redis`, 'RewardUpdateMissing');
      const { eligibleNodes, slotCount, chunkCount } = JSON.parse(metaJson) as UpdateMeta;
      await postToRelayer(deps.relayer, '/submitUpdateRewards', updateRewardsBody(input.market, JSON.parse(chunkJson) as RewardChunk, input.day, eligibleNodes, deps.relayer.authToken), deps.metrics);
      const marked = await redis.multi().sadd(sentKey, String(input.chunk)).scard(sentKey).expire(sentKey, keys.GUARD_TTL_SECONDS).exec();
      // In one transaction: of the chunks sent at once, only the one that completes the set sees it complete.
      if (marked?.[0]?.[1] === 1 && marked[1]?.[1] === chunkCount) {
        log.info('reward update sent', { market: input.market, day: input.day, updateId: input.updateId, slots: slotCount, eligibleNodes, chunks: chunkCount });
      }
      return { sentNow: true };
    },

    /**
     * The past days (up to PAST_DAYS_BUFFER back) whose on-chain eligibleNodesForDay is still 0
     * while Redis knows eligible nodes: they need the count sent. A day with no eligible node
     * is flagged once in ZeroCountKey, as upstream does, and needs nothing sent.
     */
    async findPastDaysToCatchUp(input: { market: string; day: string; skipPreviousDay: boolean }): Promise<string[]> {
      const market = input.market.toLowerCase();
      const due: string[] = [];
      const previous = (BigInt(input.day) - 1n).toString();
      for (const day of pastDays(input.day, deps.rewards.pastDaysBuffer)) {
        if (day === previous && input.skipPreviousDay) continue; // its final update is still to come
        if ((await deps.chain.viewUint(input.market, dataMarket, 'eligibleNodesForDay', [day])) !== '0') continue;
        if ((await redis.scard(keys.eligibleNodeByDay(market, day))) > 0) due.push(day);
        else if (await redis.set(keys.zeroCount(market, day), 'true', 'EX', keys.ZERO_COUNT_TTL_SECONDS, 'NX')) {
          log.warn('no eligible nodes recorded for a past day', { market: input.market, day });
        }
      }
      return due;
    },

    /** `LPUSH attestorQueue {"DataMarketAddress","BatchCID","EpochID"}` once per SnapshotBatchSubmitted. */
    async pushAttestorMessages(input: { market: string; batches: Array<{ epochId: string; batchCid: string }> }): Promise<{ pushedNow: number }> {
      const market = input.market.toLowerCase();
      let pushedNow = 0;
      for (const { epochId, batchCid } of input.batches) {
        if (!isCanonicalDecimal(epochId)) throw ApplicationFailure.nonRetryable(`epoch id ${JSON.stringify(epochId)} is not a number`, 'MalformedEvent');
        const message = attestorMessage(input.market, batchCid, epochId);
        pushedNow += await scripts.pushOncePerMember(keys.attestorPushed(market, epochId), keys.attestorQueue, keys.GUARD_TTL_SECONDS, [{ member: batchCid, message }]);
      }
      return { pushedNow };
    },
  };
}
