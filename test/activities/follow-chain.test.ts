/**
 * The chain follower on a real Hardhat node behind the fault-injecting JSON-RPC proxy, with a
 * real Redis: both zones (wide ranges far from the head, block by block near it), node sanity,
 * complete logs (bloom checks, the delayed re-scan), adaptive ranges, reorgs to the fork
 * point, finality violations, stalls, the day from dayCounter; and the other chain activities.
 *
 * Interval mining is switched off, so the chain only moves when a test moves it: heads, safe
 * heads and cursors below are exact. Blocks made by `hardhat_mine` reach the follower through
 * the proxy, which gives Hardhat's reserved blocks their real parent hashes.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { toBeHex } from 'ethers';
import { createChainActivities } from '../../src/activities/chain.js';
import { namingRedisOutage, REDIS_UNAVAILABLE } from '../../src/activities/redis-outage.js';
import { ChainClient } from '../../src/chain/rpc.js';
import { eventId } from '../../src/domain/events.js';
import * as keys from '../../src/domain/keys.js';
import type { ChainCursor, EpochReleased, FollowChainInput, FollowChainResult, MarketEvent } from '../../src/domain/types.js';
import type { FollowerHeartbeat } from '../../src/follower/follow.js';
import { AdaptiveRange, REGROW_AFTER } from '../../src/follower/range.js';
import { RedisConnection } from '../../src/services/redis.js';
import { runActivity, startActivity } from '../support/activity-env.js';
import { waitFor } from '../../devstack/process.js';
import type { HardhatNode, TestChain } from '../../devstack/chain.js';
import { startRedis, type RedisServer } from '../../devstack/redis.js';
import { startRpcProxy, type RpcProxy } from '../../devstack/rpc-proxy.js';
import { coversBlock, startProxiedChain, type ProxiedChain } from '../support/proxied-chain.js';

const CONFIRMATIONS = 2;
const MAX_REORG_DEPTH = 64;
const LOG_RANGE = 10_000;
const POLL_MS = 100;
const RESCAN_DELAY_MS = 400;
const STALL_MS = 1500;
const REWARDS = { batchSize: 50, epochInterval: 10, pastDaysBuffer: 5, concurrentUpdates: 10, dayTransitionBufferEpochs: 5 };
const SUBMISSION_WINDOW = 7;
const EMPTY_BLOCKS = 100_000;

let stack: ProxiedChain | undefined;
let node: HardhatNode | undefined;
let redis: RedisServer | undefined;
/** seqflow's own connection to `redis`, as the worker makes it. */
let connection: RedisConnection | undefined;
let proxy: RpcProxy | undefined;
let testChain: TestChain;
let activities: ReturnType<typeof createChainActivities>;
let A: string;
let B: string;
let C: string;

type Release = { epochId: number; blockNumber: number; blockHash: string };

/** A connection as the worker opens it, its log lines kept in `lines`. */
async function openConnection(port: number, lines: string[] = []): Promise<RedisConnection> {
  const logger = { warn: (_: object, message: string) => void lines.push(message), info: (_: object, message: string) => void lines.push(message) };
  const opened = new RedisConnection({ host: '127.0.0.1', port, db: 0, password: undefined }, logger);
  await opened.open();
  return opened;
}

function activitiesWith(
  overrides: { logRangeBlocks?: number; maxReorgDepth?: number; rejectionWindowMs?: number; stallMs?: number; rpcUrls?: string[]; redis?: RedisConnection } = {},
) {
  const redisConnection = overrides.redis ?? connection!;
  return createChainActivities({
    // A client of its own: heads already seen are per client, and the reorg tests make the chain shorter.
    chain: new ChainClient(overrides.rpcUrls ?? [proxy!.url]),
    redis: redisConnection.client,
    redisStatus: redisConnection,
    protocolStateContract: testChain.protocolStateAddress,
    follower: {
      confirmations: CONFIRMATIONS,
      maxReorgDepth: overrides.maxReorgDepth ?? MAX_REORG_DEPTH,
      pollIntervalMs: POLL_MS,
      rescanDelayMs: RESCAN_DELAY_MS,
      stallMs: overrides.stallMs ?? STALL_MS,
      rejectionWindowMs: overrides.rejectionWindowMs ?? 60_000,
    },
    followSnapshotBatches: true,
    rewards: REWARDS,
    range: new AdaptiveRange(overrides.logRangeBlocks ?? LOG_RANGE),
  });
}

async function cursorAt(nextBlock: number): Promise<ChainCursor> {
  return { nextBlock, parentHash: await testChain.blockHash(nextBlock - 1) };
}

function follow(input: FollowChainInput, acts = activities) {
  return startActivity(acts.followChain, [input]);
}

/** Calls followChain until the cursor passes `block` (the market workflow's loop, minus the workflow). */
async function followPast(market: string, cursor: ChainCursor, block: number, acts = activities): Promise<{ events: MarketEvent[]; cursor: ChainCursor; results: FollowChainResult[] }> {
  const events: MarketEvent[] = [];
  const results: FollowChainResult[] = [];
  for (let calls = 0; cursor.nextBlock <= block; calls++) {
    assert.ok(calls < 60, `still not past block ${block} (cursor ${cursor.nextBlock})`);
    const result = await runActivity(acts.followChain, { market, cursor, maxWaitMs: 2000, ackEventIds: ack(results.at(-1)) });
    assert.equal(result.violation, undefined, JSON.stringify(result.violation));
    events.push(...result.events);
    results.push(result);
    cursor = result.cursor;
  }
  return { events, cursor, results };
}

/** The ids of a result's events, acknowledged in the next call as the market workflow does. */
const ack = (result: FollowChainResult | undefined) => (result?.events ?? []).map((e) => eventId({ ...e, blockHash: e.blockHash! }));

/** Calls followChain as the market workflow does (passing back the conditions it shows) until `done`. */
async function followUntil(input: FollowChainInput, done: (r: FollowChainResult) => boolean, acts = activities): Promise<FollowChainResult[]> {
  const results: FollowChainResult[] = [];
  let shown = input.shown;
  for (let calls = 0; ; calls++) {
    assert.ok(calls < 20, `not done after ${calls} calls: ${JSON.stringify(results.at(-1))}`);
    const r = await runActivity(acts.followChain, { ...input, ...(shown ? { shown } : {}), ackEventIds: ack(results.at(-1)) });
    results.push(r);
    if (done(r)) return results;
    shown = r.conditions ?? shown;
    input = { ...input, cursor: r.cursor };
  }
}

