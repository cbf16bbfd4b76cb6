/**
 * The pure figures of the end-to-end sections (bench/epochs.ts, bench/workers.ts): how an epoch
 * and its workflows are named, latency spreads, the block that closes a window, a worker's RSS
 * when steady and its growth over a soak, rates scaled to a day, and the tally of what reached
 * the finalizer and the relayer against what the bench released.
 */
import { batchPreparationWorkflowId } from '../src/workflows/definitions.js';
import { quantile } from './report.js';
import { attributesOf, type HistoryEvent } from './temporal-cost.js';

/** `<market in lower case>/<epochId>`: how the bench names an epoch. */
export const epochKey = (market: string, epochId: string | number) => `${market.toLowerCase()}/${epochId}`;

/** An epoch's batch preparation ID (src/workflows/definitions.ts) as a pattern: market and epoch captured. */
const EPOCH_WORKFLOW_ID = new RegExp(
  `^${batchPreparationWorkflowId('\u0001', '\u0002')
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace('\u0001', '(0x[0-9a-fA-F]{40})')
    .replace('\u0002', '(\\d+)')}(?:/|$)`,
);

/** The epoch (as epochKey names it) a workflow ID belongs to: its batch preparation's ID, or any ID under it. */
export function epochOfWorkflow(workflowId: string): string | null {
  const match = EPOCH_WORKFLOW_ID.exec(workflowId);
  return match ? epochKey(match[1]!, match[2]!) : null;
}

/** p50, p99 and max of `n` values (ms, or any unit); all NaN when there are none. */
export interface Spread {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { n: 0, p50: NaN, p99: NaN, max: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.at(-1)! };
}

/** A block the bench mined: its number, its timestamp (chain time, s) and when its evm_mine was answered (wall clock, ms). */
export interface MinedBlock {
  number: number;
  timestamp: number;
  minedAtMs: number;
}

/**
 * The block that closes the window of an epoch released in `releaseBlock` (src/follower/window.ts):
 * the first block after it whose timestamp is greater than the release block's plus
 * `windowSeconds`. `blocks` ascending by number; undefined while no such block is mined, or if
 * the release block is not among them.
 */
export function closingBlock(blocks: readonly MinedBlock[], releaseBlock: number, windowSeconds: number): MinedBlock | undefined {
  const release = blocks.find((b) => b.number === releaseBlock);
  if (!release) return undefined;
  return blocks.find((b) => b.number > releaseBlock && b.timestamp > release.timestamp + windowSeconds);
}

/** The median of `values` (the lower one of an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  return values.length === 0 ? NaN : quantile([...values].sort((a, b) => a - b), 0.5);
}

/** RSS samples (bytes) after the first `warmup`: their median and max. */
export function steadyRss(samples: readonly number[], warmup: number): { median: number; max: number; samples: number } {
  const steady = samples.slice(warmup);
  return { median: median(steady), max: steady.length === 0 ? NaN : Math.max(...steady), samples: steady.length };
}

/** Of the samples after the first `warmup`, the median of the first quarter and of the last; NaN both with fewer than 4 such samples. */
export function rssQuarters(samples: readonly number[], warmup: number): { first: number; last: number } {
  const steady = samples.slice(warmup);
  if (steady.length < 4) return { first: NaN, last: NaN };
  const quarter = Math.floor(steady.length / 4);
  return { first: median(steady.slice(0, quarter)), last: median(steady.slice(-quarter)) };
}

/**
 * Growth of a soak's RSS, in percent: the last quarter's median against the first's (rssQuarters).
 * Medians at both ends, since a single sample sits anywhere in the GC's sawtooth: the first sample
 * after warm-up was 201–202 MiB in two soaks whose first-quarter medians were 218 and 230.
 */
export function rssGrowthPercent(samples: readonly number[], warmup: number): number {
  const { first, last } = rssQuarters(samples, warmup);
  return ((last - first) / first) * 100;
}

/** `count` things seen over `seconds`, scaled to a day. */
export function perDay(count: number, seconds: number): number {
  return (count / seconds) * 86_400;
}

