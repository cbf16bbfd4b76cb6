/**
 * `npm run bench`: speed and memory of the hot paths on real services (redis-server, a Hardhat
 * node), printed side by side. Nothing here is asserted: tests check behaviour, this measures.
 *
 * 1. Batch preparation of one epoch with 10k and 100k submissions over 20 headers: seqflow's
 *    prepareBatches (pipelined reads, one atomic Lua write) against the upstream pattern (one
 *    SMEMBERS per header, one INCR per key, one SET per batch, each a round trip).
 * 2. Finalizer pushes of those batches (exactly-once Lua) against one LPUSH per batch.
 * 3. The chain follower catching up over a 100k-block backlog with sparse events: blocks/s and
 *    RPC requests per 1,000 blocks, wide ranges far from the head and block by block near it.
 * 4. The end of a submission window on a chain making a block a second: seqflow's (the last
 *    block whose timestamp is at most the release block's plus the window) against the
 *    upstream's (the head when a timer started on processing the release runs out).
 */
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { createBatchActivities } from '../src/activities/batches.js';
import { createChainActivities } from '../src/activities/chain.js';
import { ChainClient } from '../src/chain/rpc.js';
import * as keys from '../src/domain/keys.js';
import { AdaptiveRange } from '../src/follower/range.js';
import type { ChainCursor } from '../src/domain/types.js';
import { RedisConnection } from '../src/services/redis.js';
import { runActivity } from '../test/support/activity-env.js';
import { deployTestContracts, startHardhatNode } from '../test/support/chain.js';
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

  // Catch-up: a 100k-block backlog with sparse releases. The near zone (the last MAX_REORG_DEPTH
  // blocks) is mined with evm_mine, so its blocks carry real parent hashes (hardhat_mine's do not).
  const BLOCKS = 100_000;
  const RELEASES = 20;
  const counts = { http: 0, calls: 0 };
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (url, init) => {
    if (String(url) === node.url) {
      counts.http++;
      const body: unknown = JSON.parse(String(init?.body));
      counts.calls += Array.isArray(body) ? body.length : 1;
    }
    return realFetch(url, init);
  };
  const connection = new RedisConnection({ host: '127.0.0.1', port: redis.port, db: 0, password: undefined }, console);
  await connection.open();
  const follower = createChainActivities({
    chain: new ChainClient([node.url]),
    redis: connection.client,
    redisStatus: connection,
    protocolStateContract: testChain.protocolStateAddress,
    follower: { confirmations: 2, maxReorgDepth: 64, pollIntervalMs: 100, rescanDelayMs: 60_000, stallMs: 60_000, rejectionWindowMs: 60_000 },
    followSnapshotBatches: false,
    rewards: { batchSize: 50, epochInterval: 10, pastDaysBuffer: 5, concurrentUpdates: 10, dayTransitionBufferEpochs: 5 },
    range: new AdaptiveRange(2000),
  });
  let cursor: ChainCursor = { nextBlock: (await testChain.blockNumber()) + 1, parentHash: null };
  for (let i = 0; i < RELEASES; i++) {
    await testChain.releaseEpoch(market);
    await testChain.mine(BLOCKS / RELEASES);
  }
  await testChain.mineRegular(100);
  const target = (await testChain.blockNumber()) - 2;
  await measure(`followChain catch-up, ${BLOCKS / 1000}k blocks, ${RELEASES} releases (LOG_RANGE_BLOCKS 2000, MAX_REORG_DEPTH 64)`, async () => {
    const first = cursor.nextBlock;
    let events = 0;
    let calls = 0;
    const before = { ...counts };
    const t0 = performance.now();
    // A call returns on events or at maxWaitMs; a short one ends the last call once caught up.
    while (cursor.nextBlock <= target) {
      const result = await runActivity(follower.followChain, { market, cursor, maxWaitMs: 200 });
      events += result.events.length;
      cursor = result.cursor;
      calls++;
    }
    const seconds = (performance.now() - t0) / 1000;
    const blocks = cursor.nextBlock - first;
    const http = counts.http - before.http;
    const perK = (n: number) => Math.round((n / blocks) * 1000 * 100) / 100;
    return {
      requests: http,
      note: `${blocks} blocks, ${events} epochs in ${calls} activity calls: ${Math.round(blocks / seconds)} blocks/s; ${perK(http)} HTTP requests (${perK(counts.calls - before.calls)} JSON-RPC calls) per 1000 blocks`,
    };
  });
  globalThis.fetch = realFetch;
  connection.close();
  // Window ends: a second Hardhat node mining a block a second, like the anchor chain.
  const WINDOW_SECONDS = 5;
  const EPOCHS = 6;
  const ticking = await startHardhatNode({ intervalMs: 1000 });
  try {
    const live = await deployTestContracts(ticking.url, 1);
    const rpc = (method: string, params: unknown[] = []) => live.provider.send(method, params);
    const blockAt = async (n: number) => (await rpc('eth_getBlockByNumber', [`0x${n.toString(16)}`, false])) as { timestamp: string } | null;
    const extra: number[] = [];
    const later: number[] = [];
    await measure(`window end vs the upstream timer, ${EPOCHS} epochs, ${WINDOW_SECONDS} s window, 1 s blocks`, async () => {
      for (let i = 0; i < EPOCHS; i++) {
        const head0 = await live.blockNumber();
        const rel = await live.releaseEpoch(live.markets[0]!);
        // Upstream: a 500 ms head poll; the timer starts once the poll has seen and processed the release block.
        let seenAt = Date.now();
        for (let head = head0; head < rel.blockNumber; head = await live.blockNumber()) {
          await new Promise((r) => setTimeout(r, 500));
          seenAt = Date.now();
        }
        await new Promise((r) => setTimeout(r, Math.max(0, seenAt + WINDOW_SECONDS * 1000 - Date.now())));
        const upstreamEnd = await live.blockNumber();
        // seqflow: the last block whose timestamp is at most the release block's plus the window.
        const end = Number((await blockAt(rel.blockNumber))!.timestamp) + WINDOW_SECONDS;
        let last = rel.blockNumber;
        while (Number((await blockAt(last + 1))?.timestamp ?? Infinity) <= end) last++;
        extra.push(upstreamEnd - last);
        later.push(Number((await blockAt(upstreamEnd))!.timestamp) - Number((await blockAt(last))!.timestamp));
      }
      const avg = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10;
      return { note: `upstream's window takes ${Math.min(...extra)}..${Math.max(...extra)} (avg ${avg(extra)}) blocks more, ending ${avg(later)} s later on chain time` };
    });
    live.provider.destroy();
  } finally {
    await ticking.stop();
  }
  rows.push({ case: 'worker-side RSS at the end', ms: 0, note: `${mib(process.memoryUsage().rss)} MiB` });
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