const releases = (events: readonly MarketEvent[]) => events.filter((e): e is EpochReleased => e.kind === 'EpochReleased').map((e) => ({ epochId: Number(e.epochId), blockNumber: e.blockNumber, blockHash: e.blockHash }));
const sum = (results: readonly FollowChainResult[], field: 'rejectedAnswers' | 'recoveredEvents' | 'reorgs') => results.reduce((n, r) => n + (r[field] ?? 0), 0);
const callsOf = (method: string, since = 0) => proxy!.calls.slice(since).filter((c) => c.method === method);

before(async () => {
  stack = await startProxiedChain(3, { submissionWindow: SUBMISSION_WINDOW });
  ({ node, redis, proxy, chain: testChain } = stack);
  [A, B, C] = testChain.markets as [string, string, string];
  connection = await openConnection(redis.port);
  activities = activitiesWith();
});

beforeEach(() => proxy?.clear());

after(async () => {
  connection?.close();
  await stack?.stop();
});

describe('the two zones', () => {
  const releasesA: Release[] = [];
  let start: ChainCursor;
  let caughtUp: { cursor: ChainCursor; results: FollowChainResult[] };

  test(`catch-up over ${EMPTY_BLOCKS} blocks: wide ranges far from the head, block by block near it; exactly the market's epochs, in order`, async () => {
    start = await cursorAt((await testChain.blockNumber()) + 1);
    for (let i = 0; i < 3; i++) releasesA.push(await testChain.releaseEpoch(A));
    const releaseB = await testChain.releaseEpoch(B);
    await testChain.mine(EMPTY_BLOCKS);
    releasesA.push(await testChain.releaseEpoch(A));
    await testChain.mineRegular(CONFIRMATIONS);
    const head = await testChain.blockNumber();
    const since = proxy!.calls.length;

    const run = await followPast(A, start, releasesA.at(-1)!.blockNumber);
    caughtUp = run;
    assert.deepEqual(releases(run.events), releasesA.map((r) => ({ epochId: r.epochId, blockNumber: r.blockNumber, blockHash: r.blockHash })));
    assert.ok(!run.events.some((e) => e.blockNumber === releaseB.blockNumber), "market B's epoch is not market A's event");
    for (const e of run.events) assert.equal((e as EpochReleased).blockTimestamp, (await testChain.provider.getBlock(e.blockNumber))!.timestamp);
    assert.deepEqual(run.cursor.nextBlock, head - CONFIRMATIONS + 1);
    assert.equal(run.cursor.parentHash, await testChain.blockHash(head - CONFIRMATIONS), 'the last block was checked one by one');

    // Far zone: ranges (growing from 1000 to the 10k cap), headers only of the blocks with events.
    const wide = callsOf('eth_getLogs', since).filter((c) => (c.params[0] as { fromBlock?: string }).fromBlock !== undefined);
    assert.ok(wide.length >= 10 && wide.length <= 16, `${wide.length} ranged eth_getLogs`);
    const headerCalls = callsOf('eth_getBlockByNumber', since).length;
    assert.ok(headerCalls < 400, `${headerCalls} eth_getBlockByNumber calls for ${EMPTY_BLOCKS} blocks (a per-block fetch would be ${EMPTY_BLOCKS})`);
    assert.equal(sum(run.results, 'rejectedAnswers'), 0);
    assert.equal(sum(run.results, 'reorgs'), 0);
  });

  test('the near zone is recorded: canonical hashes of the blocks checked one by one, in BlockHashByNumberKey (30 min) and the follower record', async () => {
    const last = caughtUp.cursor.nextBlock - 1;
    for (const n of [last, last - 10, last - MAX_REORG_DEPTH + 2]) {
      assert.equal(await redis!.client.get(keys.blockHashByNumber(n)), await testChain.blockHash(n), `BlockHashByNumberKey.${n}`);
      const ttl = await redis!.client.ttl(keys.blockHashByNumber(n));
      assert.ok(ttl > 0 && ttl <= keys.BLOCK_HASH_TTL_SECONDS);
    }
    const record = await redis!.client.zrangebyscore(keys.followerCanonicalChain(A.toLowerCase()), last - 3, last);
    assert.deepEqual(record, await Promise.all([last - 3, last - 2, last - 1, last].map(async (n) => `${n}:${await testChain.blockHash(n)}`)));
    // Far-zone blocks are not fetched, so not stored.
    assert.equal(await redis!.client.exists(keys.blockHashByNumber(start.nextBlock + 500)), 0);
  });

  test('the cursor stays CONFIRMATIONS behind the head: an epoch is returned only once 2 blocks are on top of it', async () => {
    let cursor = caughtUp.cursor;
    const release = await testChain.releaseEpoch(C);
    const first = await runActivity(activities.followChain, { market: C, cursor, maxWaitMs: 300 });
    assert.deepEqual(first.events, []);
    assert.equal(first.head, release.blockNumber);
    assert.equal(first.cursor.nextBlock, release.blockNumber - 1);
    cursor = first.cursor;
    await testChain.mineRegular(1);
    const second = await runActivity(activities.followChain, { market: C, cursor, maxWaitMs: 300 });
    assert.deepEqual(second.events, [], 'one block on top is not enough');
    await testChain.mineRegular(1);
    const third = await runActivity(activities.followChain, { market: C, cursor: second.cursor, maxWaitMs: 300 });
    assert.deepEqual(releases(third.events), [release]);
    assert.equal(third.cursor.nextBlock, release.blockNumber + 1);
    assert.equal(third.cursor.parentHash, release.blockHash);
  });

  test('without events it returns after maxWaitMs with the cursor at the safe head', async () => {
    const from = await cursorAt((await testChain.blockNumber()) - CONFIRMATIONS + 1);
    await testChain.mineRegular(20);
    const head = await testChain.blockNumber();
    const t0 = performance.now();
    const result = await runActivity(activities.followChain, { market: B, cursor: from, maxWaitMs: 800 });
    const ms = performance.now() - t0;
    assert.deepEqual(result.events, []);
    assert.equal(result.head, head);
    assert.deepEqual(result.cursor, { ...(await cursorAt(head - CONFIRMATIONS + 1)), rescan: null });
    assert.deepEqual(result.conditions, { stalled: null, rejecting: null, redis: null });
    assert.ok(ms >= 780 && ms < 2500, `returned after ${ms.toFixed(0)} ms`);
  });

  test('a retry resumes from the heartbeat, not the input cursor: events before it are not returned again', async () => {
    const [, e2, e3] = releasesA as [Release, Release, Release];
    const resumedFrom: FollowerHeartbeat = { cursor: { nextBlock: e2.blockNumber + 1, parentHash: null }, head: null, rangeBlocks: 1000, lastError: null, rejectedAnswers: 0 };
    const result = await startActivity(activities.followChain, [{ market: A, cursor: start, maxWaitMs: 2000 }], { heartbeatDetails: resumedFrom, attempt: 2 }).result;
    assert.deepEqual(releases(result.events), [e3]);
    // Without heartbeat details, or with details that are no heartbeat, the input cursor is used.
    for (const heartbeatDetails of [undefined, 'garbage', { cursor: { nextBlock: 'x' } }]) {
      const fallback = await startActivity(activities.followChain, [{ market: A, cursor: start, maxWaitMs: 2000 }], { heartbeatDetails }).result;
      assert.deepEqual(releases(fallback.events), releasesA.slice(0, 3), `heartbeatDetails ${JSON.stringify(heartbeatDetails)}`);
    }
  });

  test('an event-less catch-up heartbeats its progress: increasing cursors, the span, the head', async () => {
    const from: ChainCursor = { nextBlock: releasesA[2]!.blockNumber + 1, parentHash: null };
    const run = follow({ market: A, cursor: from, maxWaitMs: 600 }, activitiesWith({ logRangeBlocks: 100 }));
    const result = await run.result;
    const beats = run.heartbeats as FollowerHeartbeat[];
    // The keep-alive repeats the last details every second: progress is the distinct cursors.
    const cursors = beats.map((b) => b.cursor.nextBlock).filter((n, i, all) => i === 0 || n !== all[i - 1]);
    assert.ok(cursors.length >= 3, `${cursors.length} cursors heartbeated`);
    cursors.slice(1).forEach((n, i) => assert.ok(n > cursors[i]!, `heartbeat ${i + 1} advances`));
    assert.ok(beats.every((b) => b.rangeBlocks === 100 && b.head !== null && b.lastError === null));
    assert.deepEqual(result.events, []);
    assert.ok(result.cursor.nextBlock < releasesA[3]!.blockNumber, 'it stopped at maxWaitMs, well before the next event');
    assert.deepEqual(beats.at(-1)!.cursor, result.cursor);
  });
});

