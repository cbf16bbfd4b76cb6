/**
 * The chain follower:
 * - catching up over a 100k-block backlog where 10 markets release epochs: blocks/s and HTTP
 *   requests per 1,000 blocks with 1 market and with 10 following through one worker's shared
 *   reader (target 2), and the upstream's access pattern over the same backlog (a header and a
 *   log request per block, 3 blocks in flight: target 7);
 * - following live, a chain making a block every 500 ms where the 10 markets release every 5 s,
 *   in one block (a releaser's epoch tick) or in 10 blocks one after the other: HTTP requests per
 *   1,000 blocks with 1 market and with 10 (target 2);
 * - decoding a real ~832 KB JSON-RPC batch answer through ethers' path and through ours (target 8);
 * - the end of a submission window on a chain making a block a second: seqflow's (the last
 *   block whose timestamp is at most the release block's plus the window) against the
 *   upstream's (the head when a timer started on processing the release runs out).
 */
import { performance } from 'node:perf_hooks';
import { toUtf8String } from 'ethers';
import { createChainActivities } from '../src/activities/chain.js';
import { ChainClient } from '../src/chain/rpc.js';
import { runLimited } from '../src/domain/concurrency.js';
import { eventId } from '../src/domain/events.js';
import type { ChainCursor, FollowChainResult } from '../src/domain/types.js';
import { AdaptiveRange } from '../src/follower/range.js';
import { RedisConnection } from '../src/services/redis.js';
import { startActivity } from '../test/support/activity-env.js';
import { deployTestContracts, startHardhatNode, type TestChain } from '../devstack/chain.js';
import { startRedis } from '../devstack/redis.js';
import { quantile, type Report } from './report.js';

const MARKETS = 10;
const BLOCKS = 100_000;
const RELEASE_ROUNDS = 20;
const LIVE_SECONDS = 45;
const LIVE_BLOCK_MS = 500;
/** The 10 markets release every this many blocks while following live (5 s). */
const LIVE_RELEASE_EVERY = 10;

/** HTTP requests and the JSON-RPC calls in them, sent to one URL through global fetch (seqflow's transport). */
class RequestCounter {
  http = 0;
  calls = 0;
  private readonly realFetch = globalThis.fetch;

  constructor(url: string) {
    const realFetch = this.realFetch;
    globalThis.fetch = async (input, init) => {
      if (String(input) === url) {
        this.http++;
        const body: unknown = JSON.parse(String(init?.body));
        this.calls += Array.isArray(body) ? body.length : 1;
      }
      return realFetch(input, init);
    };
  }

  snapshot(): { http: number; calls: number } {
    return { http: this.http, calls: this.calls };
  }

