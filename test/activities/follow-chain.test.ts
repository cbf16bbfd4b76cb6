/**
 * The chain activities on a real Hardhat node and a real Redis: the followChain long poll
 * (ranged catch-up, confirmations, stored block hashes, heartbeats, reorgs, cancellation) and
 * the reads of contract state (loadMarketParams, resolveCurrentDay, getChainHead).
 *
 * Interval mining is switched off after the node starts, so that the chain only moves when a
 * test moves it: heads, safe heads and cursors below are exact, not "at least".
 *
 * Blocks made by `hardhat_mine` have zero parent hashes: see repairReservedParents.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CancelledFailure } from '@temporalio/common';
import { createChainActivities, REORG_REWIND_BLOCKS } from '../../src/activities/chain.js';
import { ChainClient } from '../../src/chain/rpc.js';
import * as keys from '../../src/domain/keys.js';
import type { ChainCursor, FollowChainResult, MarketEvent } from '../../src/domain/types.js';
import { deployTestContracts, repairReservedParents, startHardhatNode, type HardhatNode, type TestChain } from '../support/chain.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { runActivity, startActivity } from '../support/activity-env.js';

const CONFIRMATIONS = 2;
const LOG_RANGE = 10_000;
const POLL_MS = 100;
const REWARDS = { batchSize: 50, epochInterval: 10, pastDaysBuffer: 5, concurrentUpdates: 10, dayTransitionBufferEpochs: 5 };
const SUBMISSION_WINDOW = 7;
const EMPTY_BLOCKS = 100_000;
/** logRangeBlocks of the second activity set, for the tests that rescan old blocks. */
const NARROW_RANGE = 500;

let node: HardhatNode | undefined;
let redis: RedisServer | undefined;
let testChain: TestChain;
let client: ChainClient;
/** Zero parentHashes of Hardhat reserved blocks filled in (see repairReservedParents). */
let repaired: { count(): number };
let activities: ReturnType<typeof createChainActivities>;
let narrow: ReturnType<typeof createChainActivities>;
/** eth_getLogs requests made through `client`. */
let logRequests = 0;
let A: string;
let B: string;
let C: string;

type Release = { epochId: number; blockNumber: number; blockHash: string };
/** Filled by the catch-up test, used by the later ones. */
const releasesA: Release[] = [];
let releaseB: Release;
let startCursor: ChainCursor;
let caughtUp: FollowChainResult;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function cursorAt(nextBlock: number): Promise<ChainCursor> {
  return { nextBlock, parentHash: await testChain.blockHash(nextBlock - 1) };
}

function follow(market: string, cursor: ChainCursor, maxWaitMs: number) {
  return runActivity(activities.followChain, { market, cursor, maxWaitMs });
}

const brief = (events: readonly MarketEvent[]) =>
  events.map((e) => (e.kind === 'EpochReleased' ? { epochId: e.epochId, blockNumber: e.blockNumber, blockHash: e.blockHash } : e));
const expected = (releases: readonly Release[]) =>
  releases.map((r) => ({ epochId: String(r.epochId), blockNumber: r.blockNumber, blockHash: r.blockHash }));

before(async () => {
  [node, redis] = await Promise.all([startHardhatNode({ intervalMs: 0 }), startRedis()]);
  testChain = await deployTestContracts(node.url, 3, { submissionWindow: SUBMISSION_WINDOW });
  await testChain.provider.send('evm_setIntervalMining', [0]);
  [A, B, C] = testChain.markets as [string, string, string];
  client = new ChainClient([node.url]);
  repaired = repairReservedParents(client);
  const logs = client.logs.bind(client);
  client.logs = (filter) => {
    logRequests++;
    return logs(filter);
  };
  activities = createChainActivities({
    chain: client,
    redis: redis.client,
    protocolStateContract: testChain.protocolStateAddress,
    confirmations: CONFIRMATIONS,
    logRangeBlocks: LOG_RANGE,
    pollIntervalMs: POLL_MS,
    followSnapshotBatches: true,
    rewards: REWARDS,
  });
  narrow = createChainActivities({
    chain: client,
    redis: redis.client,
    protocolStateContract: testChain.protocolStateAddress,
    confirmations: CONFIRMATIONS,
    logRangeBlocks: NARROW_RANGE,
    pollIntervalMs: POLL_MS,
    followSnapshotBatches: true,
    rewards: REWARDS,
  });
});