describe('node sanity: bad answers are refused, retried, and never acted on', () => {
  test('a head below one already seen is refused; the head reported is never the low one', async () => {
    const acts = activitiesWith();
    const head = await testChain.blockNumber();
    const cursor = await cursorAt(head - CONFIRMATIONS + 1);
    await runActivity(acts.followChain, { market: A, cursor, maxWaitMs: 0 }); // sees the real head
    const low = proxy!.inject({ method: 'eth_blockNumber', times: 3, result: (n) => toBeHex(Number(n) - 25) });
    // The first refusal ends the call (a condition the market must show); the next call carries on.
    const first = await runActivity(acts.followChain, { market: A, cursor, maxWaitMs: 5000 });
    assert.equal(first.rejectedAnswers, 1);
    assert.equal(first.head, head);
    assert.match(first.conditions!.rejecting!.lastReason, new RegExp(`head ${head - 25} is below block ${head}, seen before`));
    const second = await runActivity(acts.followChain, { market: A, cursor, maxWaitMs: 1000, shown: first.conditions! });
    assert.equal(low.hits(), 3);
    assert.equal(second.rejectedAnswers, 2);
    assert.equal(second.head, head);
    assert.equal(second.conditions!.rejecting!.count, 3, 'the streak counts on across calls');
    assert.equal(second.conditions!.rejecting!.sinceMs, first.conditions!.rejecting!.sinceMs);
  });

  test('an absurdly high head (a block the node does not serve) is refused; the input floor counts too', async () => {
    const head = await testChain.blockNumber();
    const cursor = await cursorAt(head - CONFIRMATIONS + 1);
    const acts = activitiesWith();
    await runActivity(acts.followChain, { market: A, cursor, maxWaitMs: 0 });
    const bogus = proxy!.inject({ method: 'eth_blockNumber', times: 1, result: (n) => toBeHex(Number(n) + 1_000_000) });
    const result = await runActivity(acts.followChain, { market: A, cursor, maxWaitMs: 1000 });
    assert.equal(bogus.hits(), 1);
    assert.equal(result.head, head, 'the bogus head is in no result');
    assert.equal(result.rejectedAnswers, 1);
    assert.match(result.conditions!.rejecting!.lastReason, new RegExp(`head ${head + 1_000_000} is a block the node does not serve`));
    // A fresh client has seen no head, but the market's floor (input) is enforced.
    const floored = await runActivity(activitiesWith().followChain, { market: A, cursor, maxWaitMs: 300, headFloor: head + 5 });
    assert.equal(floored.rejectedAnswers, 1);
    assert.equal(floored.head, head + 5, 'never below the floor: the head the market already had');
    // And a client that never read a sane head reports none.
    proxy!.inject({ method: 'eth_blockNumber', times: 1, result: (n) => toBeHex(Number(n) + 1_000_000) });
    assert.equal((await runActivity(activitiesWith().followChain, { market: A, cursor, maxWaitMs: 300 })).head, null);
    assert.equal(floored.cursor.nextBlock, cursor.nextBlock, 'nothing scanned on a refused head');
  });

  test('a ranged answer with a log outside the range, or with another block hash than its block, is refused and asked again', async () => {
    const from = (await testChain.blockNumber()) + 1;
    const release = await testChain.releaseEpoch(A);
    await testChain.mine(MAX_REORG_DEPTH + 10);
    await testChain.mineRegular(CONFIRMATIONS);
    const stray = proxy!.inject({ method: 'eth_getLogs', times: 1, when: coversBlock(release), result: (logs) => (logs as Array<Record<string, string>>).map((l) => ({ ...l, blockNumber: toBeHex(from - 5) })) });
    const forged = proxy!.inject({ method: 'eth_getLogs', times: 1, when: coversBlock(release), result: (logs) => (logs as Array<Record<string, string>>).map((l) => ({ ...l, blockHash: '0x' + '77'.repeat(32) })) });
    const run = await followPast(A, { nextBlock: from, parentHash: null }, release.blockNumber);
    assert.equal(stray.hits(), 1);
    assert.equal(forged.hits(), 1);
    assert.deepEqual(releases(run.events), [release]);
    assert.equal(sum(run.results, 'rejectedAnswers'), 2);
    assert.ok(run.results.some((r) => /answered a log of block \d+/.test(r.conditions?.rejecting?.lastReason ?? '') || /with hash 0x7{64}/.test(r.conditions?.rejecting?.lastReason ?? '')));
  });
});

