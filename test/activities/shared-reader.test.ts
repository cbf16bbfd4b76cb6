/**
 * Several markets following through one worker's shared ContractReader, on a real Hardhat node
 * behind the fault-injecting JSON-RPC proxy, with a real Redis: each market gets exactly its
 * events; the worker's HTTP requests do not grow with the markets; a reorg is seen by every
 * market; a refused answer is refused for every market that waited for it and kept for none;
 * the dayCounter checks of every market go out as one batch; a market stopped or added does
 * not disturb the others.
 *
 * Interval mining is off: the chain moves only when a test moves it. Releases of several
 * markets land in one block as the releaser's epoch tick makes them (automine paused).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { CancelledFailure } from '@temporalio/common';
import type { ethers } from 'ethers';
import { createChainActivities } from '../../src/activities/chain.js';
import { ChainClient } from '../../src/chain/rpc.js';
import { eventId } from '../../src/domain/events.js';
import * as keys from '../../src/domain/keys.js';
import type { ChainCursor, EpochReleased, FollowChainResult, MarketEvent } from '../../src/domain/types.js';
import { AdaptiveRange } from '../../src/follower/range.js';
import { RedisConnection } from '../../src/services/redis.js';
import { runActivity, startActivity } from '../support/activity-env.js';
import type { HardhatNode, TestChain } from '../../devstack/chain.js';
import type { RedisServer } from '../../devstack/redis.js';
import { startRpcProxy, type RpcProxy } from '../../devstack/rpc-proxy.js';
import { coversBlock, startProxiedChain, type ProxiedChain } from '../support/proxied-chain.js';

const CONFIRMATIONS = 2;
const MAX_REORG_DEPTH = 64;
const MARKETS = 4;

let stack: ProxiedChain | undefined;
let node: HardhatNode | undefined;
let redis: RedisServer | undefined;
let connection: RedisConnection | undefined;
let proxy: RpcProxy | undefined;
let testChain: TestChain;
let markets: string[];

type Release = { epochId: number; blockNumber: number; blockHash: string };

/**
 * The chain activities of one worker (one client, one shared reader), and the HTTP requests
 * its client made, by method (a batch named by its first call).
 */
function worker(opts: { pollIntervalMs?: number; rescanDelayMs?: number; rpcUrls?: string[] } = {}) {
  const requests: string[] = [];
  const observer = { rpcRequest: (_node: string, method: string) => void requests.push(method), rpcRejected: () => undefined };
  const activities = createChainActivities({
    chain: new ChainClient(opts.rpcUrls ?? [proxy!.url], { observer }),
    redis: connection!.client,
    redisStatus: connection!,
    protocolStateContract: testChain.protocolStateAddress,
    follower: { confirmations: CONFIRMATIONS, maxReorgDepth: MAX_REORG_DEPTH, pollIntervalMs: opts.pollIntervalMs ?? 100, rescanDelayMs: opts.rescanDelayMs ?? 400, stallMs: 30_000, rejectionWindowMs: 60_000 },
    followSnapshotBatches: false,
    rewards: { batchSize: 50, epochInterval: 10, pastDaysBuffer: 5, concurrentUpdates: 10, dayTransitionBufferEpochs: 5 },
    range: new AdaptiveRange(10_000),
  });
  return { activities, requests };
}

type Activities = ReturnType<typeof worker>['activities'];

/** The ids of a result's events, acknowledged in the next call as the market workflow does. */
const ack = (result: FollowChainResult | undefined) => (result?.events ?? []).map((e) => eventId({ ...e, blockHash: e.blockHash! }));

/** Calls followChain for `market` as its workflow does, until the cursor passes `block`. */
async function followPast(acts: Activities, market: string, cursor: ChainCursor, block: number): Promise<{ events: MarketEvent[]; cursor: ChainCursor; results: FollowChainResult[] }> {
  const events: MarketEvent[] = [];
  const results: FollowChainResult[] = [];
  for (let calls = 0; cursor.nextBlock <= block; calls++) {
    assert.ok(calls < 60, `${market} still not past block ${block} (cursor ${cursor.nextBlock})`);
    const last = results.at(-1);
    const result = await runActivity(acts.followChain, { market, cursor, maxWaitMs: 3000, ackEventIds: ack(last), ...(last?.conditions ? { shown: last.conditions } : {}) });
    assert.equal(result.violation, undefined, JSON.stringify(result.violation));
    events.push(...result.events);
    results.push(result);
    cursor = result.cursor;
  }
  return { events, cursor, results };
}

