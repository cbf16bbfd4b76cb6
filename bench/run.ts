/**
 * `npm run bench`: speed and memory of the hot paths on real services (redis-server, a Hardhat
 * node), printed side by side. Nothing here is asserted: tests check behaviour, this measures.
 *
 * 1. Batch preparation of one epoch with 10k and 100k submissions over 20 headers: seqflow's
 *    prepareBatches (pipelined reads, one atomic Lua write) against the upstream pattern (one
 *    SMEMBERS per header, one INCR per key, one SET per batch, each a round trip).
 * 2. Finalizer pushes of those batches (exactly-once Lua) against one LPUSH per batch.
 * 3. The chain follower catching up over 100k blocks: blocks/s and RPC requests.
 */
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { createBatchActivities } from '../src/activities/batches.js';
import { createChainActivities } from '../src/activities/chain.js';
import { ChainClient } from '../src/chain/rpc.js';
import * as keys from '../src/domain/keys.js';
import type { ChainCursor } from '../src/domain/types.js';
import { runActivity } from '../test/support/activity-env.js';
import { deployTestContracts, repairReservedParents, startHardhatNode } from '../test/support/chain.js';
import { startRedis } from '../test/support/redis.js';

const HEADERS = 20;
const PROJECTS_PER_SLOT_SET = 10;
const BATCH_SIZE = 50;

interface Row {
  case: string;
  ms: number;
  /** Redis commands the server processed, or RPC HTTP requests for the follower. */
  requests?: number;
  /** Heap growth at its highest during the case (sampled every 20 ms), and after it (after a GC). */
  heapPeakMiB?: number;
  heapRetainedMiB?: number;
  note?: string;
}
const rows: Row[] = [];

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/** Commands redis-server processed so far (INFO counts the INFO call itself too). */
async function redisCommands(redis: Redis): Promise<number> {
  const info = await redis.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)![1]);
}

async function measure(name: string, fn: () => Promise<{ requests?: number; note?: string } | void>): Promise<void> {
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let heapPeak = heapBefore;
  const sampler = setInterval(() => (heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)), 20);
  const t0 = performance.now();
  const extra = (await fn()) ?? {};
  const ms = Math.round(performance.now() - t0);
  clearInterval(sampler);
  global.gc?.();
  const retained = Math.max(0, process.memoryUsage().heapUsed - heapBefore);
  rows.push({ case: name, ms, heapPeakMiB: mib(heapPeak - heapBefore), heapRetainedMiB: mib(retained), ...extra });
}

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

const [redis, node] = await Promise.all([startRedis(), startHardhatNode({ intervalMs: 0 })]);
try {
  const testChain = await deployTestContracts(node.url, 1);
  await testChain.provider.send('evm_setIntervalMining', [0]);
  const market = testChain.markets[0]!;
  const chain = new ChainClient([node.url]);
  const batches = createBatchActivities({ chain, redis: redis.client, batchSize: BATCH_SIZE });

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
    await measure(`prepareBatches, ${n / 1000}k submissions`, () =>
      commandsDuring(async () => {
        const result = await runActivity(batches.prepareBatches, { market, epochId, fromBlock: firstBlock, toBlock: firstBlock + HEADERS - 1, day: '1' });
        batchCount = result.batchCount;
        return `${result.submissionCount} keys, ${result.batchCount} batches`;
      }),
    );
    await measure(`pushBatchesToFinalizer, ${n / 1000}k submissions`, () =>
      commandsDuring(async () => `${(await runActivity(batches.pushBatchesToFinalizer, { market, epochId, batchCount })).pushedNow} messages`),
    );
    await measure(`upstream pattern (prepare + push), ${n / 1000}k submissions`, () =>
      commandsDuring(async () => `${await upstreamPattern(redis.client, m, epochId, firstBlock)} round trips`),
    );
  }

  // Catch-up: 100k empty blocks around a few releases, followed in LOG_RANGE_BLOCKS ranges.
  const BLOCKS = 100_000;
  let rpcRequests = 0;
  const counted = new ChainClient([node.url]);
  repairReservedParents(counted);
  for (const method of ['blockNumber', 'headersOf', 'logs'] as const) {
    const original = counted[method].bind(counted) as (...args: never[]) => Promise<unknown>;
    (counted as unknown as Record<string, unknown>)[method] = (...args: never[]) => {
      rpcRequests += method === 'headersOf' ? Math.ceil((args[0] as unknown as number[]).length / 500) : 1;
      return original(...args);
    };
  }
  const follower = createChainActivities({ chain: counted, redis: redis.client, protocolStateContract: testChain.protocolStateAddress, confirmations: 2, logRangeBlocks: 2000, pollIntervalMs: 100,
    followSnapshotBatches: false, rewards: { batchSize: 50, epochInterval: 10, pastDaysBuffer: 5, concurrentUpdates: 10, dayTransitionBufferEpochs: 5 } });
  let cursor: ChainCursor = { nextBlock: (await testChain.blockNumber()) + 1, parentHash: null };
  await testChain.releaseEpoch(market);
  await testChain.mine(BLOCKS);
  await testChain.releaseEpoch(market);
  await testChain.mine(2);
  const target = (await testChain.blockNumber()) - 2;
  await measure(`followChain catch-up, ${BLOCKS / 1000}k blocks (LOG_RANGE_BLOCKS 2000)`, async () => {
    const first = cursor.nextBlock;
    let events = 0;
    while (cursor.nextBlock <= target) {
      const result = await runActivity(follower.followChain, { market, cursor, maxWaitMs: 60_000 });
      events += result.events.length;
      cursor = result.cursor;
    }
    const blocks = cursor.nextBlock - first;
    return { requests: rpcRequests, note: `${blocks} blocks, ${events} epochs, ${Math.round((rpcRequests / blocks) * 1000 * 10) / 10} RPC requests per 1000 blocks` };
  });
  rows.push({ case: 'worker-side RSS at the end', ms: 0, note: `${mib(process.memoryUsage().rss)} MiB` });
  chain.destroy();
  counted.destroy();
  testChain.provider.destroy();
} finally {
  await Promise.all([redis.stop(), node.stop()]);
}

console.log('\nseqflow bench (redis-server and a Hardhat node on loopback)\n');
console.table(
  rows.map((r) => ({
    case: r.case,
    'time ms': r.ms || '',
    'Redis cmds / RPC reqs': r.requests ?? '',
    'heap peak MiB': r.heapPeakMiB ?? '',
    'heap kept MiB': r.heapRetainedMiB ?? '',
    note: r.note ?? '',
  })),
);