describe('complete logs', () => {
  test('near the head: an empty answer for a block whose bloom holds the release is refused (row 1)', async () => {
    const cursor = await cursorAt((await testChain.blockNumber()) + 1);
    const release = await testChain.releaseEpoch(A);
    await testChain.mineRegular(CONFIRMATIONS);
    const empty = proxy!.inject({ method: 'eth_getLogs', times: 2, when: coversBlock(release), result: () => [] });
    const run = await followPast(A, cursor, release.blockNumber);
    assert.equal(empty.hits(), 2);
    assert.deepEqual(releases(run.events), [release]);
    assert.equal(sum(run.results, 'rejectedAnswers'), 2);
    assert.match(run.results.find((r) => r.conditions?.rejecting)!.conditions!.rejecting!.lastReason, /the 0 logs answered for block \d+ do not make up its logsBloom/);
  });

  test('near the head: an answer with its last entry missing is refused (row 2)', async () => {
    const cursor = await cursorAt((await testChain.blockNumber()) + 1);
    const both = await testChain.releaseMany(A, 2);
    await testChain.mineRegular(CONFIRMATIONS);
    const short = proxy!.inject({ method: 'eth_getLogs', times: 1, when: coversBlock(both), result: (logs) => (logs as unknown[]).slice(0, -1) });
    const run = await followPast(A, cursor, both.blockNumber);
    assert.equal(short.hits(), 1);
    assert.deepEqual(releases(run.events).map((r) => r.epochId), both.epochIds);
    assert.equal(sum(run.results, 'rejectedAnswers'), 1);
  });

  test('near the head: blocks whose bloom rules the market out cost no eth_getLogs', async () => {
    const cursor = await cursorAt((await testChain.blockNumber()) + 1);
    await testChain.releaseEpoch(B); // another market's release: the bloom lacks A's topic
    await testChain.mineRegular(10);
    const since = proxy!.calls.length;
    const result = await runActivity(activities.followChain, { market: A, cursor, maxWaitMs: 300 });
    assert.deepEqual(result.events, []);
    assert.equal(callsOf('eth_getLogs', since).length, 0);
  });

  test('far from the head: a range answered [] (a lagging replica) is read again after RESCAN_DELAY; the release comes back as recovered (row 1)', async () => {
    const from = (await testChain.blockNumber()) + 1;
    const release = await testChain.releaseEpoch(A);
    await testChain.mine(MAX_REORG_DEPTH + 100);
    await testChain.mineRegular(CONFIRMATIONS);
    const empty = proxy!.inject({ method: 'eth_getLogs', times: 1, when: coversBlock(release), result: () => [] });
    const first = await runActivity(activities.followChain, { market: A, cursor: { nextBlock: from, parentHash: null }, maxWaitMs: 100 });
    assert.equal(empty.hits(), 1);
    assert.deepEqual(first.events, [], 'the first answer silently missed it');
    assert.ok(first.cursor.rescan && first.cursor.rescan.nextBlock === from, 'the range is due for a re-scan');
    const again = await runActivity(activities.followChain, { market: A, cursor: first.cursor, maxWaitMs: 3000 });
    assert.deepEqual(releases(again.events), [release]);
    assert.deepEqual((again.events[0] as EpochReleased).recovered, { day: '1' }, 'with the day at its block');
    assert.equal(again.recoveredEvents, 1);
    // Once the market acknowledged it, it is not reported again; the re-scan is done.
    const quiet = await runActivity(activities.followChain, { market: A, cursor: again.cursor, maxWaitMs: 1000, ackEventIds: ack(again) });
    assert.deepEqual(quiet.events, []);
    assert.equal(quiet.cursor.rescan ?? null, null);
  });

  test('far from the head: a range with its last entry missing, read again, gives back only the missing one (row 2)', async () => {
    const from = (await testChain.blockNumber()) + 1;
    const first = await testChain.releaseEpoch(A);
    const second = await testChain.releaseEpoch(A);
    await testChain.mine(MAX_REORG_DEPTH + 100);
    await testChain.mineRegular(CONFIRMATIONS);
    proxy!.inject({ method: 'eth_getLogs', times: 1, when: coversBlock(second), result: (logs) => (logs as unknown[]).slice(0, -1) });
    const scanned = await runActivity(activities.followChain, { market: A, cursor: { nextBlock: from, parentHash: null }, maxWaitMs: 100 });
    assert.deepEqual(releases(scanned.events), [first]);
    await new Promise((r) => setTimeout(r, RESCAN_DELAY_MS));
    let previous = scanned;
    const recovered: MarketEvent[] = [];
    for (let i = 0; i < 10 && previous.cursor.rescan; i++) {
      previous = await runActivity(activities.followChain, { market: A, cursor: previous.cursor, maxWaitMs: 500, ackEventIds: ack(previous) });
      recovered.push(...previous.events);
    }
    assert.deepEqual(releases(recovered), [second]);
  });

  test('a result the market never received (a cancelled or timed-out call) is not acknowledged: the re-scan reports its events', async () => {
    const from = (await testChain.blockNumber()) + 1;
    const release = await testChain.releaseEpoch(A);
    await testChain.mine(MAX_REORG_DEPTH + 100);
    await testChain.mineRegular(CONFIRMATIONS);
    // A call whose result is lost after it found the release...
    const lost = await runActivity(activities.followChain, { market: A, cursor: { nextBlock: from, parentHash: null }, maxWaitMs: 100 });
    assert.deepEqual(releases(lost.events), [release]);
    // ...and the market's own call, given [] for that range by a lagging replica.
    proxy!.inject({ method: 'eth_getLogs', times: 1, when: coversBlock(release), result: () => [] });
    const missed = await runActivity(activities.followChain, { market: A, cursor: { nextBlock: from, parentHash: null }, maxWaitMs: 100 });
    assert.deepEqual(missed.events, []);
    const rescanned = await runActivity(activities.followChain, { market: A, cursor: missed.cursor, maxWaitMs: 3000 });
    assert.deepEqual(releases(rescanned.events), [release], 'recovered: the lost result acknowledged nothing');
  });
});