  stop(): void {
    globalThis.fetch = this.realFetch;
  }
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const perK = (n: number, blocks: number) => round2((n / blocks) * 1000);

/** Releases the next epoch of every market in one block (the releaser's epoch tick), automine paused. */
async function releaseAll(chain: TestChain): Promise<void> {
  const ps = chain.protocolState;
  await chain.provider.send('evm_setAutomine', [false]);
  try {
    for (const m of chain.markets) {
      const next = Number(await ps.getFunction('currentEpochId')(m)) + 1;
      await ps.getFunction('releaseEpoch')(m, next * 10, next * 10 + 9);
    }
    await chain.provider.send('evm_mine', []);
  } finally {
    await chain.provider.send('evm_setAutomine', [true]);
  }
}

/** The chain activities of one worker over `url` (one client, one shared reader). */
function workerActivities(url: string, contract: string, redis: RedisConnection, pollIntervalMs: number) {
  return createChainActivities({
    chain: new ChainClient([url]),
    redis: redis.client,
    redisStatus: redis,
    protocolStateContract: contract,
    follower: { confirmations: 2, maxReorgDepth: 64, pollIntervalMs, rescanDelayMs: 60_000, stallMs: 60_000, rejectionWindowMs: 60_000 },
    followSnapshotBatches: false,
    rewards: { batchSize: 50, epochInterval: 10, pastDaysBuffer: 5, concurrentUpdates: 10, dayTransitionBufferEpochs: 5 },
    range: new AdaptiveRange(2000),
  });
}

type Activities = ReturnType<typeof workerActivities>;

/** One market's loop as its workflow runs it (results acknowledged), until `done` says so. */
async function follow(acts: Activities, market: string, cursor: ChainCursor, done: (c: ChainCursor) => boolean, maxWaitMs: number, signal?: AbortSignal): Promise<{ events: number; calls: number }> {
  let last: FollowChainResult | undefined;
  let events = 0;
  let calls = 0;
  while (!done(cursor) && !signal?.aborted) {
    const ackEventIds = (last?.events ?? []).map((e) => eventId({ ...e, blockHash: e.blockHash! }));
    const run = startActivity(acts.followChain, [{ market, cursor, maxWaitMs, day: '1', ackEventIds }]);
    const cancel = () => run.env.cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      last = await run.result;
    } catch (err) {
      if (signal?.aborted) break;
      throw err;
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
    events += last.events.length;
    cursor = last.cursor;
    calls++;
  }
  return { events, calls };
}

/**
 * The upstream's catch-up (upstream-collector.md §3): one head read for the tick, then every
 * block from `from` to `to`, at most 3 in flight, each `eth_getBlockByNumber(n, true)` then
 * `eth_getLogs {blockHash, address}`. Through fetch and JSON.parse, like ours: what differs is
 * the access pattern.
 */
async function upstreamCatchUp(url: string, contract: string, from: number, to: number): Promise<{ requests: number; logs: number }> {
  let requests = 0;
  let logs = 0;
  const rpc = async (method: string, params: unknown[]) => {
    requests++;
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: requests, method, params }) });
    const answer = JSON.parse(await res.text()) as { result?: unknown; error?: { message: string } };
    if (answer.error) throw new Error(`${method}: ${answer.error.message}`);
    return answer.result;
  };
  await rpc('eth_getBlockByNumber', ['latest', false]);
  await runLimited(to - from + 1, 3, async (i) => {
    const block = (await rpc('eth_getBlockByNumber', [`0x${(from + i).toString(16)}`, true])) as { hash: string };
    logs += ((await rpc('eth_getLogs', [{ blockHash: block.hash, address: [contract] }])) as unknown[]).length;
  });
  return { requests, logs };
}

