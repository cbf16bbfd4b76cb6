/**
 * Redis key names, exactly as the upstream collector and its neighbours spell them.
 *
 * Convention (upstream-collector.md §9): `market` below is the data market address in
 * lower case unless the parameter is called `checksumMarket`. Hash fields that name a
 * market use the EIP-55 checksum form.
 */

export const finalizerQueue = 'finalizerQueue';
export const submissionLimitTable = 'SubmissionLimitTable';

export const blockHashByNumber = (blockNumber: number) => `BlockHashByNumberKey.${blockNumber}`;

export const snapshotCollector = (market: string, epochId: string, header: string) =>
  `SnapshotCollector.${market}.${epochId}.${header}`;

export const currentDay = (market: string) => `CurrentDayKey.${market}`;

export const slotSubmissions = (market: string, day: string, slotId: string) =>
  `SlotSubmissionsKey.${market}.${day}.${slotId}`;

export const batchCount = (market: string, epochId: string) => `BatchCountKey.${market}.${epochId}`;

export const batchSubmissions = (market: string, epochId: string, batchId: number) =>
  `BatchSubmissionsKey.${market}.${epochId}.${batchId}`;

// seqflow's own guard keys: they make each effect of an epoch happen once however often an
// activity runs. No neighbour reads them.

/** Set once, atomically with the slot counts and batches, when an epoch's batches are stored. */
export const epochBatchesStored = (market: string, epochId: string) =>
  `seqflow:EpochBatchesStored.${market}.${epochId}`;

/** Set of the BatchIDs of an epoch already pushed to the finalizer queue. */
export const finalizerPushed = (market: string, epochId: string) =>
  `seqflow:FinalizerPushed.${market}.${epochId}`;

/** Set after the relayer accepted an epoch's batch size. */
export const batchSizeSent = (market: string, epochId: string) =>
  `seqflow:BatchSizeSent.${market}.${epochId}`;

export const BLOCK_HASH_TTL_SECONDS = 30 * 60;
export const BATCH_COUNT_TTL_SECONDS = 24 * 60 * 60;
/**
 * Upstream keeps batch contents for 5 minutes and nobody reads them; seqflow pushes the
 * finalizer messages from them, so they must outlive a relayer outage: 24 h, like the count.
 */
export const BATCH_SUBMISSIONS_TTL_SECONDS = 24 * 60 * 60;
/** Guards live longer than anything that could replay an epoch (Temporal retention, retries). */
export const GUARD_TTL_SECONDS = 7 * 24 * 60 * 60;
