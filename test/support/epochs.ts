/** Waiting on and reading what seqflow did for an epoch, from Temporal and Redis. */
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type { EpochOutcome, OrphanedEpoch } from '../../src/domain/types.js';
import { batchPreparationWorkflowId, statusQuery, marketWorkflowId, type MarketStatus } from '../../src/workflows/definitions.js';
import { waitFor } from '../../devstack/process.js';

/** Waits until the epoch's batch preparation exists and completes; returns its outcome. */
export async function preparationResult(client: Client, market: string, epochId: number | string, timeoutMs = 90_000): Promise<EpochOutcome | OrphanedEpoch> {
  const handle = client.workflow.getHandle(batchPreparationWorkflowId(market, String(epochId)));
  await waitFor(`batch preparation of epoch ${epochId} of ${market}`, () => handle.describe().then(() => true), timeoutMs);
  return (await handle.result()) as EpochOutcome | OrphanedEpoch;
}

/** The outcome of an epoch that must have been batched (not orphaned). */
export async function epochOutcome(client: Client, market: string, epochId: number | string, timeoutMs = 90_000): Promise<EpochOutcome> {
  const result = await preparationResult(client, market, epochId, timeoutMs);
  assert.ok(!('orphaned' in result), `epoch ${epochId} of ${market} ended orphaned: ${JSON.stringify(result)}`);
  return result;
}

/**
 * The outcome without its window, after checking the window: it starts at the release block and
 * was closed by the first block past its end (a live run on a chain that makes blocks).
 */
export function windowChecked(outcome: EpochOutcome, releaseBlock: number): Omit<EpochOutcome, 'window'> {
  const { window, ...rest } = outcome;
  assert.ok(window, `epoch ${outcome.epochId} has no window`);
  assert.equal(window.fromBlock, releaseBlock, 'the window starts at the release block');
  assert.equal(window.closedBy, 'next-block');
  assert.ok(window.toBlock >= window.fromBlock, JSON.stringify(window));
  return rest;
}

export function marketStatus(client: Client, market: string): Promise<MarketStatus> {
  return client.workflow.getHandle(marketWorkflowId(market)).query(statusQuery);
}

/** Finalizer messages in the order the finalizer will BRPOP them (the list is LPUSHed). */
export async function finalizerMessages(redis: Redis): Promise<string[]> {
  return (await redis.lrange('finalizerQueue', 0, -1)).reverse();
}
