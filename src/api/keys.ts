/**
 * The Redis keys only the read API reads, spelled as their writers spell them
 * (upstream-collector.md §9, upstream pkgs/redis/keys.go; writers in neighbours.md §2.2, §2.5).
 * `market` is the data market address in lower case, as in src/domain/keys.ts, which has the
 * keys seqflow itself also uses (CurrentDayKey, SlotSubmissionsKey, BatchCountKey, …).
 */

/** Hash submission UUID → encoding/json of the submission (dequeuer, 30 min). */
export const epochSubmissions = (market: string, epochId: string) => `EpochSubmissionsKey.${market}.${epochId}`;

/** Hash slot ID → that slot's eligible submissions up to the epoch (finalizer). */
export const eligibleSlotSubmissionByEpoch = (market: string, day: string, epochId: string) => `EligibleSlotSubmissionByEpochKey.${market}.${day}.${epochId}`;

/** Hash project ID → JSON of the project's discarded submissions in the epoch (finalizer). */
export const discardedSubmissionsByEpoch = (market: string, day: string, epochId: string) => `DiscardedSubmissionKey.${market}.${day}.${epochId}`;

/** Hash slot ID → JSON of the slot's discarded submissions of the day, by project. */
export const discardedSubmissionsByDay = (market: string, day: string) => `DiscardedSubmissionKey.${market}.${day}`;

/** Unix seconds of the slot's last simulated submission (dequeuer). */
export const lastSimulatedSubmission = (market: string, slotId: string) => `LastSimulatedSubmissionKey.${market}.${slotId}`;

/** Unix seconds of the slot's last submission for a released epoch (dequeuer). */
export const lastSnapshotSubmission = (market: string, slotId: string) => `LastSnapshotSubmissionKey.${market}.${slotId}`;

/** The snapshotter node version the slot last submitted with (dequeuer). */
export const snapshotterNodeVersion = (market: string, slotId: string) => `snapshotter:${market}:${slotId}:node_version`;

/** Set of the slots that submitted for the epoch (dequeuer, 30 min). */
export const activeSnapshottersForEpoch = (market: string, epochId: string) => `ActiveSnapshottersForEpoch.${market}.${epochId}`;
