/**
 * Reward updates run as their own workflows, apart from batch preparation: a relayer or Redis
 * failure here retries on its own and never delays an epoch's batches. Each chunk is an
 * activity of its own, retried on its own, at most CONCURRENT_SUBMISSION_COUNT_UPDATES at once.
 */
import { runLimited } from '../domain/concurrency.js';
import type { PreparedRewardUpdate, RewardUpdateInput } from '../domain/types.js';
import { findPastDaysToCatchUp, prepareRewardUpdate, sendRewardChunk } from './activity-stubs.js';
import { showSendOutcome } from './search-attributes.js';

async function sendRewardUpdate(input: RewardUpdateInput): Promise<PreparedRewardUpdate> {
  const prepared = await prepareRewardUpdate(input);
  await runLimited(prepared.chunkCount, prepared.concurrency, async (chunk) => {
    await sendRewardChunk({ market: input.market, day: input.day, updateId: prepared.updateId, chunk });
  });
  return prepared;
}

/** The day's final update: eligible slots, their counts, and the number of eligible nodes. */
export async function finalRewardsWorkflow(input: { market: string; day: string }): Promise<PreparedRewardUpdate> {
  return showSendOutcome(() => sendRewardUpdate({ ...input, kind: 'final' }));
}

/**
 * At every REWARDS_UPDATE_EPOCH_INTERVAL-th epoch: today's counts (eligibleNodes 0), then the
 * eligible-node count of past days the chain still has at 0.
 */
export async function periodicRewardsWorkflow(input: {
  market: string;
  day: string;
  epochId: string;
  /** The previous day's final update is still to come: leave that day to it. */
  skipPreviousDay: boolean;
}): Promise<{ periodic: PreparedRewardUpdate; pastDays: PreparedRewardUpdate[] }> {
  return showSendOutcome(async () => {
    const periodic = await sendRewardUpdate({ market: input.market, day: input.day, kind: 'periodic', epochId: input.epochId });
    const pastDays: PreparedRewardUpdate[] = [];
    for (const day of await findPastDaysToCatchUp({ market: input.market, day: input.day, skipPreviousDay: input.skipPreviousDay })) {
      pastDays.push(await sendRewardUpdate({ market: input.market, day, kind: 'pastDay' }));
    }
    return { periodic, pastDays };
  });
}