/** Every market followed at once, each from `cursor` until it passes its own `until` block. */
function followAll(acts: Activities, cursor: ChainCursor, until: (market: string) => number) {
  return Promise.all(markets.map((m) => followPast(acts, m, cursor, until(m))));
}

const releases = (events: readonly MarketEvent[]): Release[] => events.filter((e): e is EpochReleased => e.kind === 'EpochReleased').map((e) => ({ epochId: Number(e.epochId), blockNumber: e.blockNumber, blockHash: e.blockHash }));
const sum = (results: readonly FollowChainResult[], field: 'rejectedAnswers' | 'recoveredEvents' | 'reorgs') => results.reduce((n, r) => n + (r[field] ?? 0), 0);

async function cursorAt(nextBlock: number): Promise<ChainCursor> {
  return { nextBlock, parentHash: await testChain.blockHash(nextBlock - 1) };
}

/** Releases the next epoch of every market in one block (the releaser's epoch tick). */
async function releaseTogether(): Promise<Map<string, Release>> {
  const ps = testChain.protocolState;
  await testChain.provider.send('evm_setAutomine', [false]);
  const sent: ethers.ContractTransactionResponse[] = [];
  try {
    for (const m of markets) {
      const next = Number(await ps.getFunction('currentEpochId')(m)) + 1;
      sent.push((await ps.getFunction('releaseEpoch')(m, next * 10, next * 10 + 9)) as ethers.ContractTransactionResponse);
    }
    await testChain.provider.send('evm_mine', []);
  } finally {
    await testChain.provider.send('evm_setAutomine', [true]);
  }
  const out = new Map<string, Release>();
  for (const [i, tx] of sent.entries()) {
    const receipt = (await tx.wait())!;
    const released = receipt.logs.map((l) => ps.interface.parseLog(l)).find((e) => e?.name === 'EpochReleased')!;
    out.set(markets[i]!, { epochId: Number(released.args.getValue('epochId')), blockNumber: receipt.blockNumber, blockHash: receipt.blockHash.toLowerCase() });
  }
  assert.equal(new Set([...out.values()].map((r) => r.blockNumber)).size, 1, 'one block');
  return out;
}

const callsOf = (method: string, since: number) => proxy!.calls.slice(since).filter((c) => c.method === method);

before(async () => {
  stack = await startProxiedChain(MARKETS);
  ({ node, redis, proxy, chain: testChain } = stack);
  markets = testChain.markets;
  connection = new RedisConnection({ host: '127.0.0.1', port: redis.port, db: 0, password: undefined }, { warn: () => undefined, info: () => undefined });
  await connection.open();
});

beforeEach(() => proxy?.clear());

after(async () => {
  connection?.close();
  await stack?.stop();
});