/** What the bench found for one epoch it released, against what it filed. */
export interface EpochDelivery {
  /** Batches the filed submissions make (projects / BATCH_SIZE, rounded up). */
  expectedBatches: number;
  /** The BatchID of every finalizer message of the epoch, repeats included. */
  receivedBatchIds: readonly number[];
  /** Redis `BatchCountKey.<market>.<epochId>`, null if absent. */
  batchCountKey: string | null;
  /** The `batchSize` of every request for the epoch the relayer accepted. */
  relayerBatchSizes: readonly number[];
}

/** Epochs counted by what went wrong (an epoch can count under several). */
export interface DeliveryTally {
  epochs: number;
  /** A batch never reached the finalizer. */
  lost: number;
  /** A batch reached it twice, or a BatchID outside 1..expected came. */
  doubled: number;
  /** BatchCountKey differs from the expected count. */
  wrongCount: number;
  /** The relayer was never told the expected batch size, or told another one. */
  relayerWrong: number;
  /** The relayer was told the right size more than once (its effect is idempotent: not a double). */
  relayerRepeated: number;
}

export function tallyDeliveries(deliveries: readonly EpochDelivery[]): DeliveryTally {
  const tally: DeliveryTally = { epochs: deliveries.length, lost: 0, doubled: 0, wrongCount: 0, relayerWrong: 0, relayerRepeated: 0 };
  for (const d of deliveries) {
    const seen = new Map<number, number>();
    for (const id of d.receivedBatchIds) seen.set(id, (seen.get(id) ?? 0) + 1);
    if (Array.from({ length: d.expectedBatches }, (_, i) => i + 1).some((id) => !seen.has(id))) tally.lost++;
    if ([...seen].some(([id, times]) => times > 1 || id < 1 || id > d.expectedBatches)) tally.doubled++;
    if (d.batchCountKey !== String(d.expectedBatches)) tally.wrongCount++;
    if (d.relayerBatchSizes.length === 0 || d.relayerBatchSizes.some((size) => size !== d.expectedBatches)) tally.relayerWrong++;
    else if (d.relayerBatchSizes.length > 1) tally.relayerRepeated++;
  }
  return tally;
}

/** A tally in words, for a report's note. */
export const describeTally = (t: DeliveryTally) =>
  `batches missing for ${t.lost} epochs, doubled for ${t.doubled}; batch count wrong ${t.wrongCount}; relayer not told or told wrong ${t.relayerWrong}, told twice the same ${t.relayerRepeated}`;

/** When an epoch's run reached each step (wall clock ms, from its history's event times); null for a step not in it. */
export interface EpochSteps {
  /** The window's timer fired (TIMER_FIRED). */
  timerFired: number | null;
  /** prepareEpoch's last attempt started and its completion. */
  prepareStarted: number | null;
  prepareCompleted: number | null;
  /** submitEpoch's last attempt started and its completion. */
  submitStarted: number | null;
  submitCompleted: number | null;
}

/** The steps of one epoch run (an `epochWorkflow` history, events in Temporal's proto-JSON). */
export function epochSteps(events: readonly HistoryEvent[]): EpochSteps {
  const steps: EpochSteps = { timerFired: null, prepareStarted: null, prepareCompleted: null, submitStarted: null, submitCompleted: null };
  const at = (e: { eventTime?: string }) => (e.eventTime ? Date.parse(e.eventTime) : null);
  const activityBySchedule = new Map<string, string>();
  for (const e of events) {
    const attrs = attributesOf(e) as { activityType?: { name?: string }; scheduledEventId?: unknown };
    switch (e.eventType) {
      case 'EVENT_TYPE_TIMER_FIRED':
        steps.timerFired ??= at(e);
        break;
      case 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED':
        activityBySchedule.set(e.eventId, attrs.activityType?.name ?? '');
        break;
      case 'EVENT_TYPE_ACTIVITY_TASK_STARTED':
      case 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED': {
        const name = activityBySchedule.get(String(attrs.scheduledEventId));
        const started = e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_STARTED';
        // The last prepareEpoch (a rebased window runs it again) and the one submitEpoch.
        if (name === 'prepareEpoch') steps[started ? 'prepareStarted' : 'prepareCompleted'] = at(e);
        if (name === 'submitEpoch') steps[started ? 'submitStarted' : 'submitCompleted'] = at(e);
        break;
      }
    }
  }
  return steps;
}
