/**
 * The chain follower: catching up over a 100k-block backlog with sparse events (blocks/s and
 * RPC requests per 1,000 blocks, wide ranges far from the head and block by block near it);
 * and the end of a submission window on a chain making a block a second: seqflow's (the last
 * block whose timestamp is at most the release block's plus the window) against the
 * upstream's (the head when a timer started on processing the release runs out).
 */
import { performance } from 'node:perf_hooks';
import { createChainActivities } from '../src/activities/chain.js';
import { ChainClient } from '../src/chain/rpc.js';
import type { ChainCursor } from '../src/domain/types.js';
import { AdaptiveRange } from '../src/follower/range.js';
import { RedisConnection } from '../src/services/redis.js';
import { runActivity } from '../test/support/activity-env.js';
import { deployTestContracts, startHardhatNode } from '../test/support/chain.js';
import { startRedis } from '../test/support/redis.js';
import type { Report } from './report.js';

export async function benchFollower(report: Report): Promise<void> {
  const [redis, node] = await Promise.all([startRedis(), startHardhatNode({ intervalMs: 0 })]);
  try {
    const testChain = await deployTestContracts(node.url, 1);
    await testChain.provider.send('evm_setIntervalMining', [0]);
    const market = testChain.markets[0]!;
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
    await report.measure(`followChain catch-up, ${BLOCKS / 1000}k blocks, ${RELEASES} releases (LOG_RANGE_BLOCKS 2000, MAX_REORG_DEPTH 64)`, async () => {
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
      await report.measure(`window end vs the upstream timer, ${EPOCHS} epochs, ${WINDOW_SECONDS} s window, 1 s blocks`, async () => {
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
    testChain.provider.destroy();
  } finally {
    await Promise.all([redis.stop(), node.stop()]);
  }
}