describe('one reader for every market', () => {
  test(`catch-up over a backlog: each market gets exactly its events; ${MARKETS} markets cost about what one does in HTTP requests`, async () => {
    const start = await cursorAt((await testChain.blockNumber()) + 1);
    const expected = new Map<string, Release[]>(markets.map((m) => [m, []]));
    const note = (released: Map<string, Release>) => released.forEach((r, m) => expected.get(m)!.push(r));
    note(await releaseTogether());
    await testChain.mine(3000);
    for (const m of markets) expected.get(m)!.push(await testChain.releaseEpoch(m)); // one block each
    await testChain.mine(20_000);
    note(await releaseTogether());
    await testChain.mine(MAX_REORG_DEPTH + 10);
    await testChain.mineRegular(30); // the near zone, block by block
    const last = await releaseTogether();
    note(last);
    await testChain.mineRegular(CONFIRMATIONS);
    const until = (m: string) => last.get(m)!.blockNumber;

    // A poll interval longer than the catch-up: the head is read once in either run, so the
    // runs compare the reads that depend on the markets.
    const alone = worker({ pollIntervalMs: 10_000, rescanDelayMs: 600_000 });
    const one = await followPast(alone.activities, markets[0]!, start, until(markets[0]!));
    assert.deepEqual(releases(one.events), expected.get(markets[0]!));

    const shared = worker({ pollIntervalMs: 10_000, rescanDelayMs: 600_000 });
    const all = await followAll(shared.activities, start, until);
    all.forEach((run, i) => {
      assert.deepEqual(releases(run.events), expected.get(markets[i]!), `market ${i}: exactly its releases, in order`);
      assert.equal(sum(run.results, 'rejectedAnswers'), 0);
    });
    const ratio = shared.requests.length / alone.requests.length;
    assert.ok(alone.requests.length >= 8, `${alone.requests.length} requests for one market`);
    assert.ok(ratio <= 1.2, `${shared.requests.length} HTTP requests for ${MARKETS} markets, ${alone.requests.length} for one (×${ratio.toFixed(2)}): ${shared.requests.join(',')}`);
  });

  test('the dayCounter checks of every market go out as one JSON-RPC batch, each market with its own day', async () => {
    const { activities, requests } = worker();
    const cursor = await cursorAt((await testChain.blockNumber()) + 1);
    for (const [i, m] of markets.entries()) await (await testChain.protocolState.getFunction('setDayCounter')(m, 20 + i)).wait();
    await testChain.mineRegular(CONFIRMATIONS + 1);
    const since = proxy!.calls.length;
    const results = await Promise.all(markets.map((market) => runActivity(activities.followChain, { market, cursor, maxWaitMs: 5000, day: '1' })));
    results.forEach((r, i) => assert.deepEqual(r.dayCounter, { day: String(20 + i), blockNumber: r.cursor.nextBlock - 1 }));
    assert.equal(callsOf('eth_call', since).length, MARKETS, 'one eth_call per market');
    assert.equal(requests.filter((m) => m === 'eth_call').length, 1, 'in one HTTP request');
  });

  test('a dayCounter call one node fails in the batch is asked of the next node, alone; the others stand', async () => {
    const first = await startRpcProxy(node!.url);
    try {
      const { activities } = worker({ rpcUrls: [first.url, proxy!.url] });
      const cursor = await cursorAt((await testChain.blockNumber()) + 1);
      for (const [i, m] of markets.entries()) await (await testChain.protocolState.getFunction('setDayCounter')(m, 30 + i)).wait();
      await testChain.mineRegular(CONFIRMATIONS + 1);
      const market1 = markets[1]!.slice(2).toLowerCase();
      first.inject({ method: 'eth_call', when: (p) => JSON.stringify(p).toLowerCase().includes(market1), error: { code: -32000, message: 'missing trie node' } });
      const since = proxy!.calls.length;
      const results = await Promise.all(markets.map((market) => runActivity(activities.followChain, { market, cursor, maxWaitMs: 5000, day: '1' })));
      results.forEach((r, i) => assert.equal(r.dayCounter?.day, String(30 + i), `market ${i}`));
      assert.equal(first.calls.filter((c) => c.method === 'eth_call').length, MARKETS, 'the first node was asked for every market, in one batch');
      const second = callsOf('eth_call', since);
      assert.equal(second.length, 1, 'the second node only for the call the first failed');
      assert.ok(JSON.stringify(second[0]!.params).toLowerCase().includes(market1));
    } finally {
      await first.stop();
    }
  });
});