export async function benchFollower(report: Report): Promise<void> {
  const [redis, node] = await Promise.all([startRedis(), startHardhatNode({ intervalMs: 0 })]);
  const connection = new RedisConnection({ host: '127.0.0.1', port: redis.port, db: 0, password: undefined }, console);
  try {
    await connection.open();
    const testChain = await deployTestContracts(node.url, MARKETS);
    await testChain.provider.send('evm_setIntervalMining', [0]);
    // The backlog: 100k blocks, every market releasing together every 5,000 blocks. The near zone
    // (the last MAX_REORG_DEPTH blocks) is mined with evm_mine, so its blocks carry real parent
    // hashes (hardhat_mine's do not).
    const start: ChainCursor = { nextBlock: (await testChain.blockNumber()) + 1, parentHash: null };
    for (let i = 0; i < RELEASE_ROUNDS; i++) {
      await releaseAll(testChain);
      await testChain.mine(BLOCKS / RELEASE_ROUNDS);
    }
    await testChain.mineRegular(100);
    const target = (await testChain.blockNumber()) - 2;
    const blocks = target - start.nextBlock + 1;
    const counter = new RequestCounter(node.url);

    const catchUp: Record<number, { perK: number; blocksPerS: number }> = {};
    for (const markets of [1, MARKETS]) {
      await redis.client.flushdb();
      const acts = workerActivities(node.url, testChain.protocolStateAddress, connection, 100);
      await report.measure(`followChain catch-up, ${BLOCKS / 1000}k blocks, ${RELEASE_ROUNDS} releases per market, ${markets} market${markets > 1 ? 's' : ''} through one reader (LOG_RANGE_BLOCKS 2000, MAX_REORG_DEPTH 64)`, async () => {
        const before = counter.snapshot();
        const t0 = performance.now();
        // A call returns on events or at maxWaitMs; a short one ends the last call once caught up.
        const runs = await Promise.all(testChain.markets.slice(0, markets).map((m) => follow(acts, m, start, (c) => c.nextBlock > target, 200)));
        const seconds = (performance.now() - t0) / 1000;
        const http = counter.http - before.http;
        catchUp[markets] = { perK: perK(http, blocks), blocksPerS: Math.round(blocks / seconds) };
        const events = runs.reduce((n, r) => n + r.events, 0);
        return {
          requests: http,
          note: `${blocks} blocks, ${events} epochs in ${runs.reduce((n, r) => n + r.calls, 0)} activity calls: ${Math.round(blocks / seconds)} blocks/s; ${perK(http, blocks)} HTTP requests (${perK(counter.calls - before.calls, blocks)} JSON-RPC calls) per 1000 blocks`,
        };
      });
    }
    counter.stop();

    let upstream = { perK: 0, blocksPerS: 0 };
    await report.measure(`upstream access pattern, catch-up over the same ${BLOCKS / 1000}k blocks (a block and its logs per block, 3 in flight)`, async () => {
      const t0 = performance.now();
      const run = await upstreamCatchUp(node.url, testChain.protocolStateAddress, start.nextBlock, target);
      const seconds = (performance.now() - t0) / 1000;
      upstream = { perK: perK(run.requests, blocks), blocksPerS: Math.round(blocks / seconds) };
      return { requests: run.requests, note: `${blocks} blocks, ${run.logs} logs: ${upstream.blocksPerS} blocks/s; ${upstream.perK} HTTP requests (as many JSON-RPC calls) per 1000 blocks` };
    });
    report.target({ id: '7', name: 'catch-up RPC requests per 1,000 blocks', measured: catchUp[MARKETS]!.perK, bound: upstream.perK, unit: 'requests', kind: 'max', upstream: upstream.perK, note: `seqflow with ${MARKETS} markets through one reader (1 market: ${catchUp[1]!.perK}); upstream: its per-block pattern, which serves every market` });
    report.target({ id: '7', name: 'catch-up blocks/s', measured: catchUp[MARKETS]!.blocksPerS, bound: upstream.blocksPerS, unit: 'blocks/s', kind: 'min', upstream: upstream.blocksPerS, note: `seqflow with ${MARKETS} markets (1 market: ${catchUp[1]!.blocksPerS})` });

    await benchDecoding(report, node.url);
    testChain.provider.destroy();

    const together = await benchLive(report, connection, 'together');
    const apart = await benchLive(report, connection, 'apart');
    const ratios = {
      'catch-up': [catchUp[MARKETS]!.perK, catchUp[1]!.perK],
      'live, releases in one block': [together[MARKETS]!, together[1]!],
      'live, releases one block apart': [apart[MARKETS]!, apart[1]!],
    };
    const ratioOf = ([many, one]: number[]) => round2(many! / one!);
    report.target({
      id: '2',
      name: `RPC requests per 1,000 blocks, ${MARKETS} markets / 1 market`,
      measured: Math.max(...Object.values(ratios).map(ratioOf)),
      bound: 1.2,
      unit: '×',
      kind: 'max',
      note: `the highest of ${Object.entries(ratios).map(([name, r]) => `${name} ×${ratioOf(r)} (${r[0]} / ${r[1]})`).join(', ')}; HTTP requests per 1,000 blocks`,
    });
  } finally {
    connection.close();
    await Promise.all([redis.stop(), node.stop()]);
  }
  await benchWindowEnds(report);
}

/**
 * Following live: a chain making a block every 500 ms, the markets releasing every 5 s,
 * `together` in one block or `apart`, one block after the other; followed for LIVE_SECONDS by 1
 * market, then by all of them through one reader (a poll every 500 ms, as the upstream's
 * ticker). Returns HTTP requests per 1,000 blocks by markets.
 */