after(async () => {
  client?.destroy();
  testChain?.provider.destroy();
  await Promise.all([node?.stop(), redis?.stop()]);
});

test(`catch-up over ${EMPTY_BLOCKS} blocks in eth_getLogs ranges returns exactly the market's epochs, in order`, async () => {
  startCursor = await cursorAt((await testChain.blockNumber()) + 1);
  for (let i = 0; i < 3; i++) releasesA.push(await testChain.releaseEpoch(A));
  releaseB = await testChain.releaseEpoch(B);
  await testChain.mine(EMPTY_BLOCKS);
  releasesA.push(await testChain.releaseEpoch(A));
  await testChain.mine(CONFIRMATIONS);
  const last = releasesA.at(-1)!;
  assert.deepEqual(releasesA.map((r) => r.epochId), [1, 2, 3, 4]);
  assert.equal(await testChain.blockNumber(), last.blockNumber + CONFIRMATIONS);

  logRequests = 0;
  const events: MarketEvent[] = [];
  let cursor = startCursor;
  let calls = 0;
  const t0 = performance.now();
  while (cursor.nextBlock <= last.blockNumber) {
    assert.ok(++calls <= 30, `still not past block ${last.blockNumber} after ${calls - 1} calls (cursor ${cursor.nextBlock})`);
    const result = await follow(A, cursor, 2000);
    assert.equal(result.reorgs, 0);
    assert.equal(result.skippedLogs, 0);
    assert.ok(result.cursor.nextBlock > cursor.nextBlock, 'each call advances the cursor');
    events.push(...result.events);
    cursor = result.cursor;
    caughtUp = result;
  }
  const ms = performance.now() - t0;
  const blocks = cursor.nextBlock - startCursor.nextBlock;
  console.log(
    `followChain catch-up: ${blocks} blocks in ${ms.toFixed(0)} ms (${((blocks / ms) * 1000).toFixed(0)} blocks/s), ` +
      `${calls} activity calls, ${logRequests} eth_getLogs requests (${repaired.count()} zero parentHashes of reserved blocks filled in)`,
  );

  assert.deepEqual(brief(events), expected(releasesA));
  assert.ok(!events.some((e) => e.blockNumber === releaseB.blockNumber), "market B's epoch is not market A's event");
  for (const e of events) {
    assert.ok(e.kind === 'EpochReleased', `unexpected ${e.kind}`);
    assert.ok(Number.isSafeInteger(e.blockTimestamp) && e.blockTimestamp > 0, `blockTimestamp ${e.blockTimestamp}`);
    assert.ok(Number.isSafeInteger(e.logIndex) && e.logIndex >= 0);
  }
  const block = await testChain.provider.getBlock(last.blockNumber);
  const lastEvent = events.at(-1)!;
  assert.ok(lastEvent.kind === 'EpochReleased');
  assert.equal(lastEvent.blockTimestamp, block!.timestamp);

  // Ranges, not blocks: ~100k blocks / 10k per range.
  assert.ok(logRequests >= Math.floor(EMPTY_BLOCKS / LOG_RANGE), `${logRequests} eth_getLogs requests`);
  assert.ok(logRequests <= 15, `${logRequests} eth_getLogs requests for ${blocks} blocks`);
  // Caught up exactly to the safe head, with the hash of the block before the cursor.
  assert.equal(cursor.nextBlock, last.blockNumber + 1);
  assert.equal(cursor.parentHash, last.blockHash);
  assert.equal(caughtUp.head, last.blockNumber + CONFIRMATIONS);
});

test('the follower stores the hash of every block it scanned, lower case, for at most 30 minutes', async () => {
  const lastScanned = caughtUp.cursor.nextBlock - 1;
  const samples = [startCursor.nextBlock, releasesA[0]!.blockNumber, Math.floor((startCursor.nextBlock + lastScanned) / 2), lastScanned];
  for (const n of samples) {
    const stored = await redis!.client.get(keys.blockHashByNumber(n));
    const hash = await testChain.blockHash(n);
    assert.equal(stored, hash, `BlockHashByNumberKey.${n}`);
    assert.match(stored!, /^0x[0-9a-f]{64}$/);
    const ttl = await redis!.client.ttl(keys.blockHashByNumber(n));
    assert.ok(ttl > 0 && ttl <= keys.BLOCK_HASH_TTL_SECONDS, `TTL of BlockHashByNumberKey.${n} is ${ttl}`);
  }
  // Nothing beyond what was scanned.
  assert.equal(await redis!.client.exists(keys.blockHashByNumber(lastScanned + 1)), 0);
});