describe('logs asked with the head read', () => {
  /**
   * Markets following near the head (one stepped there), then a block releasing every market
   * becomes the head and is read as such, then is confirmed: returns that block, and the
   * proxy's calls since it was released.
   */
  async function releasedAsHead(activities: Activities) {
    const cursor = await cursorAt((await testChain.blockNumber()) - CONFIRMATIONS + 1);
    const first = await runActivity(activities.followChain, { market: markets[0]!, cursor, maxWaitMs: 150 });
    const since = proxy!.calls.length;
    const released = await releaseTogether();
    await runActivity(activities.followChain, { market: markets[0]!, cursor: first.cursor, maxWaitMs: 350 }); // reads it as the head
    await testChain.mineRegular(CONFIRMATIONS);
    return { cursor: first.cursor, released, since };
  }

  test('a head that may hold a followed event has its logs asked in the next head read\'s batch: confirmed, no request of its own', async () => {
    const { activities, requests } = worker();
    const { cursor, released, since } = await releasedAsHead(activities);
    const block = released.get(markets[0]!)!;
    const sinceConfirmed = proxy!.calls.length;
    const runs = await followAll(activities, cursor, (m) => released.get(m)!.blockNumber);
    runs.forEach((run, i) => assert.deepEqual(releases(run.events), [released.get(markets[i]!)]));
    assert.equal(callsOf('eth_getLogs', sinceConfirmed).length, 0, 'the logs were at hand');
    assert.equal(callsOf('eth_getLogs', since).filter((c) => coversBlock(block)(c.params)).length, 1, 'asked once');
    assert.ok(!requests.includes('eth_getLogs'), `in a batch led by the head's block: ${requests.join(',')}`);
  });

  test('a refused answer asked with a head read is told to the first market that reads the block; the block is asked again, the refusal kept for none', async () => {
    const { activities } = worker();
    const empty = proxy!.inject({ method: 'eth_getLogs', times: 1, result: () => [] });
    const { cursor, released, since } = await releasedAsHead(activities);
    assert.equal(empty.hits(), 1, 'the answer asked with the head read was emptied');
    const block = released.get(markets[0]!)!;
    const runs = await followAll(activities, cursor, (m) => released.get(m)!.blockNumber);
    runs.forEach((run, i) => assert.deepEqual(releases(run.events), [released.get(markets[i]!)]));
    assert.equal(runs.reduce((n, run) => n + sum(run.results, 'rejectedAnswers'), 0), 1, 'told once');
    assert.equal(callsOf('eth_getLogs', since).filter((c) => coversBlock(block)(c.params)).length, 2, 'asked again once, for every market');
  });
});