describe('a second opinion and bounded bookkeeping', () => {
  test('the re-scan asks another node than the one that answered first: a node that keeps answering [] cannot hide a release', async () => {
    const lying = await startRpcProxy(node!.url);
    try {
      const acts = activitiesWith({ rpcUrls: [lying.url, proxy!.url] });
      const from = (await testChain.blockNumber()) + 1;
      const release = await testChain.releaseEpoch(B);
      await testChain.mine(MAX_REORG_DEPTH + 100);
      await testChain.mineRegular(CONFIRMATIONS);
      const empty = lying.inject({ method: 'eth_getLogs', when: coversBlock(release), result: () => [] });
      const first = await runActivity(acts.followChain, { market: B, cursor: { nextBlock: from, parentHash: null }, maxWaitMs: 100 });
      assert.deepEqual(first.events, [], 'the first node answered []');
      const again = await runActivity(acts.followChain, { market: B, cursor: first.cursor, maxWaitMs: 3000 });
      assert.deepEqual(releases(again.events), [release]);
      assert.equal(again.recoveredEvents, 1);
      assert.equal(empty.hits(), 1, 'the lying node was not asked again for the re-scan');
    } finally {
      await lying.stop();
    }
  });

  test('refused answers stop showing once REJECTION_WINDOW has passed without another, across calls', async () => {
    const acts = activitiesWith({ rejectionWindowMs: 1000 });
    const cursor = await cursorAt((await testChain.blockNumber()) - CONFIRMATIONS + 1);
    await runActivity(acts.followChain, { market: A, cursor, maxWaitMs: 0 });
    proxy!.inject({ method: 'eth_blockNumber', times: 1, result: (n) => toBeHex(Number(n) - 3) });
    const refused = await runActivity(acts.followChain, { market: A, cursor, maxWaitMs: 10_000 });
    assert.ok(refused.conditions?.rejecting);
    const t0 = performance.now();
    const cleared = await runActivity(acts.followChain, { market: A, cursor: refused.cursor, maxWaitMs: 10_000, shown: refused.conditions! });
    const ms = performance.now() - t0;
    assert.equal(cleared.conditions?.rejecting, null, 'cleared');
    assert.ok(ms < 2500, `returned to clear it after ${ms.toFixed(0)} ms`);
  });

  test('acknowledged events are kept only while a re-scan may still read their blocks', async () => {
    const key = keys.followerReportedEvents(C.toLowerCase());
    await redis!.client.del(key);
    const cursor = await cursorAt((await testChain.blockNumber()) + 1);
    await testChain.mineRegular(CONFIRMATIONS + 1);
    const ids = [`5:0x${'aa'.repeat(32)}:0`, `${cursor.nextBlock + 10}:0x${'bb'.repeat(32)}:1`];
    await runActivity(activities.followChain, { market: C, cursor, maxWaitMs: 0, ackEventIds: ids });
    assert.deepEqual(await redis!.client.zrange(key, '0', '-1'), [ids[1]], 'the one below the cursor (and no re-scan pending) is gone');
  });
});

describe('the eth_getLogs span adapts to the provider (row 5)', () => {
  const span = (params: unknown[]) => {
    const f = params[0] as { fromBlock?: string; toBlock?: string };
    return f.fromBlock === undefined ? 0 : Number(f.toBlock) - Number(f.fromBlock) + 1;
  };
  const LIMIT = 100;
  // The refusal, and the largest span a heartbeat may show: a span grown back to probe the limit again shows until refused.
  const refusals: Array<[string, { code: number; message: string }, number]> = [
    ['-32005 with a suggested range', { code: -32005, message: 'query returned more than 10000 results. Try with this block range [0x1, 0x64].' }, 2 * LIMIT],
    ['-32602 block range too large', { code: -32602, message: 'block range too large' }, 2 * LIMIT],
    ['a stated limit', { code: -32000, message: `exceed maximum block range: ${LIMIT}` }, LIMIT],
  ];
  for (const [name, refusal, beatMax] of refusals) {
    test(`${name}: catch-up completes, every span answered is within the provider's limit, heartbeats show progress meanwhile`, async () => {
      const from = (await testChain.blockNumber()) + 1;
      await testChain.mine(3000);
      const release = await testChain.releaseEpoch(C);
      await testChain.mine(MAX_REORG_DEPTH + 10);
      await testChain.mineRegular(CONFIRMATIONS);
      const since = proxy!.calls.length;
      const refused = proxy!.inject({ method: 'eth_getLogs', when: (p) => span(p) > LIMIT, error: refusal });
      const run = follow({ market: C, cursor: { nextBlock: from, parentHash: null }, maxWaitMs: 30_000 }, activitiesWith({ logRangeBlocks: 2000 }));
      const result = await run.result;
      assert.deepEqual(releases(result.events), [{ epochId: release.epochId, blockNumber: release.blockNumber, blockHash: release.blockHash }]);
      const answered = callsOf('eth_getLogs', since).filter((c) => !c.faulted && span(c.params) > 0);
      // A halving search at the first refusal (at most log2 of the cap), then one probe of the limit every REGROW_AFTER answers.
      assert.ok(refused.hits() >= 1 && refused.hits() <= Math.log2(2000) + 1 + answered.length / REGROW_AFTER, `${refused.hits()} refusals for ${answered.length} answers`);
      assert.ok(answered.length >= 30 && answered.every((c) => span(c.params) <= LIMIT), 'the backlog read in spans the provider accepts');
      assert.equal(result.rejectedAnswers, 0, 'a refused span is no bad answer');
      const beats = run.heartbeats as FollowerHeartbeat[];
      assert.ok(beats.length >= 20 && beats.at(-1)!.cursor.nextBlock >= beats[0]!.cursor.nextBlock + 1900, `${beats.length} heartbeats with progress`);
      assert.ok(beats.every((b) => b.rangeBlocks <= beatMax), `the span learnt shows in every heartbeat: ${beats.map((b) => b.rangeBlocks).join(',')}`);
    });
  }
});

