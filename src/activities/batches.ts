/**
 * Batch activities: close an epoch's submission window on chain time, collect its submissions,
 * count them, store its batches, and push them to the finalizer queue. Each is safe to run
 * again, and no Redis command or script of theirs holds Redis for more than a few milliseconds
 * (bench/batches.ts measures them): an epoch is stored by a plan committed before any effect,
 * then applied chunk by chunk, each chunk once (see storeEpoch and redis-scripts.ts).
 */
import { randomBytes } from 'node:crypto';
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { Redis } from 'ioredis';
import type { ChainClient } from '../chain/rpc.js';
import * as keys from '../domain/keys.js';
import { finalizerMessageFrame } from '../domain/payloads.js';
import { arrangeBatches, countBySlot, planChunks, planHeaderReads, planPushes, serializeBatch, submissionKeyParser, type ChunkLimits, type PlanChunk, type SubmissionKey } from '../domain/submissions.js';
import type { BatchSubmissionInput, EpochWindow, PrepareBatchesInput, PreparedBatches, PreparedEpoch, PrepareEpochInput } from '../domain/types.js';
import type { EpochMetrics } from '../metrics/metrics.js';
import type { AdaptiveRange } from '../follower/range.js';
import { closeWindow, type ClosedWindow, type HeadSource, type WindowSettings } from '../follower/window.js';
import { createRedisScripts, namingWrongType, readingKey } from './redis-scripts.js';

/**
 * How much Redis work one command, script or round trip of these activities may do. The
 * defaults keep each to about 0.5 ms (typical, at 100k submissions on a 2-core machine: SMEMBERS
 * costs about 0.4 µs a member, SSCAN about 0.7; a chunk script about 1.5 µs per KiB of
 * batches, a push script about 5), far below the 10 ms that issue 9 allows any of them.
 */
export interface RedisWorkLimits {
  /** Header set members per read and per round trip; larger sets are read by SSCAN. */
  membersPerRead: number;
  /** One chunk of an epoch's store: batch JSON bytes, batches, slot counters. */
  chunk: ChunkLimits;
  /** Batch JSON bytes per finalizer push script. */
  pushBytes: number;
}

export const REDIS_WORK_LIMITS: RedisWorkLimits = { membersPerRead: 1000, chunk: { bytes: 256 << 10, batches: 100, slots: 500 }, pushBytes: 128 << 10 };

export interface BatchActivityDeps {
  chain: ChainClient;
  redis: Redis;
  batchSize: number;
  window: WindowSettings;
  /** The worker's eth_getLogs span, shared with the follower. */
  range: AdaptiveRange;
  /** Head reads of the windows: the worker's ContractReader, shared with the followers (the chain client itself if not given). */
  heads?: HeadSource;
  metrics?: EpochMetrics;
  /** REDIS_WORK_LIMITS unless given (tests give small ones to split small epochs). */
  limits?: RedisWorkLimits;
}

/** Blocks per MGET and header sets per SCARD pipeline: bounded round trips. */
const CHUNK = 500;

/** Batches a push script is given at most: it checks each of them before it pushes the first (about 1 µs each). */
const BATCHES_PER_PUSH = 100;

/** How many malformed keys an epoch logs one by one; the rest are only counted. */
const MALFORMED_LOG_LIMIT = 20;

/** An epoch's result as its guard and plan hold it: PreparedBatches without `storedNow`, with prepareEpoch's window. */
type EpochSummary = Omit<PreparedBatches, 'storedNow'> & { window?: EpochWindow };

/** The committed plan of an epoch's store (keys.epochPlan). */
interface EpochPlan {
  /** Random, per attempt: the chunks of two attempts' plans never share a key. */
  planId: string;
  /** The day whose slot counters the plan increments. */
  day: string;
  chunkCount: number;
  summary: EpochSummary;
}

/**
 * An epoch's batches arranged and written as plan chunks under `planId`, not yet committed: what
 * the header sets of `hashes` held when read (`sizes[i]` members in set i).
 */
