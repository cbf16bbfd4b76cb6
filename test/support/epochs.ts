/** Waiting on and reading what seqflow did for an epoch, from Temporal and Redis. */
import type { Client } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type { EpochOutcome } from '../../src/domain/types.js';
import { batchPreparationWorkflowId, statusQuery, marketWorkflowId, type MarketStatus } from '../../src/workflows/definitions.js';
import { waitFor } from './process.js';

/** Waits until the epoch's batch preparation exists and completes; returns its outcome. */
export async function epochOutcome(client: Client, market: string, epochId: number | string, timeoutMs = 90_000): Promise<EpochOutcome> {
  const handle = client.workflow.getHandle(batchPreparationWorkflowId(market, String(epochId)));
  await waitFor(`batch preparation of epoch ${epochId} of ${market}`, () => handle.describe().then(() => true), timeoutMs);
  return (await handle.result()) as EpochOutcome;
}

export function marketStatus(client: Client, market: string): Promise<MarketStatus> {
  return client.workflow.getHandle(marketWorkflowId(market)).query(statusQuery);
}

/** Finalizer messages in the order the finalizer will BRPOP them (the list is LPUSHed). */
export async function finalizerMessages(redis: Redis): Promise<string[]> {
  return (await redis.lrange('finalizerQueue', 0, -1)).reverse();
}