async function benchLive(report: Report, connection: RedisConnection, releases: 'together' | 'apart'): Promise<Record<number, number>> {
  const ticking = await startHardhatNode({ intervalMs: LIVE_BLOCK_MS });
  const perKBlocks: Record<number, number> = {};
  try {
    const live = await deployTestContracts(ticking.url, MARKETS);
    // Blocks only on the interval: transactions sent together land in one block.
    await live.provider.send('evm_setAutomine', [false]);
    const ps = live.protocolState;
    const counter = new RequestCounter(ticking.url);
    try {
      for (const markets of [1, MARKETS]) {
        const acts = workerActivities(ticking.url, live.protocolStateAddress, connection, LIVE_BLOCK_MS);
        await report.measure(`following live for ${LIVE_SECONDS} s, a block every ${LIVE_BLOCK_MS} ms, ${MARKETS} markets releasing every ${LIVE_RELEASE_EVERY} blocks ${releases === 'together' ? 'in one block' : 'one block apart'}; ${markets} market${markets > 1 ? 's' : ''} followed through one reader`, async () => {
          const head0 = await live.blockNumber();
          const cursor: ChainCursor = { nextBlock: head0 - 1, parentHash: null };
          const before = counter.snapshot();
          const stop = new AbortController();
          const followers = live.markets.slice(0, markets).map((m) => follow(acts, m, cursor, () => false, 30_000, stop.signal));
          // The releaser: every market's next epoch, sent together (landing in one block), or each once the one before is mined.
          let released = 0;
          const releaser = (async () => {
            let lastRelease = head0;
            while (!stop.signal.aborted) {
              const head = await live.blockNumber();
              if (head >= lastRelease + LIVE_RELEASE_EVERY) {
                lastRelease = head;
                const nexts = await Promise.all(live.markets.map(async (m) => Number(await ps.getFunction('currentEpochId')(m)) + 1));
                for (const [i, m] of live.markets.entries()) {
                  await ps.getFunction('releaseEpoch')(m, nexts[i]! * 10, nexts[i]! * 10 + 9);
                  if (releases === 'apart') for (const sent = await live.blockNumber(); (await live.blockNumber()) === sent; ) await new Promise((r) => setTimeout(r, 50));
                }
                released++;
              }
              await new Promise((r) => setTimeout(r, 100));
            }
          })();
          await new Promise((r) => setTimeout(r, LIVE_SECONDS * 1000));
          const blocks = (await live.blockNumber()) - head0;
          stop.abort();
          const runs = await Promise.all(followers);
          const http = counter.http - before.http;
          await releaser;
          perKBlocks[markets] = perK(http, blocks);
          return {
            requests: http,
            note: `${blocks} blocks, ${released} release rounds, ${runs.reduce((n, r) => n + r.events, 0)} epochs: ${perK(http, blocks)} HTTP requests (${perK(counter.calls - before.calls, blocks)} JSON-RPC calls) per 1000 blocks`,
          };
        });
        await new Promise((r) => setTimeout(r, 2 * LIVE_BLOCK_MS)); // the last release's receipts, before the next run
      }
    } finally {
      counter.stop();
      live.provider.destroy();
    }
  } finally {
    await ticking.stop();
  }
  return perKBlocks;
}

/**
 * Target 8: a real JSON-RPC batch answer of about 832 KB (headers from the Hardhat node),
 * decoded from bytes to text as ethers' FetchResponse does (`toUtf8String`, JavaScript) and as
 * src/chain/jsonrpc.ts does (`fetch`'s `Response.text()`, native), then JSON.parse'd.
 */
async function benchDecoding(report: Report, url: string): Promise<void> {
  const post = async (n: number, count: number) => {
    const body = Array.from({ length: count }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'eth_getBlockByNumber', params: [`0x${(n + i).toString(16)}`, false] }));
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return new Uint8Array(await res.arrayBuffer());
  };
  const TARGET_BYTES = 832 * 1024;
  const count = Math.round(TARGET_BYTES / (await post(1000, 10)).length) * 10;
  const bytes = await post(1000, count);
  const time = async (decode: (b: Uint8Array) => Promise<string> | string) => {
    const decodeMs: number[] = [];
    const parseMs: number[] = [];
    for (let i = 0; i < 25; i++) {
      const t0 = performance.now();
      const text = await decode(bytes);
      const t1 = performance.now();
      JSON.parse(text);
      const t2 = performance.now();
      if (i >= 5) {
        decodeMs.push(t1 - t0);
        parseMs.push(t2 - t1);
      }
    }
    const median = (xs: number[]) => round2(quantile([...xs].sort((a, b) => a - b), 0.5));
    return { decode: median(decodeMs), parse: median(parseMs) };
  };
  let ethers = { decode: 0, parse: 0 };
  let ours = { decode: 0, parse: 0 };
  await report.measure(`decoding a ${Math.round(bytes.length / 1024)} KB JSON-RPC batch answer (${count} eth_getBlockByNumber), median of 20`, async () => {
    ethers = await time((b) => toUtf8String(b));
    ours = await time((b) => new Response(b).text());
    return { note: `bytes to text: ethers' toUtf8String ${ethers.decode} ms, fetch's Response.text() (src/chain/jsonrpc.ts) ${ours.decode} ms; then JSON.parse ${ours.parse} ms either way` };
  });
  report.target({ id: '8', name: `decoding a ${Math.round(bytes.length / 1024)} KB JSON-RPC batch answer (bytes to text)`, measured: ours.decode, bound: 2, unit: 'ms', kind: 'max', upstream: ethers.decode, note: `upstream column: ethers' toUtf8String, the path the follower left; JSON.parse after it: ${ours.parse} ms` });
}

/** Window ends: a Hardhat node mining a block a second, like the anchor chain. */
async function benchWindowEnds(report: Report): Promise<void> {
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
}