describe('every market sees the chain as it is', () => {
  test('a reorg whose fork releases every market: each walks back to the fork point and gets its release on the new fork', async () => {
    const { activities } = worker();
    const base = await testChain.blockNumber();
    const snapshot = await testChain.snapshot();
    await testChain.mineRegular(20);
    const before = await followAll(activities, await cursorAt(base + 1), () => base + 20 - CONFIRMATIONS);
    const cursor = before[0]!.cursor;
    for (const run of before) assert.deepEqual(run.cursor, cursor, 'all at the same safe head');

    await testChain.revert(snapshot);
    const released = await releaseTogether();
    await testChain.mineRegular(25);
    const after = await Promise.all(markets.map((m) => followPast(activities, m, cursor, base + 1 + 25 - CONFIRMATIONS)));
    after.forEach((run, i) => {
      assert.equal(sum(run.results, 'reorgs'), 1, `market ${i} saw the reorg`);
      assert.deepEqual(releases(run.events), [released.get(markets[i]!)]);
    });
    for (const m of markets) {
      const top = released.get(m)!.blockNumber;
      const record = await redis!.client.zrangebyscore(keys.followerCanonicalChain(m.toLowerCase()), top, top);
      assert.deepEqual(record, [`${top}:${await testChain.blockHash(top)}`], 'each market recorded the new fork');
    }
  });

  test('near the head: an empty answer for the block of every release is refused for every market that waited for it, kept for none', async () => {
    const { activities } = worker();
    const cursor = await cursorAt((await testChain.blockNumber()) + 1);
    const released = await releaseTogether();
    await testChain.mineRegular(CONFIRMATIONS);
    const block = released.get(markets[0]!)!;
    // Late, so that every market is waiting for it when it comes.
    const empty = proxy!.inject({ method: 'eth_getLogs', times: 1, when: coversBlock(block), delayMs: 300, result: () => [] });
    const since = proxy!.calls.length;
    const runs = await followAll(activities, cursor, (m) => released.get(m)!.blockNumber);
    assert.equal(empty.hits(), 1);
    runs.forEach((run, i) => {
      assert.deepEqual(releases(run.events), [released.get(markets[i]!)]);
      assert.equal(sum(run.results, 'rejectedAnswers'), 1, `market ${i} was told of the refusal`);
      assert.match(run.results.find((r) => r.conditions?.rejecting)!.conditions!.rejecting!.lastReason, /the 0 logs answered for block \d+ do not make up its logsBloom/);
    });
    assert.equal(callsOf('eth_getLogs', since).filter((c) => coversBlock(block)(c.params)).length, 2, 'asked once, refused; asked again once, for every market');
  });

  test('far from the head: a range answered [] is missed by every market and recovered by one shared re-scan', async () => {
    const { activities } = worker();
    const from = (await testChain.blockNumber()) + 1;
    const released = await releaseTogether();
    await testChain.mine(MAX_REORG_DEPTH + 100);
    await testChain.mineRegular(CONFIRMATIONS);
    const block = released.get(markets[0]!)!;
    proxy!.inject({ method: 'eth_getLogs', times: 1, when: coversBlock(block), result: () => [] });
    const since = proxy!.calls.length;
    const first = await Promise.all(markets.map((market) => runActivity(activities.followChain, { market, cursor: { nextBlock: from, parentHash: null }, maxWaitMs: 100 })));
    for (const r of first) {
      assert.deepEqual(r.events, [], 'the shared first answer missed it, for every market');
      assert.equal(r.cursor.rescan?.nextBlock, from);
    }
    const again = await Promise.all(markets.map((market, i) => runActivity(activities.followChain, { market, cursor: first[i]!.cursor, maxWaitMs: 3000 })));
    again.forEach((r, i) => {
      assert.deepEqual(releases(r.events), [released.get(markets[i]!)]);
      assert.equal(r.recoveredEvents, 1);
    });
    assert.equal(callsOf('eth_getLogs', since).filter((c) => coversBlock(block)(c.params)).length, 2, 'one first answer and one re-scan, for every market');
  });
});

describe('markets come and go', () => {
  test('a market stopped while a shared request is out does not cancel it for the others; one that starts later catches up on its own', async () => {
    const { activities } = worker();
    const cursor = await cursorAt((await testChain.blockNumber()) + 1);
    const released = await releaseTogether();
    await testChain.mineRegular(CONFIRMATIONS);
    const block = released.get(markets[0]!)!;
    const slow = proxy!.inject({ method: 'eth_getLogs', times: 1, when: coversBlock(block), delayMs: 500 });
    const [stopped, ...others] = markets as [string, ...string[]];
    const stoppedRun = startActivity(activities.followChain, [{ market: stopped, cursor, maxWaitMs: 5000 }]);
    const running = others.map((market) => runActivity(activities.followChain, { market, cursor, maxWaitMs: 5000 }));
    await new Promise((r) => setTimeout(r, 150));
    stoppedRun.env.cancel();
    await assert.rejects(stoppedRun.result, (err: unknown) => err instanceof CancelledFailure);
    const results = await Promise.all(running);
    results.forEach((r, i) => assert.deepEqual(releases(r.events), [released.get(others[i]!)]));
    assert.equal(slow.hits(), 1, 'the request the stopped market shared went on, once');

    // The others follow on; the stopped market comes back later, from where it was.
    await testChain.mineRegular(10);
    const next = await releaseTogether();
    await testChain.mineRegular(CONFIRMATIONS);
    const [late, ...on] = await Promise.all([followPast(activities, stopped, cursor, next.get(stopped)!.blockNumber), ...others.map((m, i) => followPast(activities, m, results[i]!.cursor, next.get(m)!.blockNumber))]);
    assert.deepEqual(releases(late!.events), [released.get(stopped), next.get(stopped)]);
    on.forEach((run, i) => assert.deepEqual(releases(run.events), [next.get(others[i]!)]));
  });
});
