/**
 * Batch activities: collect an epoch's submissions, count them, store its batches, and push
 * them to the finalizer queue. Each is safe to run again: see redis-scripts.ts.
 */
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { Redis } from 'ioredis';
import type { ChainClient } from '../chain/rpc.js';
import * as keys from '../domain/keys.js';
import { finalizerMessage } from '../domain/payloads.js';
import { arrangeBatches, countBySlot, parseSubmissionKey, serializeBatch, type SubmissionKey } from '../domain/submissions.js';
import type { BatchSubmissionInput, PrepareBatchesInput, PreparedBatches } from '../domain/types.js';
import { createRedisScripts } from './redis-scripts.js';

export interface BatchActivityDeps {
  chain: ChainClient;
  redis: Redis;
  batchSize: number;
}

/** Blocks per MGET / SMEMBERS pipeline, and batches per push script: bounded round trips. */
const CHUNK = 500;

/** How many malformed keys an epoch logs one by one; the rest are only counted. */
const MALFORMED_LOG_LIMIT = 20;

export function createBatchActivities(deps: BatchActivityDeps) {
  const { chain, redis } = deps;
  const scripts = createRedisScripts(redis);

  /**
   * Canonical hashes of blocks `from..to`: the ones the follower stored, and from the chain
   * for the rest (the follower stays CONFIRMATIONS behind, and stored hashes expire).
   */
  async function canonicalHashes(from: number, to: number): Promise<string[]> {
    const hashes: string[] = [];
    for (let start = from; start <= to; start += CHUNK) {
      const numbers = Array.from({ length: Math.min(CHUNK, to - start + 1) }, (_, i) => start + i);
      const stored = await redis.mget(numbers.map(keys.blockHashByNumber));
      const missing = numbers.filter((_, i) => !stored[i]);
      const fetched = new Map((await chain.headersOf(missing)).map((h) => [h.number, h.hash]));
      numbers.forEach((n, i) => hashes.push(stored[i] || fetched.get(n)!));
    }
    return hashes;
  }

  async function collectSubmissionKeys(market: string, epochId: string, headers: readonly string[]): Promise<Set<string>> {
    const union = new Set<string>();
    for (let i = 0; i < headers.length; i += CHUNK) {
      const pipeline = redis.pipeline();
      for (const header of headers.slice(i, i + CHUNK)) pipeline.smembers(keys.snapshotCollector(market, epochId, header));
      for (const [err, members] of (await pipeline.exec()) ?? []) {
        if (err) throw err;
        for (const key of members as string[]) union.add(key);
      }
    }
    return union;
  }

  return {
    /**
     * Collects the submission keys filed under the canonical hashes of blocks `fromBlock..toBlock`,
     * then, in one atomic step, increments the slot counters for `day`, stores the batches and
     * sets the batch count. A second run of the same epoch writes nothing and returns the first
     * run's result.
     */
    async prepareBatches(input: PrepareBatchesInput): Promise<PreparedBatches> {
      const market = input.market.toLowerCase();
      const guardKey = keys.epochBatchesStored(market, input.epochId);
      const earlier = await redis.get(guardKey);
      if (earlier !== null) return { ...(JSON.parse(earlier) as PreparedBatches), storedNow: false };

      const headers = await canonicalHashes(input.fromBlock, input.toBlock);
      Context.current().heartbeat();
      const collected = await collectSubmissionKeys(market, input.epochId, headers);
      const valid: SubmissionKey[] = [];
      let malformedCount = 0;
      for (const key of collected) {
        const parsed = parseSubmissionKey(key, market, input.epochId);
        if (parsed.ok) valid.push(parsed.value);
        else if (++malformedCount <= MALFORMED_LOG_LIMIT) log.warn('malformed submission key skipped', { market, epochId: input.epochId, key, reason: parsed.reason });
      }
      if (malformedCount > MALFORMED_LOG_LIMIT) log.warn('more malformed submission keys skipped', { market, epochId: input.epochId, count: malformedCount - MALFORMED_LOG_LIMIT });

      const batches = arrangeBatches(valid, deps.batchSize);
      const result: PreparedBatches = { batchCount: batches.length, submissionCount: valid.length, malformedCount, storedNow: true };
      const stored = await scripts.storeEpochBatches({
        guardKey,
        summary: JSON.stringify({ batchCount: result.batchCount, submissionCount: result.submissionCount, malformedCount }),
        guardTtlSeconds: keys.GUARD_TTL_SECONDS,
        batchCountKey: keys.batchCount(market, input.epochId),
        batchCountTtlSeconds: keys.BATCH_COUNT_TTL_SECONDS,
        batches: batches.map((batch, i) => ({ key: keys.batchSubmissions(market, input.epochId, i + 1), json: serializeBatch(batch) })),
        batchTtlSeconds: keys.BATCH_SUBMISSIONS_TTL_SECONDS,
        slotIncrements: [...countBySlot(valid)].map(([slotId, by]) => ({ key: keys.slotSubmissions(market, input.day, slotId), by })),
      });
      // Another attempt of this epoch stored first (both ran concurrently): its result stands.
      if (stored !== null) return { ...(JSON.parse(stored) as PreparedBatches), storedNow: false };
      return result;
    },

    /** LPUSHes one finalizer message per batch in BatchID order, each exactly once. */
    async pushBatchesToFinalizer(input: BatchSubmissionInput): Promise<{ pushedNow: number }> {
      const market = input.market.toLowerCase();
      let pushedNow = 0;
      for (let first = 1; first <= input.batchCount; first += CHUNK) {
        const ids = Array.from({ length: Math.min(CHUNK, input.batchCount - first + 1) }, (_, i) => first + i);
        const batches = await redis.mget(ids.map((id) => keys.batchSubmissions(market, input.epochId, id)));
        const messages = ids.flatMap((batchId, i) => {
          const json = batches[i];
          return json ? [{ member: String(batchId), message: finalizerMessage(input.market, input.epochId, batchId, json) }] : [];
        });
        if (messages.length < ids.length) {
          // Expired batches can only be ones already pushed, unless the epoch sat for a day.
          const pushed = new Set(await redis.smembers(keys.finalizerPushed(market, input.epochId)));
          const lost = ids.filter((id, i) => !batches[i] && !pushed.has(String(id)));
          if (lost.length) throw ApplicationFailure.nonRetryable(`batches ${lost.join(', ')} of epoch ${input.epochId} are gone from Redis`, 'BatchesMissing');
        }
        pushedNow += await scripts.pushOncePerMember(keys.finalizerPushed(market, input.epochId), keys.finalizerQueue, keys.GUARD_TTL_SECONDS, messages);
        Context.current().heartbeat(first);
      }
      return { pushedNow };
    },
  };
}