describe('reorgs and finality (rows 6 and 8)', () => {
  test('a reorg of 45 blocks whose fork releases an epoch: walked back to the fork point, rescanned, the epoch returned, stored hashes canonical', async () => {
    const acts = activitiesWith();
    const base = await testChain.blockNumber();
    const forkPoint = base;
    const snapshot = await testChain.snapshot();
    await testChain.mineRegular(45);
    // The follower follows the old fork to its safe head.
    const before = await followPast(A, await cursorAt(base + 1), base + 45 - CONFIRMATIONS, acts);
    assert.equal(before.cursor.nextBlock, base + 45 - CONFIRMATIONS + 1);
    const oldHash = await testChain.blockHash(base + 20);

    await testChain.revert(snapshot);
    const release = await testChain.releaseEpoch(A); // on the new fork, right above the fork point
    await testChain.mineRegular(50);
    const run = await followPast(A, before.cursor, base + 49, acts);
    assert.equal(sum(run.results, 'reorgs'), 1);
    assert.equal(run.results.reduce((m, r) => Math.max(m, r.reorgDepthMax ?? 0), 0), 45 - CONFIRMATIONS, 'walked back exactly to the fork point: the 43 blocks it had recorded were replaced');
    assert.deepEqual(releases(run.events), [release]);
    assert.equal(release.blockNumber, forkPoint + 1);
    const canonical = await testChain.blockHash(base + 20);
    assert.notEqual(canonical, oldHash);
    for (const n of [forkPoint + 1, base + 20, base + 43]) assert.equal(await redis!.client.get(keys.blockHashByNumber(n)), await testChain.blockHash(n), `stored hash of ${n}`);
  });

  test('a cursor whose parent hash is not the chain\'s (a bad hash taken once) walks back one recorded block and rescans it', async () => {
    const acts = activitiesWith();
    const from = (await testChain.blockNumber()) + 1;
    await testChain.mineRegular(10);
    const followed = await followPast(B, await cursorAt(from), (await testChain.blockNumber()) - CONFIRMATIONS, acts);
    const top = followed.cursor.nextBlock - 1;
    const bad: ChainCursor = { ...followed.cursor, parentHash: '0x' + '11'.repeat(32) };
    await testChain.mineRegular(3);
    const result = await runActivity(acts.followChain, { market: B, cursor: bad, maxWaitMs: 500 });
    assert.equal(result.reorgs, 1);
    assert.equal(result.reorgDepthMax, 1, 'only the block with the bad hash is replaced');
    assert.equal(result.violation, undefined);
    assert.ok(result.cursor.nextBlock > top);
    assert.equal(await redis!.client.get(keys.blockHashByNumber(top)), await testChain.blockHash(top));
  });

  test('a shallow reorg found only after falling far behind (a paused market) is walked back too, not taken for a violation', async () => {
    const acts = activitiesWith();
    const base = await testChain.blockNumber();
    const snapshot = await testChain.snapshot();
    await testChain.mineRegular(10);
    const before = await followPast(C, await cursorAt(base + 1), base + 10 - CONFIRMATIONS, acts);
    await testChain.revert(snapshot);
    const release = await testChain.releaseEpoch(C);
    await testChain.mine(MAX_REORG_DEPTH * 3); // the cursor is in the far zone now
    await testChain.mineRegular(CONFIRMATIONS);
    const run = await followPast(C, before.cursor, release.blockNumber + 50, acts);
    assert.equal(sum(run.results, 'reorgs'), 1);
    assert.deepEqual(releases(run.events), [release]);
  });

  test('a fork deeper than MAX_REORG_DEPTH is a finality violation: the cursor stays, nothing is walked back', async () => {
    const acts = activitiesWith({ maxReorgDepth: 16 });
    const base = await testChain.blockNumber();
    const snapshot = await testChain.snapshot();
    await testChain.mineRegular(30);
    const before = await followPast(B, await cursorAt(base + 1), base + 30 - CONFIRMATIONS, acts);
    await testChain.revert(snapshot);
    await testChain.mineRegular(40);
    const since = proxy!.calls.length;
    const result = await runActivity(acts.followChain, { market: B, cursor: before.cursor, maxWaitMs: 2000 });
    assert.deepEqual(result.cursor, before.cursor, 'the cursor did not move');
    assert.deepEqual(result.events, []);
    assert.equal(result.violation?.kind, 'deep-reorg');
    assert.equal(result.violation?.atBlock, before.cursor.nextBlock);
    assert.match(result.violation!.detail, /deeper than MAX_REORG_DEPTH \(16 blocks\)/);
    const lowest = Math.min(...callsOf('eth_getBlockByNumber', since).map((c) => Number(c.params[0])));
    assert.equal(lowest, before.cursor.nextBlock - 1 - 16, 'walked down MAX_REORG_DEPTH recorded blocks, not one more');
    assert.equal(result.rejectedAnswers, 0, 'a verdict on the chain, not a refused answer');
  });

  test('a node serving a broken hash chain: refused every time, never walked back, a finality violation after FOLLOWER_STALL_SECONDS', async () => {
    const head = await testChain.blockNumber();
    const cursor = await cursorAt(head + 1);
    await testChain.mineRegular(10);
    const broken = head + 5;
    proxy!.inject({ method: 'eth_getBlockByNumber', when: (p) => Number(p[0]) === broken, result: (block) => ({ ...(block as object), parentHash: '0x' + '66'.repeat(32) }) });
    const t0 = performance.now();
    const results = await followUntil({ market: C, cursor, maxWaitMs: 10_000 }, (r) => r.violation !== undefined);
    const result = results.at(-1)!;
    assert.ok(performance.now() - t0 >= STALL_MS, 'not before a stall\'s length');
    assert.equal(result.violation?.kind, 'broken-chain');
    assert.equal(result.violation?.atBlock, broken);
    assert.match(result.violation!.detail, new RegExp(`block ${broken}'s parentHash 0x6{64} is not the hash`));
    for (const r of results) assert.equal(r.cursor.nextBlock, cursor.nextBlock, 'the cursor never moved back (nor forward)');
    assert.ok(sum(results, 'rejectedAnswers') >= 2);
    assert.match(results[0]!.conditions!.rejecting!.lastReason, /BrokenHashChain|parentHash/);
  });
});