test('the cursor stays CONFIRMATIONS behind the head: an epoch is returned only once 2 blocks are on top of it', async () => {
  const head = await testChain.blockNumber();
  let cursor = await cursorAt(head - 5);
  const release = await testChain.releaseEpoch(C);
  assert.equal(release.blockNumber, head + 1);

  const first = await follow(C, cursor, 300);
  assert.deepEqual(first.events, []);
  assert.equal(first.head, release.blockNumber);
  assert.ok(first.cursor.nextBlock <= first.head - CONFIRMATIONS + 1, `cursor ${first.cursor.nextBlock} vs head ${first.head}`);
  assert.equal(first.cursor.nextBlock, release.blockNumber - 1);
  cursor = first.cursor;

  await testChain.mine(1);
  const second = await follow(C, cursor, 300);
  assert.deepEqual(second.events, [], 'one block on top is not enough');
  assert.equal(second.cursor.nextBlock, release.blockNumber);
  assert.ok(second.cursor.nextBlock <= second.head - CONFIRMATIONS + 1);
  cursor = second.cursor;

  await testChain.mine(1);
  const third = await follow(C, cursor, 300);
  assert.deepEqual(brief(third.events), expected([release]));
  assert.equal(third.cursor.nextBlock, release.blockNumber + 1);
  assert.equal(third.cursor.parentHash, release.blockHash);
  assert.ok(third.cursor.nextBlock <= third.head - CONFIRMATIONS + 1);
});

test('without events it returns after maxWaitMs with the cursor advanced to the safe head', async () => {
  const cursor = caughtUp.cursor;
  await testChain.mine(50);
  const head = await testChain.blockNumber();
  const t0 = performance.now();
  const result = await follow(B, cursor, 800);
  const ms = performance.now() - t0;
  assert.deepEqual(result.events, []);
  assert.equal(result.head, head);
  assert.equal(result.reorgs, 0);
  assert.deepEqual(result.cursor, await cursorAt(head - CONFIRMATIONS + 1));
  assert.ok(ms >= 780 && ms < 2500, `returned after ${ms.toFixed(0)} ms`);
});

test('a retry resumes from the heartbeated cursor, not the input cursor: events before it are not returned again', async () => {
  const [, e2, e3] = releasesA as [Release, Release, Release];
  const heartbeat: ChainCursor = { nextBlock: e2.blockNumber + 1, parentHash: e2.blockHash };
  const input = { market: A, cursor: startCursor, maxWaitMs: 2000 };
  const result = await startActivity(narrow.followChain, [input], { heartbeatDetails: heartbeat, attempt: 2 }).result;
  assert.deepEqual(brief(result.events), expected([e3]));
  assert.deepEqual(result.cursor, await cursorAt(heartbeat.nextBlock + NARROW_RANGE));

  // Without heartbeat details, or with details that are no cursor, the input cursor is used.
  for (const heartbeatDetails of [undefined, 'garbage', { nextBlock: 'x' }]) {
    const fallback = await startActivity(narrow.followChain, [input], { heartbeatDetails }).result;
    assert.deepEqual(brief(fallback.events), expected(releasesA.slice(0, 3)), `heartbeatDetails ${JSON.stringify(heartbeatDetails)}`);
  }
});

test('an event-less catch-up heartbeats its progress: increasing cursors, the last one returned', async () => {
  const from = await cursorAt(releasesA[2]!.blockNumber + 1000);
  const run = startActivity(narrow.followChain, [{ market: A, cursor: from, maxWaitMs: 1000 }]);
  const result = await run.result;
  assert.deepEqual(result.events, []);
  const beats = run.heartbeats as ChainCursor[];
  assert.ok(beats.length >= 2, `${beats.length} heartbeats`);
  beats.forEach((b, i) => assert.equal(b.nextBlock, from.nextBlock + NARROW_RANGE * (i + 1), `heartbeat ${i}`));
  assert.deepEqual(beats.at(-1), result.cursor);
  // The cursors carry the canonical parent hashes.
  for (const b of [beats[0]!, beats.at(-1)!]) assert.equal(b.parentHash, await testChain.blockHash(b.nextBlock - 1));
  assert.ok(result.cursor.nextBlock < releasesA[3]!.blockNumber, 'it stopped at maxWaitMs, well before the next event');
});