interface EpochDraft {
  planId: string;
  chunks: PlanChunk[];
  counts: Omit<PreparedBatches, 'storedNow'>;
  /** The first MALFORMED_LOG_LIMIT malformed keys, logged at the commit. */
  malformed: Array<{ key: string; reason: string }>;
  hashes: readonly string[];
  sizes: number[];
}

export function createBatchActivities(deps: BatchActivityDeps) {
  const { chain, redis } = deps;
  const limits = deps.limits ?? REDIS_WORK_LIMITS;
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

  /**
   * The members of the header sets of `headers`: sizes first (SCARD), then small sets whole
   * (SMEMBERS, a few per round trip), large ones a cursor at a time (SSCAN), so that no read and
   * no round trip holds Redis long however the dequeuer spread the submissions. `sizes[i]` is
   * how many members set i had for this read: what SMEMBERS gave, or SCARD before an SSCAN (a
   * member added during a scan makes the set larger than that, see draftHolds).
   */
  async function collectSubmissionKeys(market: string, epochId: string, headers: readonly string[]): Promise<{ union: Set<string>; sizes: number[] }> {
    const sets = headers.map((header) => keys.snapshotCollector(market, epochId, header));
    const sizes = await headerSetSizes(sets);
    const union = new Set<string>();
    const { whole, scanned } = planHeaderReads(sizes, limits.membersPerRead);
    for (const trip of whole) {
      const pipeline = redis.pipeline();
      for (const i of trip) pipeline.smembers(sets[i]!);
      for (const [j, [err, members]] of ((await pipeline.exec()) ?? []).entries()) {
        if (err) throw err;
        sizes[trip[j]!] = (members as string[]).length;
        for (const key of members as string[]) union.add(key);
      }
    }
    // SSCAN returns about COUNT members (whole buckets) at about twice SMEMBERS's cost a member: half the bound.
    const scanCount = Math.max(1, Math.floor(limits.membersPerRead / 2));
    for (const i of scanned) {
      let cursor = '0';
      do {
        const [next, members] = await redis.sscan(sets[i]!, cursor, 'COUNT', scanCount);
        for (const key of members) union.add(key);
        cursor = next;
      } while (cursor !== '0');
    }
    return { union, sizes };
  }

  /** SCARD of each of these header sets, CHUNK sets per round trip. */
  async function headerSetSizes(sets: readonly string[]): Promise<number[]> {
    const sizes: number[] = [];
    for (let i = 0; i < sets.length; i += CHUNK) {
      const pipeline = redis.pipeline();
      for (const set of sets.slice(i, i + CHUNK)) pipeline.scard(set);
      for (const [err, size] of (await pipeline.exec()) ?? []) {
        if (err) throw err;
        sizes.push(size as number);
      }
    }
    return sizes;
  }

  /** The byte lengths of these batch keys (STRLEN, one round trip; 0 for a key that is gone); a key of another type is named in the error. */
  async function batchSizes(batchKeys: readonly string[]): Promise<number[]> {
    const pipeline = redis.pipeline();
    for (const key of batchKeys) pipeline.strlen(key);
    return ((await pipeline.exec()) ?? []).map(([err, size], i) => {
      if (err) throw namingWrongType(batchKeys[i]!, err);
      return size as number;
    });
  }

  /** Thrown when a committed plan's chunk is gone before it was applied (expired: the epoch sat for a day). */
  const planGone = (epochId: string, chunk: number) =>
    ApplicationFailure.nonRetryable(`chunk ${chunk} of the plan of epoch ${epochId} is gone from Redis before it was applied: its batches and counts cannot be stored`, 'EpochPlanMissing');

  /**
   * Applies every chunk of the committed `plan` not applied yet, each in one script that also
   * marks it applied (so a chunk is applied once whoever runs it, and a crash between two loses
   * nothing). `written` are the plan's chunks when this attempt wrote them: then all but the last
   * go out in one round trip, and the last (the one that sets the batch count and the guard) once
   * they are applied. Otherwise the chunks are read from Redis and applied one at a time. Returns
   * true when this attempt applied the last chunk.
   */
  async function applyPlan(market: string, epochId: string, plan: EpochPlan, written?: readonly PlanChunk[]): Promise<boolean> {
    const appliedKey = keys.epochChunksApplied(market, epochId);
    const apply = async (i: number, chunk: PlanChunk): Promise<boolean> => {
      const status = await scripts.applyEpochChunk({
        appliedSetKey: appliedKey,
        chunkKey: keys.epochPlanChunk(market, epochId, plan.planId, i),
        chunk: i,
        chunkCount: plan.chunkCount,
        guardKey: keys.epochBatchesStored(market, epochId),
        summary: JSON.stringify(plan.summary),
        guardTtlSeconds: keys.GUARD_TTL_SECONDS,
        batchCountKey: keys.batchCount(market, epochId),
        batchCount: plan.summary.batchCount,
        batchCountTtlSeconds: keys.BATCH_COUNT_TTL_SECONDS,
        firstBatch: chunk.firstBatch,
        batchKeys: Array.from({ length: chunk.batchCount }, (_, j) => keys.batchSubmissions(market, epochId, chunk.firstBatch + j)),
        batchTtlSeconds: keys.BATCH_SUBMISSIONS_TTL_SECONDS,
        slotIncrements: chunk.slots.map(([slotId, by]) => ({ key: keys.slotSubmissions(market, plan.day, slotId), by })),
      });
      if (status === 'gone') throw planGone(epochId, i);
      return status === 'completed';
    };
    if (written) {
      const completed = await Promise.all(written.slice(0, -1).map((chunk, i) => apply(i, chunk)));
      Context.current().heartbeat();
      return (await apply(written.length - 1, written.at(-1)!)) || completed.includes(true);
    }
    const applied = new Set(await readingKey(appliedKey, redis.smembers(appliedKey)));
    let completedNow = false;
    for (let i = 0; i < plan.chunkCount; i++) {
      if (applied.has(String(i))) continue;
      const chunkKey = keys.epochPlanChunk(market, epochId, plan.planId, i);
      const json = await readingKey(chunkKey, redis.hget(chunkKey, 'plan'));
      // Applied chunks are deleted: a concurrent attempt may have applied this one since.
      if (json === null && (await redis.sismember(appliedKey, String(i)))) continue;
      if (json === null) throw planGone(epochId, i);
      if (await apply(i, JSON.parse(json) as PlanChunk)) completedNow = true;
      Context.current().heartbeat();
    }
    return completedNow;
  }

  /** The activity's result for a plan it applied (the rest of), with the metric when it completed the epoch. */
  function resultOf(market: string, plan: EpochPlan, completedNow: boolean, started: number): PreparedBatches & { window?: EpochWindow } {
    if (completedNow) deps.metrics?.epochPrepared(market, { submissions: plan.summary.submissionCount, malformedKeys: plan.summary.malformedCount, seconds: (performance.now() - started) / 1000 });
    return { ...plan.summary, storedNow: completedNow };
  }

  /**
   * Writes each chunk of a plan (its PlanChunk and its batches) as a hash of its own, one
   * pipeline per chunk: each HSET at most one chunk's bytes. The chunks expire like the batches.
   */
  async function writeChunks(market: string, epochId: string, planId: string, chunks: readonly PlanChunk[], batches: readonly string[]): Promise<void> {
    for (const [i, chunk] of chunks.entries()) {
      const key = keys.epochPlanChunk(market, epochId, planId, i);
      const fields = ['plan', JSON.stringify(chunk)];
      for (let id = chunk.firstBatch; id < chunk.firstBatch + chunk.batchCount; id++) fields.push(String(id), batches[id - 1]!);
      for (const [err] of (await redis.pipeline().hset(key, ...fields).expire(key, keys.BATCH_SUBMISSIONS_TTL_SECONDS).exec()) ?? []) if (err) throw err;
    }
  }

  /**
   * Drafts an epoch: collects the submission keys filed under `hashes`, arranges the batches and
   * slot increments, and writes them as plan chunks under a new plan id (nothing a neighbour
   * reads, nothing committed). The malformed keys are logged when the draft is committed.
   */
  async function draftEpoch(input: { market: string; epochId: string }, hashes: readonly string[]): Promise<EpochDraft> {
    const market = input.market.toLowerCase();
    const { union, sizes } = await collectSubmissionKeys(market, input.epochId, hashes);
    const valid: SubmissionKey[] = [];
    const malformed: Array<{ key: string; reason: string }> = [];
    let malformedCount = 0;
    const parse = submissionKeyParser(market, input.epochId);
    for (const key of union) {
      const parsed = parse(key);
      if (parsed.ok) valid.push(parsed.value);
      else if (++malformedCount <= MALFORMED_LOG_LIMIT) malformed.push({ key, reason: parsed.reason });
    }
    const batches = arrangeBatches(valid, deps.batchSize).map(serializeBatch);
    const chunks = planChunks(batches.map((b) => Buffer.byteLength(b)), [...countBySlot(valid)], limits.chunk);
    const planId = randomBytes(8).toString('hex');
    await writeChunks(market, input.epochId, planId, chunks, batches);
    return { planId, chunks, counts: { batchCount: batches.length, submissionCount: valid.length, malformedCount }, malformed, hashes, sizes };
  }

  /**
   * Whether `draft` is what a collection over `hashes` would find now: every block it read is
   * still in the window and its header set has the size it had, and no other block of the window
   * has a submission. Header sets only grow (the dequeuer SADDs; they expire whole), so a set of
   * the same size holds the same members.
   */
  async function draftHolds(market: string, epochId: string, draft: EpochDraft, hashes: readonly string[]): Promise<boolean> {
    if (draft.hashes.some((hash) => !hashes.includes(hash))) return false;
    const drafted = new Map(draft.hashes.map((hash, i) => [hash, draft.sizes[i]!]));
    const sizes = await headerSetSizes(hashes.map((hash) => keys.snapshotCollector(market.toLowerCase(), epochId, hash)));
    return hashes.every((hash, i) => sizes[i] === (drafted.get(hash) ?? 0));
  }

  /** Deletes a draft's chunks (a draft that was not committed). */
  async function discardDraft(market: string, epochId: string, draft: EpochDraft): Promise<void> {
    const pipeline = redis.pipeline();
    for (let i = 0; i < draft.chunks.length; i++) pipeline.del(keys.epochPlanChunk(market.toLowerCase(), epochId, draft.planId, i));
    await pipeline.exec();
  }

  /**
   * Stores a draft of `day`: commits its plan with one SET NX of its header, and applies it chunk
   * by chunk. If another attempt committed first, this draft is discarded and that plan is applied
   * instead: what is stored is what the first committed plan says, whatever a later collection
   * finds. `started` (performance.now()) starts the preparation metric.
   */
  async function commitEpoch(input: { market: string; epochId: string; day: string }, draft: EpochDraft, window: EpochWindow | undefined, started: number): Promise<PreparedBatches & { window?: EpochWindow }> {
    const market = input.market.toLowerCase();
    for (const { key, reason } of draft.malformed) log.warn('malformed submission key skipped', { market, epochId: input.epochId, key, reason });
    if (draft.counts.malformedCount > MALFORMED_LOG_LIMIT) log.warn('more malformed submission keys skipped', { market, epochId: input.epochId, count: draft.counts.malformedCount - MALFORMED_LOG_LIMIT });
    const plan: EpochPlan = { planId: draft.planId, day: input.day, chunkCount: draft.chunks.length, summary: { ...draft.counts, ...(window ? { window } : {}) } };
    const planKey = keys.epochPlan(market, input.epochId);
    const earlier = await readingKey(planKey, redis.set(planKey, JSON.stringify(plan), 'EX', keys.GUARD_TTL_SECONDS, 'NX', 'GET'));
    if (earlier === null) return resultOf(input.market, plan, await applyPlan(market, input.epochId, plan, draft.chunks), started);
    // Another attempt committed its plan first (both ran concurrently): its plan stands.
    await discardDraft(market, input.epochId, draft);
    const committed = JSON.parse(earlier) as EpochPlan;
    return resultOf(input.market, committed, await applyPlan(market, input.epochId, committed), started);
  }

  /** Drafts and commits an epoch: see draftEpoch and commitEpoch. */
  async function storeEpoch(input: { market: string; epochId: string; day: string }, hashes: readonly string[], window?: EpochWindow): Promise<PreparedBatches & { window?: EpochWindow }> {
    const started = performance.now();
    return commitEpoch(input, await draftEpoch(input, hashes), window, started);
  }

  /**
   * What earlier attempts left of the epoch: its result if it is stored; else, if a plan was
   * committed, the result of applying the rest of that plan now; else null (nothing was written
   * that a neighbour reads, nor any plan).
   */
  async function earlierAttempt(inputMarket: string, epochId: string): Promise<(PreparedBatches & { window?: EpochWindow }) | null> {
    const market = inputMarket.toLowerCase();
    const started = performance.now();
    const guardKey = keys.epochBatchesStored(market, epochId);
    const planKey = keys.epochPlan(market, epochId);
    const [stored, planned] = await Promise.all([readingKey(guardKey, redis.get(guardKey)), readingKey(planKey, redis.get(planKey))]);
    if (stored !== null) return { ...(JSON.parse(stored) as EpochSummary), storedNow: false };
    if (planned === null) return null;
    const plan = JSON.parse(planned) as EpochPlan;
    return resultOf(inputMarket, plan, await applyPlan(market, epochId, plan), started);
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
      const earlier = await earlierAttempt(input.market, input.epochId);
      if (earlier !== null) return { kind: 'prepared', window: earlier.window!, ...earlier };
      const ctx = Context.current();
      // No block can close the window before its end + 1 s: that last second is spent drafting
      // the epoch from the blocks so far, and at the close the draft is committed if the
      // window's header sets still hold what it read (else it is discarded and the epoch
      // collected again), so that windows closing together are not collected one after another
      // after the close.
      let drafting: Promise<EpochDraft | null> | undefined;
      const discard = async () => {
        const draft = await drafting;
        if (draft) await discardDraft(input.market, input.epochId, draft).catch((err: unknown) => log.debug('draft not deleted: its chunks expire', { epochId: input.epochId, error: String(err) }));
      };
      let closed: ClosedWindow;
      try {
        closed = await closeWindow(chain, deps.heads ?? chain, deps.range, deps.window, input, {
          signal: ctx.cancellationSignal,
          heartbeat: () => ctx.heartbeat(),
          sleep: (ms) => ctx.sleep(ms),
          scheduledAtMs: ctx.info.scheduledTimestampMs,
          stillOpen: (hashes) => {
            // A failed draft is no failure of the epoch: it is collected after the close, where a lasting fault fails it.
            drafting ??= draftEpoch(input, hashes).catch((err: unknown) => {
              log.debug('epoch not drafted before its window closed', { market: input.market, epochId: input.epochId, error: String(err) });
              return null;
            });
          },
        });
      } catch (err) {
        await discard();
        throw err;
      }
      if (closed.kind !== 'closed') {
        await discard();
        log.warn(closed.kind === 'orphaned' ? 'the release of the epoch left the chain: nothing is batched' : 'the release of the epoch moved to another block: its window starts there', {
          market: input.market,
          epochId: input.epochId,
          releaseBlock: input.release.blockNumber,
          ...(closed.kind === 'orphaned' ? { detail: closed.detail } : { newReleaseBlock: closed.release.blockNumber }),
        });
        return closed;
      }
      ctx.heartbeat();
      const closedAt = performance.now();
      const draft = await drafting;
      let holds = false;
      try {
        holds = draft !== null && draft !== undefined && (await draftHolds(input.market, input.epochId, draft, closed.hashes));
      } finally {
        if (!holds) await discard();
      }
      log.debug('epoch window closed', { market: input.market, epochId: input.epochId, draft: drafting === undefined ? 'none' : draft === null ? 'failed' : holds ? 'committed' : 'stale' });
      const prepared = holds ? await commitEpoch(input, draft!, closed.window, closedAt) : await storeEpoch(input, closed.hashes, closed.window);
      return { kind: 'prepared', window: prepared.window ?? closed.window, ...prepared };
    },

    /**
     * The path of batch preparations started before 0.3.0 (still in flight at an upgrade): the
     * canonical hashes of blocks `fromBlock..toBlock`, then the same store.
     */
    async prepareBatches(input: PrepareBatchesInput): Promise<PreparedBatches> {
      const earlier = await earlierAttempt(input.market, input.epochId);
      if (earlier !== null) return earlier;
      const hashes = await canonicalHashes(input.fromBlock, input.toBlock);
      Context.current().heartbeat();
      return storeEpoch(input, hashes);
    },

    /**
     * LPUSHes one finalizer message per batch in BatchID order, each exactly once: scripts of about
     * `pushBytes` of batches each (sized by STRLEN), sent together, each pushing only once the
     * batch before its own was pushed (so a retry or a lost script never leaves a gap pushed
     * past); then logs the epoch's one info
     * line, `epoch batched`: market, epochId, batches, submissions, pushedNow (0 on a rerun after
     * the pushes), latencyMs (from the release block's timestamp to the last push; absent for
     * epochs started before 0.5.0). A batch gone from Redis before it was pushed fails the push
     * (BatchesMissing, not retried), with nothing pushed from its script's batches on.
     */
    async pushBatchesToFinalizer(input: BatchSubmissionInput): Promise<{ pushedNow: number }> {
      const market = input.market.toLowerCase();
      const guardKey = keys.finalizerPushed(market, input.epochId);
      let pushedNow = 0;
      for (let first = 1; first <= input.batchCount; first += CHUNK) {
        const batches = Array.from({ length: Math.min(CHUNK, input.batchCount - first + 1) }, (_, i) => first + i).map((batchId) => ({
          key: keys.batchSubmissions(market, input.epochId, batchId),
          member: String(batchId),
          ...finalizerMessageFrame(input.market, input.epochId, batchId),
        }));
        const sizes = await batchSizes(batches.map((b) => b.key));
        // All of this slice's scripts in one round trip: each pushes only once the one before it has.
        const ranges = planPushes(sizes, limits.pushBytes, BATCHES_PER_PUSH);
        // Each script names the batch before its first (BatchID first + start - 1; none before batch 1).
        const done = await Promise.all(ranges.map(([start, end]) => scripts.pushBatchRange(guardKey, keys.finalizerQueue, keys.GUARD_TTL_SECONDS, first + start === 1 ? '' : String(first + start - 1), batches.slice(start, end))));
        const missing = done.flatMap((d) => ('missing' in d ? d.missing : []));
        // Expired batches can only be ones already pushed, unless the epoch sat for a day.
        if (missing.length > 0) throw ApplicationFailure.nonRetryable(`batches ${missing.join(', ')} of epoch ${input.epochId} are gone from Redis`, 'BatchesMissing');
        if (done.some((d) => 'blocked' in d)) throw new Error(`a push script of epoch ${input.epochId} found the batch before it not pushed`);
        for (const d of done) if ('pushed' in d) pushedNow += d.pushed;
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