describe('conditions and the day', () => {
  test('an unreachable node: the call returns once stalled for FOLLOWER_STALL_SECONDS with the last error, then again when progress resumes', async () => {
    const cursor = await cursorAt((await testChain.blockNumber()) + 1);
    await testChain.mineRegular(5);
    const down = proxy!.inject({ method: 'eth_blockNumber', httpStatus: 503 });
    const t0 = performance.now();
    const stalled = await runActivity(activities.followChain, { market: A, cursor, maxWaitMs: 20_000 });
    const ms = performance.now() - t0;
    assert.ok(ms >= STALL_MS && ms < STALL_MS + 3000, `returned after ${ms.toFixed(0)} ms`);
    assert.match(stalled.conditions!.stalled!.lastError, /RpcTransportError: eth_blockNumber: HTTP 503/);
    assert.deepEqual(stalled.cursor.nextBlock, cursor.nextBlock);

    // Shown as stalled, the next call keeps the condition until real progress, then returns to clear it.
    setTimeout(() => down.remove(), 700);
    const resumed = await runActivity(activities.followChain, { market: A, cursor, maxWaitMs: 20_000, shown: stalled.conditions! });
    assert.equal(resumed.conditions!.stalled, null);
    assert.ok(resumed.cursor.nextBlock > cursor.nextBlock);
  });

  test('dayCounter changed without an event (loadCurrentDay): the call returns early with the day at the scanned block', async () => {
    const cursor = await cursorAt((await testChain.blockNumber()) + 1);
    await (await testChain.protocolState.getFunction('setDayCounter')(B, 9)).wait();
    await testChain.mineRegular(CONFIRMATIONS + 1);
    const result = await runActivity(activities.followChain, { market: B, cursor, maxWaitMs: 5000, day: '1' });
    assert.equal(result.dayCounter?.day, '9');
    assert.equal(result.dayCounter?.blockNumber, result.cursor.nextBlock - 1);
    // The same day: no early return.
    const same = await runActivity(activities.followChain, { market: B, cursor: result.cursor, maxWaitMs: 300, day: '9' });
    assert.equal(same.dayCounter, undefined);
  });
});

describe('Redis: an outage and a data loss (issue 7 rows 6 and 9)', () => {
  test('an outage returns at once as a condition and clears when Redis is back; logged once each way; the marker survives a restart with data', async () => {
    const own = await startRedis();
    const lines: string[] = [];
    const conn = await openConnection(own.port, lines);
    try {
      const acts = activitiesWith({ redis: conn, stallMs: 60_000 });
      const cursor = await cursorAt((await testChain.blockNumber()) + 1);
      const first = await runActivity(acts.followChain, { market: C, cursor, maxWaitMs: 300, redisMarker: { id: 'marker-C', seenAtMs: null } });
      assert.equal(await own.client.get(keys.redisMarker(C.toLowerCase())), 'marker-C', 'written when new');
      assert.ok(first.redisMarkerSeenAtMs! > 0);
      const marker = { id: 'marker-C', seenAtMs: first.redisMarkerSeenAtMs! };

      await own.down({ keepData: true });
      const t0 = performance.now();
      const down = await runActivity(acts.followChain, { market: C, cursor: first.cursor, maxWaitMs: 20_000, shown: first.conditions!, redisMarker: marker });
      assert.ok(performance.now() - t0 < 2000, 'the outage is reported at once');
      assert.match(down.conditions!.redis!.lastError, /ECONNREFUSED|Connection is closed|^the connection to 127\.0\.0\.1:\d+ closed$/);
      assert.equal(down.redisDataLost, undefined);
      assert.equal(down.cursor.nextBlock, first.cursor.nextBlock, 'nothing scanned without Redis');

      // Shown as down, the call waits for Redis, polling, and returns once it is back.
      setTimeout(() => void own.up(), 1500);
      const back = await runActivity(acts.followChain, { market: C, cursor: down.cursor, maxWaitMs: 20_000, shown: down.conditions!, redisMarker: marker });
      assert.equal(back.conditions!.redis, null);
      assert.equal(back.redisDataLost, undefined, 'restarted with its data: nothing lost');
      assert.deepEqual(lines, ['Redis is unavailable: effects wait until it is back', 'Redis is available again'], 'one line when it goes, one when it is back, however many reconnects failed');
    } finally {
      conn.close();
      await own.stop();
    }
  });

  test('Redis restarted empty: the marker is gone, the loss is reported once with when the marker was last seen', async () => {
    const own = await startRedis();
    const conn = await openConnection(own.port);
    try {
      const acts = activitiesWith({ redis: conn, stallMs: 60_000 });
      const cursor = await cursorAt((await testChain.blockNumber()) + 1);
      const first = await runActivity(acts.followChain, { market: C, cursor, maxWaitMs: 300, redisMarker: { id: 'marker-C', seenAtMs: null } });
      const seen = first.redisMarkerSeenAtMs!;
      await own.down({ keepData: false });
      await own.up();
      await waitFor('the connection to be back', async () => conn.outage === null && conn.client.status === 'ready');
      const run = startActivity(acts.followChain, [{ market: C, cursor: first.cursor, maxWaitMs: 5000, redisMarker: { id: 'marker-C', seenAtMs: seen } }]);
      const lost = await run.result;
      assert.equal(lost.redisDataLost?.lastSeenMs, seen);
      assert.ok(lost.redisDataLost!.detectedAtMs >= seen);
      assert.ok(run.logs.some((l) => l.level === 'ERROR' && /Redis lost its data/.test(l.message)));
      assert.equal(await own.client.get(keys.redisMarker(C.toLowerCase())), 'marker-C', 'written again');
      const next = await runActivity(acts.followChain, { market: C, cursor: lost.cursor, maxWaitMs: 300, redisMarker: { id: 'marker-C', seenAtMs: lost.redisDataLost!.detectedAtMs } });
      assert.equal(next.redisDataLost, undefined, 'reported once');
    } finally {
      conn.close();
      await own.stop();
    }
  });
  test('any other activity failing while Redis is down fails as RedisUnavailable, with when the outage began; a refusal stays a refusal', async () => {
    const own = await startRedis();
    const conn = await openConnection(own.port);
    try {
      const acts = namingRedisOutage(conn, {
        resolveCurrentDay: activitiesWith({ redis: conn, stallMs: 60_000 }).resolveCurrentDay,
        refuse: () => Promise.reject(ApplicationFailure.nonRetryable('the relayer refused it', 'RelayerRejected')),
      });
      await own.down({ keepData: true });
      await waitFor('the outage', async () => conn.outage !== null);
      const since = conn.outage!.sinceMs;
      // ioredis holds the command through its reconnect attempts, then fails it.
      await assert.rejects(runActivity(acts.resolveCurrentDay, A), (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure, String(err));
        assert.equal(err.type, REDIS_UNAVAILABLE);
        assert.equal(err.nonRetryable, false);
        assert.match(err.message, /^the worker cannot reach Redis: (the connection to 127\.0\.0\.1:\d+ closed|connect ECONNREFUSED 127\.0\.0\.1:\d+)$/);
        assert.deepEqual(err.details, [since]);
        return true;
      });
      await assert.rejects(runActivity(acts.refuse), (err: unknown) => err instanceof ApplicationFailure && err.type === 'RelayerRejected');
      await own.up();
      await waitFor('the connection to be back', async () => conn.outage === null);
      assert.equal(await runActivity(acts.resolveCurrentDay, A), '1', 'back: the activity runs as before');
    } finally {
      conn.close();
      await own.stop();
    }
  });
});