test("a cursor whose parentHash is not the chain's rewinds REORG_REWIND_BLOCKS and rescans, without throwing", async () => {
  const e3 = releasesA[2]!;
  const n = e3.blockNumber + 1;
  const rewindTo = Math.max(0, n - REORG_REWIND_BLOCKS);
  const wrong: ChainCursor = { nextBlock: n, parentHash: '0x' + '11'.repeat(32) };
  const rescanned = expected(releasesA.filter((r) => r.blockNumber >= rewindTo && r.blockNumber < rewindTo + NARROW_RANGE));
  assert.ok(rescanned.length >= 1);

  // Time for one range only: the rewound cursor comes back, to be fed in again.
  const quick = startActivity(narrow.followChain, [{ market: A, cursor: wrong, maxWaitMs: 0 }]);
  const rewound = await quick.result;
  assert.deepEqual(rewound, { events: [], cursor: { nextBlock: rewindTo, parentHash: null }, head: rewound.head, reorgs: 1, skippedLogs: 0 });
  assert.ok(quick.logs.some((l) => l.level === 'WARN' && l.message.includes('rewinding') && l.meta?.atBlock === n && l.meta?.rewindTo === rewindTo));
  assert.deepEqual(quick.heartbeats, [{ nextBlock: rewindTo, parentHash: null }]);
  const next = await runActivity(narrow.followChain, { market: A, cursor: rewound.cursor, maxWaitMs: 2000 });
  assert.equal(next.reorgs, 0);
  assert.deepEqual(brief(next.events), rescanned);

  // With time to spare, the same call rewinds and rescans at once.
  const run = startActivity(narrow.followChain, [{ market: A, cursor: wrong, maxWaitMs: 2000 }]);
  const result = await run.result;
  assert.equal(result.reorgs, 1);
  // The events of the rewound blocks come again, from canonical blocks.
  assert.deepEqual(brief(result.events), rescanned);
  assert.deepEqual(result.cursor, await cursorAt(rewindTo + NARROW_RANGE));
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
  // Without a day, the day keys are left alone.
  assert.equal(await r.get(keys.currentDay(A.toLowerCase())), null);

  await (await testChain.protocolState.getFunction('setSnapshotSubmissionWindow')(B, 45)).wait();
  await (await testChain.protocolState.getFunction('setEpochsInADay')(B, 96)).wait();
  await r.set(keys.epochsInADay(B), '720'); // the cacher's value stands
  assert.equal((await runActivity(activities.loadMarketParams, B, '7')).submissionWindowSeconds, 45);
  assert.equal(await r.get(keys.epochsInADay(B)), '720');
  assert.deepEqual(await r.hgetall(keys.submissionLimitTable), { [A]: String(SUBMISSION_WINDOW), [B]: '45' });
  // With a day: CurrentDayKey always with an expiry, LastKnownDayKey too.
  assert.equal(await r.get(keys.currentDay(B.toLowerCase())), '7');
  const ttl = await r.ttl(keys.currentDay(B.toLowerCase()));
  assert.ok(ttl > 0 && ttl <= keys.CURRENT_DAY_TTL_SECONDS, `CurrentDayKey TTL ${ttl}`);
  assert.equal(await r.get(keys.lastKnownDay(B.toLowerCase())), '7');
  assert.ok((await r.ttl(keys.lastKnownDay(B.toLowerCase()))) > 0);
});

test('readDayCounter reads the day at a past block', async () => {
  const before = await testChain.blockNumber();
  await (await testChain.protocolState.getFunction('setDayCounter')(C, 4)).wait();
  assert.equal(await runActivity(activities.readDayCounter, C, before), '1');
  assert.equal(await runActivity(activities.readDayCounter, C), '4');
});

