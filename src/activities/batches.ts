/**
 * Batch activities: close an epoch's submission window on chain time, collect its submissions,
 * count them, store its batches, and push them to the finalizer queue. Each is safe to run
 * again: see redis-scripts.ts.
 */
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { Redis } from 'ioredis';
import type { ChainClient } from '../chain/rpc.js';
import * as keys from '../domain/keys.js';
import { finalizerMessage } from '../domain/payloads.js';
import { arrangeBatches, countBySlot, parseSubmissionKey, serializeBatch, type SubmissionKey } from '../domain/submissions.js';
import type { BatchSubmissionInput, EpochWindow, PrepareBatchesInput, PreparedBatches, PreparedEpoch, PrepareEpochInput } from '../domain/types.js';
import type { EpochMetrics } from '../metrics/metrics.js';
import type { AdaptiveRange } from '../follower/range.js';
import { closeWindow, type WindowSettings } from '../follower/window.js';
import { createRedisScripts, readingKey } from './redis-scripts.js';

export interface BatchActivityDeps {
  chain: ChainClient;
  redis: Redis;
  batchSize: number;
  window: WindowSettings;
  /** The worker's eth_getLogs span, shared with the follower. */
  range: AdaptiveRange;
  metrics?: EpochMetrics;
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
      const fetched = new Map((await chain.headers(missing)).map((h) => [h.number, h.hash]));
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

  /**
   * Collects the submission keys filed under `hashes`, then, in one atomic step, increments the
   * slot counters for `day`, stores the batches and sets the batch count. If the epoch was stored
   * before (an earlier or concurrent attempt), writes nothing and returns that attempt's result.
   */
  async function storeEpoch(input: { market: string; epochId: string; day: string }, hashes: readonly string[], window?: EpochWindow): Promise<PreparedBatches & { window?: EpochWindow }> {
    const market = input.market.toLowerCase();
    const started = performance.now();
    const collected = await collectSubmissionKeys(market, input.epochId, hashes);
    const valid: SubmissionKey[] = [];
    let malformedCount = 0;
    for (const key of collected) {
      const parsed = parseSubmissionKey(key, market, input.epochId);
      if (parsed.ok) valid.push(parsed.value);
      else if (++malformedCount <= MALFORMED_LOG_LIMIT) log.warn('malformed submission key skipped', { market, epochId: input.epochId, key, reason: parsed.reason });
    }
    if (malformedCount > MALFORMED_LOG_LIMIT) log.warn('more malformed submission keys skipped', { market, epochId: input.epochId, count: malformedCount - MALFORMED_LOG_LIMIT });

    const batches = arrangeBatches(valid, deps.batchSize);
    const summary = { batchCount: batches.length, submissionCount: valid.length, malformedCount, ...(window ? { window } : {}) };
    const stored = await scripts.storeEpochBatches({
      guardKey: keys.epochBatchesStored(market, input.epochId),
      summary: JSON.stringify(summary),
      guardTtlSeconds: keys.GUARD_TTL_SECONDS,
      batchCountKey: keys.batchCount(market, input.epochId),
      batchCountTtlSeconds: keys.BATCH_COUNT_TTL_SECONDS,
      batches: batches.map((batch, i) => ({ key: keys.batchSubmissions(market, input.epochId, i + 1), json: serializeBatch(batch) })),
      batchTtlSeconds: keys.BATCH_SUBMISSIONS_TTL_SECONDS,
      slotIncrements: [...countBySlot(valid)].map(([slotId, by]) => ({ key: keys.slotSubmissions(market, input.day, slotId), by })),
    });
    // Another attempt of this epoch stored first (both ran concurrently): its result stands.
    if (stored !== null) return { ...(JSON.parse(stored) as PreparedBatches), storedNow: false };
    deps.metrics?.epochPrepared(input.market, { submissions: valid.length, malformedKeys: malformedCount, seconds: (performance.now() - started) / 1000 });
    return { ...summary, storedNow: true };
  }