describe('the other chain activities', () => {
  test('watchHead heartbeats the head and the unchanged cursor until cancelled', async () => {
    const cursor = await cursorAt((await testChain.blockNumber()) + 1);
    const run = startActivity(activities.watchHead, [{ cursor, maxWaitMs: 60_000 }]);
    await new Promise((r) => setTimeout(r, 350));
    await testChain.mineRegular(3);
    await new Promise((r) => setTimeout(r, 350));
    run.env.cancel();
    await assert.rejects(run.result, (err: unknown) => err instanceof CancelledFailure);
    const beats = run.heartbeats as FollowerHeartbeat[];
    assert.ok(beats.length >= 3);
    assert.ok(beats.every((b) => b.cursor === cursor || b.cursor.nextBlock === cursor.nextBlock));
    assert.equal(beats.at(-1)!.head, await testChain.blockNumber());
  });

  test('loadMarketParams reads the four parameters and writes them where the neighbours read them', async () => {
    const r = redis!.client;
    await r.del(keys.epochsInADay(A), keys.epochsInADay(B), keys.currentDay(A.toLowerCase()), keys.lastKnownDay(A.toLowerCase()));
    const params = await runActivity(activities.loadMarketParams, A);
    assert.deepEqual(params, {
      submissionWindowSeconds: SUBMISSION_WINDOW,
      daySize: 864000000,
      dailySnapshotQuota: '2',
      epochsInADay: 720,
      rewards: { epochInterval: 10, pastDaysBuffer: 5, dayTransitionBufferEpochs: 5 },
    });
    assert.equal(await r.hget(keys.submissionLimitTable, A), String(SUBMISSION_WINDOW));
    assert.equal(await r.hget(keys.submissionLimitTable, A.toLowerCase()), null);
    assert.equal(await r.hget(keys.daySizeTable, A), '864000000');
    assert.equal(await r.hget(keys.dailySnapshotQuotaTable, A), '2');
    assert.equal(await r.get(keys.epochsInADay(A)), '720');
    assert.equal(await r.get(keys.currentDay(A.toLowerCase())), null, 'without a day, the day keys are left alone');

    await (await testChain.protocolState.getFunction('setSnapshotSubmissionWindow')(B, 45)).wait();
    await r.set(keys.epochsInADay(B), '720'); // the cacher's value stands
    assert.equal((await runActivity(activities.loadMarketParams, B, '7')).submissionWindowSeconds, 45);
    assert.equal(await r.get(keys.epochsInADay(B)), '720');
    assert.equal(await r.get(keys.currentDay(B.toLowerCase())), '7');
    const ttl = await r.ttl(keys.currentDay(B.toLowerCase()));
    assert.ok(ttl > 0 && ttl <= keys.CURRENT_DAY_TTL_SECONDS, `CurrentDayKey TTL ${ttl}`);
    assert.equal(await r.get(keys.lastKnownDay(B.toLowerCase())), '7');
  });

  test('readDayCounter reads the day at a past block', async () => {
    const before = await testChain.blockNumber();
    await (await testChain.protocolState.getFunction('setDayCounter')(C, 4)).wait();
    assert.equal(await runActivity(activities.readDayCounter, C, before), '1');
    assert.equal(await runActivity(activities.readDayCounter, C), '4');
  });

  test("resolveCurrentDay: CurrentDayKey.<lower market> when it holds a day, else the contract's dayCounter", async () => {
    const key = keys.currentDay(A.toLowerCase());
    await redis!.client.del(key);
    assert.equal(await runActivity(activities.resolveCurrentDay, A), '1');
    await redis!.client.set(key, '5');
    assert.equal(await runActivity(activities.resolveCurrentDay, A), '5');
    await (await testChain.protocolState.getFunction('setDayCounter')(A, 3)).wait();
    for (const garbage of ['abc', '', '0', '07', '-1', '1.5', ' 5']) {
      await redis!.client.set(key, garbage);
      const run = startActivity(activities.resolveCurrentDay, [A]);
      assert.equal(await run.result, '3', `CurrentDayKey = ${JSON.stringify(garbage)}`);
      assert.ok(run.logs.some((l) => l.level === 'WARN' && l.message.includes('CurrentDayKey')));
    }
    await redis!.client.del(key);
  });

  test('getChainHead is the sane head and the head minus CONFIRMATIONS', async () => {
    const head = await testChain.blockNumber();
    assert.deepEqual(await runActivity(activities.getChainHead), { head, safeHead: head - CONFIRMATIONS });
    await testChain.mineRegular(3);
    assert.deepEqual(await runActivity(activities.getChainHead), { head: head + 3, safeHead: head + 3 - CONFIRMATIONS });
  });

  test('cancellation while waiting for blocks rejects with a CancelledFailure at once', async () => {
    const cursor = await cursorAt((await testChain.blockNumber()) - CONFIRMATIONS + 1);
    const run = startActivity(activities.followChain, [{ market: A, cursor, maxWaitMs: 60_000 }]);
    await new Promise((r) => setTimeout(r, 400));
    const t0 = performance.now();
    run.env.cancel();
    await assert.rejects(run.result, (err: unknown) => err instanceof CancelledFailure);
    assert.ok(performance.now() - t0 < 1000);
    assert.ok(run.heartbeats.length >= 1);
    for (const beat of run.heartbeats as FollowerHeartbeat[]) assert.equal(beat.cursor.nextBlock, cursor.nextBlock);
  });
});

