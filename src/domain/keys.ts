/**
 * Redis key names, exactly as the upstream collector and its neighbours spell them.
 *
 * Convention (upstream-collector.md §9): `market` below is the data market address in
 * lower case unless the parameter is called `checksumMarket`. Hash fields that name a
 * market use the EIP-55 checksum form.
 */

export const finalizerQueue = 'finalizerQueue';
export const attestorQueue = 'attestorQueue';
export const submissionLimitTable = 'SubmissionLimitTable';
export const daySizeTable = 'DaySizeTableKey';
export const dailySnapshotQuotaTable = 'DailySnapshotQuotaTableKey';
/** Written by the protocol-state-cacher; seqflow only reads it. */
export const totalNodesCount = 'TotalNodesCount';

export const blockHashByNumber = (blockNumber: number) => `BlockHashByNumberKey.${blockNumber}`;

export const snapshotCollector = (market: string, epochId: string, header: string) =>
  `SnapshotCollector.${market}.${epochId}.${header}`;

export const currentDay = (market: string) => `CurrentDayKey.${market}`;
export const lastKnownDay = (market: string) => `LastKnownDayKey.${market}`;
export const epochsInADay = (checksumMarket: string) => `ProtocolState.${checksumMarket}.EpochsInADay`;

/** Written by the finalizer: the slots that met the day's quota, and their eligible counts. */
export const eligibleNodeByDay = (market: string, day: string) => `EligibleNodeByDayKey.${market}.${day}`;
export const eligibleSlotSubmissions = (market: string, day: string, slotId: string) =>
  `EligibleSlotSubmissionsKey.${market}.${day}.${slotId}`;

/** Upstream's flag for a past day whose eligible-node count is 0 (alerted once a day). */
export const zeroCount = (market: string, day: string) => `ZeroCountKey.${market}.${day}`;

export const slotSubmissions = (market: string, day: string, slotId: string) =>
  `SlotSubmissionsKey.${market}.${day}.${slotId}`;

export const batchCount = (market: string, epochId: string) => `BatchCountKey.${market}.${epochId}`;

export const batchSubmissions = (market: string, epochId: string, batchId: number) =>
  `BatchSubmissionsKey.${market}.${epochId}.${batchId}`;

// seqflow's own guard keys: they make each effect of an epoch happen once however often an
// activity runs. No neighbour reads them.

/** Set once, by the script that applies the last chunk of the epoch's plan, with the batch count: the epoch's result (JSON). */
export const epochBatchesStored = (market: string, epochId: string) =>
  `seqflow:EpochBatchesStored.${market}.${epochId}`;

/**
 * The plan of an epoch's store, committed once (SET NX) after its chunks are written and before
 * any effect: JSON `{"planId","day","chunkCount","summary"}`, `summary` the epoch's result
 * (PreparedBatches without `storedNow`, with the window where prepareEpoch closed one). Every
 * later attempt acts on this plan, never on a collection of its own. Expires like the guards.
 */
export const epochPlan = (market: string, epochId: string) => `seqflow:EpochPlan.${market}.${epochId}`;

/**
 * Chunk `chunk` (0-based) of plan `planId`, a hash: field `plan` the PlanChunk JSON
 * (src/domain/submissions.ts), field `<BatchID>` each of its batches' JSON. Expires like the
 * batches (BATCH_SUBMISSIONS_TTL_SECONDS); deleted when applied, or when another plan won.
 */
export const epochPlanChunk = (market: string, epochId: string, planId: string, chunk: number) =>
  `seqflow:EpochPlanChunk.${market}.${epochId}.${planId}.${chunk}`;

/** Set of the chunk indexes of an epoch's plan already applied (each in the script that applied it); expires like the guards. */
export const epochChunksApplied = (market: string, epochId: string) => `seqflow:EpochChunksApplied.${market}.${epochId}`;

/** Set of the BatchIDs of an epoch already pushed to the finalizer queue. */
export const finalizerPushed = (market: string, epochId: string) =>
  `seqflow:FinalizerPushed.${market}.${epochId}`;

/** Set after the relayer accepted an epoch's batch size. */
export const batchSizeSent = (market: string, epochId: string) =>
  `seqflow:BatchSizeSent.${market}.${epochId}`;

/** The chunks of one reward update, frozen at its first preparation: hash chunk index → JSON. */
export const rewardUpdateChunks = (market: string, updateId: string) => `seqflow:RewardUpdate.${market}.${updateId}`;

/** Set of the chunk indexes of a reward update the relayer accepted. */
export const rewardChunksSent = (market: string, updateId: string) => `seqflow:RewardChunksSent.${market}.${updateId}`;

/** The market's marker, a string only seqflow writes, without a TTL: gone means Redis lost its data (restarted empty, flushed, evicted). */
export const redisMarker = (market: string) => `seqflow:DataMarker.${market}`;

/** The chain follower's canonical hashes of a market's recent blocks: sorted set, score = block number, member `<n>:<hash>`. */
export const followerCanonicalChain = (market: string) => `seqflow:CanonicalChain.${market}`;

/** Events the market acknowledged (sorted set, score = block number, member `<blockNumber>:<blockHash>:<logIndex>`), for the delayed re-scan. */
export const followerReportedEvents = (market: string) => `seqflow:ReportedEvents.${market}`;

/** Set of the batch CIDs of an epoch already pushed to the attestor queue. */
export const attestorPushed = (market: string, epochId: string) => `seqflow:AttestorPushed.${market}.${epochId}`;

export const BLOCK_HASH_TTL_SECONDS = 30 * 60;
/**
 * seqflow writes CurrentDayKey with this expiry whenever it learns the day (at start, on each
 * EpochReleased and DayStartedEvent): never without an expiry, rewritten at once on a day change,
 * and gone soon after seqflow stops, so that readers fall back to the contract's dayCounter.
 */
export const CURRENT_DAY_TTL_SECONDS = 10 * 60;
export const LAST_KNOWN_DAY_TTL_SECONDS = 7 * 24 * 60 * 60;
export const ZERO_COUNT_TTL_SECONDS = 24 * 60 * 60;
export const BATCH_COUNT_TTL_SECONDS = 24 * 60 * 60;
/**
 * Upstream keeps batch contents for 5 minutes and nobody reads them; seqflow pushes the
 * finalizer messages from them, so they must outlive a relayer outage: 24 h, like the count.
 */
export const BATCH_SUBMISSIONS_TTL_SECONDS = 24 * 60 * 60;
/** Guards live longer than anything that could replay an epoch (Temporal retention, retries). */
export const GUARD_TTL_SECONDS = 7 * 24 * 60 * 60;
