/**
 * Batch activities for tests whose epochs' windows are blocks with stored hashes (as the follower
 * stores them, `keys.blockHashByNumber`), read through `prepareBatches`: no chain is asked, and
 * the chain client points at a port nothing listens on.
 */
import type { Redis } from 'ioredis';
import { createBatchActivities, type RedisWorkLimits } from '../../src/activities/batches.js';
import { ChainClient } from '../../src/chain/rpc.js';
import * as keys from '../../src/domain/keys.js';
import { AdaptiveRange } from '../../src/follower/range.js';

/** `count` made-up block hashes, one per block from `first` on (the number in hex, padded). */
export const madeUpHashes = (first: number, count: number): string[] => Array.from({ length: count }, (_, i) => '0x' + (first + i).toString(16).padStart(64, '0'));

/** Stores `hashes` as the canonical hashes of blocks `first`, `first + 1`, … */
export async function storeBlockHashes(redis: Redis, first: number, hashes: readonly string[]): Promise<void> {
  await redis.mset(hashes.flatMap((h, i) => [keys.blockHashByNumber(first + i), h]));
}

/** createBatchActivities on `redis` for `market`, with no chain to ask. */
export function batchActivitiesWithoutChain(redis: Redis, opts: { market: string; batchSize: number; limits?: RedisWorkLimits }) {
  return createBatchActivities({
    chain: new ChainClient(['http://127.0.0.1:9']),
    redis,
    batchSize: opts.batchSize,
    window: { contract: opts.market, confirmations: 2, maxReorgDepth: 64, closeWaitMs: 1000, pollIntervalMs: 100 },
    range: new AdaptiveRange(2000),
    ...(opts.limits ? { limits: opts.limits } : {}),
  });
}