  /** The result of an earlier attempt that stored the epoch, if any. */
  async function storedBefore(market: string, epochId: string): Promise<(PreparedBatches & { window?: EpochWindow }) | null> {
    const guard = keys.epochBatchesStored(market.toLowerCase(), epochId);
    const earlier = await readingKey(guard, redis.get(guard));
    return earlier === null ? null : { ...(JSON.parse(earlier) as PreparedBatches), storedNow: false };
  }

  /**
   * The epoch's submission count, from its batches-stored guard, for the per-epoch log line; left
   * out when it cannot be read: the line is for the operator, and the pushes it reports are done.
   */
  async function submissionsOf(market: string, epochId: string): Promise<{ submissions?: number }> {
    try {
      const stored = await redis.get(keys.epochBatchesStored(market.toLowerCase(), epochId));
      const count = stored === null ? undefined : (JSON.parse(stored) as Partial<PreparedBatches>).submissionCount;
      return typeof count === 'number' ? { submissions: count } : {};
    } catch (err) {
      log.debug('submission count for the epoch log line not read', { market, epochId, error: String(err) });
      return {};
    }
  }

  return {
    /**
     * Closes the epoch's window on chain time and stores its batches: the window is the release
     * block and every later block whose timestamp is at most the release block's plus
     * `submissionWindowSeconds` (see follower/window.ts). A release that left the chain is looked
     * up again: `rebased` if it is now in another block (the workflow waits out that window),
     * `orphaned` if no canonical block holds it; nothing is written then.
     */
    async prepareEpoch(input: PrepareEpochInput): Promise<PreparedEpoch> {
      const earlier = await storedBefore(input.market, input.epochId);
      if (earlier !== null) return { kind: 'prepared', window: earlier.window!, ...earlier };
      const ctx = Context.current();
      const closed = await closeWindow(chain, deps.range, deps.window, input, {
        signal: ctx.cancellationSignal,
        heartbeat: () => ctx.heartbeat(),
        sleep: (ms) => ctx.sleep(ms),
        scheduledAtMs: ctx.info.scheduledTimestampMs,
      });
      if (closed.kind !== 'closed') {
        log.warn(closed.kind === 'orphaned' ? 'the release of the epoch left the chain: nothing is batched' : 'the release of the epoch moved to another block: its window starts there', {
          market: input.market,
          epochId: input.epochId,
          releaseBlock: input.release.blockNumber,
          ...(closed.kind === 'orphaned' ? { detail: closed.detail } : { newReleaseBlock: closed.release.blockNumber }),
        });
        return closed;
      }
      ctx.heartbeat();
      const prepared = await storeEpoch(input, closed.hashes, closed.window);
      return { kind: 'prepared', window: prepared.window ?? closed.window, ...prepared };
    },

    /**
     * The path of batch preparations started before 0.3.0 (still in flight at an upgrade): the
     * canonical hashes of blocks `fromBlock..toBlock`, then the same atomic store.
     */
    async prepareBatches(input: PrepareBatchesInput): Promise<PreparedBatches> {
      const earlier = await storedBefore(input.market, input.epochId);
      if (earlier !== null) return earlier;
      const hashes = await canonicalHashes(input.fromBlock, input.toBlock);
      Context.current().heartbeat();
      return storeEpoch(input, hashes);
    },

    /**
     * LPUSHes one finalizer message per batch in BatchID order, each exactly once; then logs the
     * epoch's one info line, `epoch batched`: market, epochId, batches, submissions, pushedNow
     * (0 on a rerun after the pushes), latencyMs (from the release block's timestamp to the last
     * push; absent for epochs started before 0.5.0).
     */
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
        Context.current().heartbeat();
      }
      // This attempt pushed the epoch's last batch (a rerun that pushed nothing reports nothing).
      if (pushedNow > 0 && input.releaseBlockTimestamp !== undefined) deps.metrics?.epochPushed(input.market, Math.max(0, Date.now() / 1000 - input.releaseBlockTimestamp));
      log.info('epoch batched', {
        market: input.market,
        epochId: input.epochId,
        batches: input.batchCount,
        ...(await submissionsOf(input.market, input.epochId)),
        pushedNow,
        ...(input.releaseBlockTimestamp === undefined ? {} : { latencyMs: Date.now() - input.releaseBlockTimestamp * 1000 }),
      });
      return { pushedNow };
    },
  };
}