test('resolveCurrentDay: CurrentDayKey.<lower market> when it holds a day, else the contract\'s dayCounter', async () => {
  const key = keys.currentDay(A.toLowerCase());
  await redis!.client.del(key);
  assert.equal(await runActivity(activities.resolveCurrentDay, A), '1');

  await redis!.client.set(key, '5');
  assert.equal(await runActivity(activities.resolveCurrentDay, A), '5');
  // The checksum-cased key is not the one read.
  await redis!.client.set(keys.currentDay(A), '9');
  assert.equal(await runActivity(activities.resolveCurrentDay, A), '5');

  await (await testChain.protocolState.getFunction('setDayCounter')(A, 3)).wait();
  for (const garbage of ['abc', '', '0', '07', '-1', '1.5', ' 5']) {
    await redis!.client.set(key, garbage);
    const run = startActivity(activities.resolveCurrentDay, [A]);
    assert.equal(await run.result, '3', `CurrentDayKey = ${JSON.stringify(garbage)}`);
    assert.ok(run.logs.some((l) => l.level === 'WARN' && l.message.includes('CurrentDayKey')));
  }
  await redis!.client.del(key);
  assert.equal(await runActivity(activities.resolveCurrentDay, A), '3');
});

test('getChainHead is the uncached head and the head minus CONFIRMATIONS', async () => {
  const head = await testChain.blockNumber();
  assert.deepEqual(await runActivity(activities.getChainHead), { head, safeHead: head - CONFIRMATIONS });
  await testChain.mine(3);
  assert.deepEqual(await runActivity(activities.getChainHead), { head: head + 3, safeHead: head + 3 - CONFIRMATIONS });
});

test('cancellation while waiting for blocks rejects with a CancelledFailure at once', async () => {
  const head = await testChain.blockNumber();
  const cursor = await cursorAt(head - CONFIRMATIONS + 1);
  const run = startActivity(activities.followChain, [{ market: A, cursor, maxWaitMs: 60_000 }]);
  await sleep(400);
  const t0 = performance.now();
  run.env.cancel();
  await assert.rejects(run.result, (err: unknown) => err instanceof CancelledFailure);
  const ms = performance.now() - t0;
  assert.ok(ms < 1000, `rejected ${ms.toFixed(0)} ms after the cancel`);
  // It waited at the safe head, heartbeating the unchanged cursor.
  assert.ok(run.heartbeats.length >= 1);
  for (const beat of run.heartbeats) assert.deepEqual(beat, cursor);
});

// Last: evm_revert rewinds the node under the test chain's nonce manager.
test('a real reorg (evm_snapshot / evm_revert, another block at the same height) is detected and rescanned', async () => {
  await testChain.mine(REORG_REWIND_BLOCKS + 10); // C's earlier epoch falls outside the rewind
  const snapshot: unknown = await testChain.provider.send('evm_snapshot', []);
  const release = await testChain.releaseEpoch(C);
  await testChain.mine(CONFIRMATIONS);
  const seen = await follow(C, await cursorAt(release.blockNumber), 300);
  assert.deepEqual(brief(seen.events), expected([release]));
  assert.deepEqual(seen.cursor, { nextBlock: release.blockNumber + 1, parentHash: release.blockHash });

  assert.equal(await testChain.provider.send('evm_revert', [snapshot]), true);
  assert.equal(await testChain.blockNumber(), release.blockNumber - 1);
  // An empty block at the release height, and more on top: evm_mine, so that these are
  // regular blocks with real parent hashes (no help from repairReservedParents).
  for (let i = 0; i < 5; i++) await testChain.provider.send('evm_mine', []);
  const replacement = await testChain.blockHash(release.blockNumber);
  assert.notEqual(replacement, release.blockHash);

  const run = startActivity(activities.followChain, [{ market: C, cursor: seen.cursor, maxWaitMs: 300 }]);
  const result = await run.result;
  assert.equal(result.reorgs, 1);
  assert.deepEqual(result.events, [], 'the released epoch is gone with its block');
  const head = await testChain.blockNumber();
  assert.deepEqual(result.cursor, await cursorAt(head - CONFIRMATIONS + 1));
  // The stored hash of the reorged height is the new canonical one.
  assert.equal(await redis!.client.get(keys.blockHashByNumber(release.blockNumber)), replacement);
  assert.ok(run.logs.some((l) => l.level === 'WARN' && l.meta?.atBlock === release.blockNumber + 1));
});
