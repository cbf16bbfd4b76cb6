/**
 * Batch preparation of one epoch with 10k and 100k submissions over 20 headers: seqflow's
 * prepareBatches (pipelined reads, atomic Lua writes) against the upstream pattern (one
 * SMEMBERS per header, one INCR per key, one SET per batch, each a round trip); and the
 * finalizer pushes of those batches (exactly-once Lua) against one LPUSH per batch.
 */
import type { Redis } from 'ioredis';
import { createBatchActivities } from '../src/activities/batches.js';
import { ChainClient } from '../src/chain/rpc.js';
import * as keys from '../src/domain/keys.js';
import { AdaptiveRange } from '../src/follower/range.js';
import { runActivity } from '../test/support/activity-env.js';
import { deployTestContracts, startHardhatNode } from '../test/support/chain.js';
import { startRedis } from '../test/support/redis.js';
import { redisCommands, type Report } from './report.js';

const HEADERS = 20;
const PROJECTS_PER_SLOT_SET = 10;
const BATCH_SIZE = 50;

/** Files `n` submission keys of `market` for `epochId`, spread over HEADERS block hashes. */
async function seedEpoch(redis: Redis, market: string, epochId: string, n: number, firstBlock: number): Promise<void> {
  const hashes = Array.from({ length: HEADERS }, (_, i) => `0x${(firstBlock + i).toString(16).padStart(64, '0')}`);
  const pipeline = redis.pipeline();
  hashes.forEach((hash, i) => pipeline.set(keys.blockHashByNumber(firstBlock + i), hash, 'EX', 3600));
  for (let i = 0; i < n; i++) {
    const project = `pairContract_trade_volume:0x${Math.floor(i / PROJECTS_PER_SLOT_SET).toString(16).padStart(40, '0')}:UNISWAPV2`;
    const key = `${market}.${epochId}.${project}.${(i % PROJECTS_PER_SLOT_SET) + 1}`;
    pipeline.sadd(keys.snapshotCollector(market, epochId, hashes[i % HEADERS]!), key);
  }
  await pipeline.exec();
}

/** The upstream collector's Redis traffic for one epoch, round trip by round trip (§5 and §6.1). */
async function upstreamPattern(redis: Redis, market: string, epochId: string, firstBlock: number): Promise<number> {
  let roundTrips = 0; // every await below is one
  const collected: string[] = [];
  for (let b = firstBlock; b < firstBlock + HEADERS; b++) {
    const hash = await redis.get(keys.blockHashByNumber(b));
    collected.push(...(await redis.smembers(keys.snapshotCollector(market, epochId, hash!))));
    roundTrips += 2;
  }
  const byProject = new Map<string, string[]>();
  for (const key of collected) {
    const [, , projectId, slotId] = key.split('.');
    await redis.incr(`upstream:SlotSubmissionsKey.${market}.1.${slotId}`);
    roundTrips++;
    byProject.set(projectId!, [...(byProject.get(projectId!) ?? []), key]);
  }
  const projects = [...byProject.keys()];
  let batchId = 0;
  for (let i = 0; i < projects.length; i += BATCH_SIZE) {
    const batch = Object.fromEntries(projects.slice(i, i + BATCH_SIZE).map((p) => [p, byProject.get(p)!]));
    await redis.set(`upstream:BatchSubmissionsKey.${market}.${epochId}.${++batchId}`, JSON.stringify(batch), 'EX', 300);
    await redis.lpush('upstream:finalizerQueue', JSON.stringify({ DataMarketAddress: market, EpochID: Number(epochId), BatchID: batchId, Batch: batch }));
    roundTrips += 2;
  }
  await redis.set(`upstream:BatchCountKey.${market}.${epochId}`, String(batchId), 'EX', 86400);
  return roundTrips + 1;
}

export async function benchBatches(report: Report): Promise<void> {
  const [redis, node] = await Promise.all([startRedis(), startHardhatNode({ intervalMs: 0 })]);
  try {
    const testChain = await deployTestContracts(node.url, 1);
    await testChain.provider.send('evm_setIntervalMining', [0]);
    const market = testChain.markets[0]!;
    const chain = new ChainClient([node.url]);
    const window = { contract: testChain.protocolStateAddress, confirmations: 2, maxReorgDepth: 64, closeWaitMs: 30_000, pollIntervalMs: 100 };
    const batches = createBatchActivities({ chain, redis: redis.client, batchSize: BATCH_SIZE, window, range: new AdaptiveRange(2000) });

    for (const [n, epochId] of [[10_000, '1'], [100_000, '2']] as const) {
      const m = market.toLowerCase();
      const firstBlock = 1_000_000 * Number(epochId);
      await seedEpoch(redis.client, m, epochId, n, firstBlock);
      let batchCount = 0;
      const commandsDuring = async (run: () => Promise<string>) => {
        const before = await redisCommands(redis.client);
        const note = await run();
        return { requests: (await redisCommands(redis.client)) - before - 1, note };
      };
      await report.measure(`prepareBatches, ${n / 1000}k submissions`, () =>
        commandsDuring(async () => {
          const result = await runActivity(batches.prepareBatches, { market, epochId, fromBlock: firstBlock, toBlock: firstBlock + HEADERS - 1, day: '1' });
          batchCount = result.batchCount;
          return `${result.submissionCount} keys, ${result.batchCount} batches`;
        }),
      );
      await report.measure(`pushBatchesToFinalizer, ${n / 1000}k submissions`, () =>
        commandsDuring(async () => `${(await runActivity(batches.pushBatchesToFinalizer, { market, epochId, batchCount })).pushedNow} messages`),
      );
      await report.measure(`upstream pattern (prepare + push), ${n / 1000}k submissions`, () =>
        commandsDuring(async () => `${await upstreamPattern(redis.client, m, epochId, firstBlock)} round trips`),
      );
    }
    testChain.provider.destroy();
  } finally {
    await Promise.all([redis.stop(), node.stop()]);
  }
}
