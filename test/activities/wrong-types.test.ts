/**
 * Every Redis script and guard of seqflow against a key of the wrong type (an operator's
 * mistake, a neighbour's bug), on a real redis-server: the activity fails with the key named,
 * nothing is written and nothing is marked done; once the key is repaired, the effect happens
 * exactly once. (Redis keeps what a script wrote before an error: the scripts check first.)
 * Keys an epoch's store writes after its plan is committed are turned another type there, just
 * before its first chunk is applied.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { ethers } from 'ethers';
import type { Redis } from 'ioredis';
import { createRelayerActivities } from '../../src/activities/relayer.js';
import { createRewardActivities } from '../../src/activities/rewards.js';
import { ChainClient } from '../../src/chain/rpc.js';
import * as keys from '../../src/domain/keys.js';
import { runActivity } from '../support/activity-env.js';
import { batchActivitiesWithoutChain, madeUpHashes, storeBlockHashes } from '../support/stored-window.js';
import { fileSubmission } from '../../devstack/dequeuer.js';
import { startRedis, type RedisServer } from '../../devstack/redis.js';
import { startRelayer, type RelayerStandIn } from '../../devstack/relayer.js';
import { interrupted } from './interrupted-redis.js';

const A = ethers.getAddress('0x' + 'a1b2'.repeat(10));
const a = A.toLowerCase();
const TOKEN = 'token';
/** Blocks whose hashes the follower "stored": the window of the epochs below, no chain needed. */
const FIRST = 1000;
const HASHES = madeUpHashes(FIRST, 2);

let redis: RedisServer | undefined;
let relayer: RelayerStandIn | undefined;
let batches: ReturnType<typeof batchActivitiesWithoutChain>;
let relayerActivities: ReturnType<typeof createRelayerActivities>;
let rewards: ReturnType<typeof createRewardActivities>;

// No chain is asked: every block hash the tests use is stored.
const chain = new ChainClient(['http://127.0.0.1:9']);
/** The batch activities (BATCH_SIZE 1) on `client`. */
const batchesOn = (client: Redis) => batchActivitiesWithoutChain(client, { market: A, batchSize: 1 });

before(async () => {
  [redis, relayer] = await Promise.all([startRedis(), startRelayer(TOKEN)]);
  const relayerSettings = { url: relayer.url, authToken: TOKEN, timeoutMs: 5000 };
  batches = batchesOn(redis.client);
  relayerActivities = createRelayerActivities({ redis: redis.client, relayer: relayerSettings });
  rewards = createRewardActivities({ chain, redis: redis.client, relayer: relayerSettings, rewards: { batchSize: 2, epochInterval: 10, pastDaysBuffer: 3, concurrentUpdates: 2, dayTransitionBufferEpochs: 2 } });
});

beforeEach(async () => {
  await redis!.client.flushdb();
  await storeBlockHashes(redis!.client, FIRST, HASHES);
  relayer!.requests.length = 0;
});

after(async () => {
  await Promise.all([redis?.stop(), relayer?.stop()]);
});

const escape = (key: string) => key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The error of a script (the key, its type, the type wanted) or of a read before it (the key): either way named. */
const wrongType = (key: string) => new RegExp(`WRONGTYPE ${escape(key)} holds a (\\w+, not a [\\w ]+: nothing written|value of another type)`);

/** Files two projects' submissions for `epochId` (one batch each with BATCH_SIZE 1). */
async function fileTwo(epochId: string): Promise<void> {
  await fileSubmission(redis!.client, { market: A, epochId, projectId: 'p1:0x1:NS', slotId: 1, header: HASHES[0]! });
  await fileSubmission(redis!.client, { market: A, epochId, projectId: 'p2:0x1:NS', slotId: 2, header: HASHES[1]! });
}

const prepareOn = (client: Redis, epochId: string) => runActivity(batchesOn(client).prepareBatches, { market: A, epochId, fromBlock: FIRST, toBlock: FIRST + 1, day: '1' });
const prepare = (epochId: string) => prepareOn(redis!.client, epochId);
/** Before the epoch's first chunk is applied (its plan written and committed), `meanwhile` runs. */
const prepareWith = (epochId: string, meanwhile: () => Promise<void>) => prepareOn(interrupted(redis!.client, { command: 'eval', target: 'applyEpochChunk', nth: 1, then: meanwhile }), epochId);
/** What an epoch of fileTwo leaves when nothing of it was stored: no batch, no count, no counter, no guard. */
async function assertNothingStored(epochId: string): Promise<void> {
  const r = redis!.client;
  const stored = [keys.epochBatchesStored(a, epochId), keys.batchCount(a, epochId), keys.batchSubmissions(a, epochId, 1), keys.batchSubmissions(a, epochId, 2), keys.slotSubmissions(a, '1', '1'), keys.slotSubmissions(a, '1', '2')];
  assert.equal(await r.exists(...stored), 0, 'nothing written');
}
/** After the repair: stored once, and a rerun stores nothing more. */
async function assertStoredOnce(epochId: string): Promise<void> {
  assert.deepEqual(await prepare(epochId), { batchCount: 2, submissionCount: 2, malformedCount: 0, storedNow: true });
  assert.deepEqual(await prepare(epochId), { batchCount: 2, submissionCount: 2, malformedCount: 0, storedNow: false });
  assert.deepEqual(await redis!.client.mget(keys.slotSubmissions(a, '1', '1'), keys.slotSubmissions(a, '1', '2'), keys.batchCount(a, epochId)), ['1', '1', '2']);
}

test('applyEpochChunk: a slot counter of another type fails the epoch with nothing written (no batch, no count, no other counter); repaired, counted once', async () => {
  const r = redis!.client;
  await fileTwo('1');
  const counter2 = keys.slotSubmissions(a, '1', '2');
  await r.rpush(counter2, 'x');
  await assert.rejects(prepare('1'), wrongType(counter2));
  assert.equal(await r.exists(keys.epochBatchesStored(a, '1'), keys.batchCount(a, '1'), keys.batchSubmissions(a, '1', 1), keys.slotSubmissions(a, '1', '1')), 0, 'nothing written');
  await r.del(counter2);
  assert.equal((await prepare('1')).batchCount, 2);
  assert.deepEqual(await r.mget(keys.slotSubmissions(a, '1', '1'), counter2), ['1', '1']);
  assert.equal((await prepare('1')).storedNow, false, 'and once only');
  assert.deepEqual(await r.mget(keys.slotSubmissions(a, '1', '1'), counter2), ['1', '1']);
});

test('applyEpochChunk: a slot counter that is no number fails the same way', async () => {
  const r = redis!.client;
  await fileTwo('2');
  const counter1 = keys.slotSubmissions(a, '1', '1');
  await r.set(counter1, 'seven');
  await assert.rejects(prepare('2'), new RegExp(`${counter1.replace(/\./g, '\\.')} holds seven, not a counter: nothing written`));
  assert.equal(await r.exists(keys.epochBatchesStored(a, '2'), keys.slotSubmissions(a, '1', '2')), 0);
  await r.set(counter1, '5');
  await prepare('2');
  assert.deepEqual(await r.mget(counter1, keys.slotSubmissions(a, '1', '2')), ['6', '1']);
});

test("prepareBatches: the epoch's guard of another type fails before anything is written", async () => {
  const r = redis!.client;
  await fileTwo('3');
  const guard = keys.epochBatchesStored(a, '3');
  await r.sadd(guard, 'x');
  await assert.rejects(prepare('3'), wrongType(guard));
  assert.equal(await r.exists(keys.batchCount(a, '3'), keys.slotSubmissions(a, '1', '1')), 0);
  await r.del(guard);
  assert.equal((await prepare('3')).storedNow, true);
});

test("prepareBatches: the epoch's plan of another type fails before anything is written, its chunks included; repaired, stored once", async () => {
  const r = redis!.client;
  await fileTwo('9');
  const plan = keys.epochPlan(a, '9');
  await r.sadd(plan, 'x');
  await assert.rejects(prepare('9'), wrongType(plan));
  await assertNothingStored('9');
  assert.deepEqual(await r.keys('seqflow:EpochPlanChunk.*'), [], 'no plan written');
  await r.del(plan);
  await assertStoredOnce('9');
});

test('applyEpochChunk: the applied-chunks set of another type: nothing written; repaired, stored once', async () => {
  const r = redis!.client;
  await fileTwo('10');
  const applied = keys.epochChunksApplied(a, '10');
  await r.set(applied, '0');
  await assert.rejects(prepare('10'), wrongType(applied));
  await assertNothingStored('10');
  await r.del(applied);
  await assertStoredOnce('10');
});

test("applyEpochChunk: the chunk's hash of another type: nothing written; repaired, stored once", async () => {
  const r = redis!.client;
  await fileTwo('11');
  let chunk = '';
  await assert.rejects(
    prepareWith('11', async () => {
      [chunk] = (await r.keys(`seqflow:EpochPlanChunk.${a}.11.*`)) as [string];
      await r.rename(chunk, 'saved-chunk');
      await r.lpush(chunk, 'x');
    }),
    (err: unknown) => wrongType(chunk).test(String(err)),
  );
  await assertNothingStored('11');
  await r.del(chunk);
  await r.rename('saved-chunk', chunk);
  await assertStoredOnce('11');
});

test("applyEpochChunk: the epoch's guard turned another type after the plan was committed: nothing written; repaired, stored once", async () => {
  const r = redis!.client;
  await fileTwo('12');
  const guard = keys.epochBatchesStored(a, '12');
  await assert.rejects(
    prepareWith('12', async () => void (await r.hset(guard, 'f', 'v'))),
    wrongType(guard),
  );
  assert.equal(await r.type(guard), 'hash', 'the guard untouched');
  await r.del(guard);
  await assertNothingStored('12');
  await assertStoredOnce('12');
});

test('pushBatchRange: a batch of another type: nothing pushed, no batch marked pushed; repaired, every batch pushed once', async () => {
  const r = redis!.client;
  await fileTwo('13');
  await prepare('13');
  const batch2 = keys.batchSubmissions(a, '13', 2);
  const json = (await r.get(batch2))!;
  await r.del(batch2);
  await r.sadd(batch2, json);
  const input = { market: A, epochId: '13', batchCount: 2 };
  await assert.rejects(runActivity(batches.pushBatchesToFinalizer, input), wrongType(batch2));
  assert.equal(await r.exists(keys.finalizerQueue, keys.finalizerPushed(a, '13')), 0, 'nothing pushed or marked');
  await r.del(batch2);
  await r.set(batch2, json);
  assert.deepEqual(await runActivity(batches.pushBatchesToFinalizer, input), { pushedNow: 2 });
  assert.deepEqual(await runActivity(batches.pushBatchesToFinalizer, input), { pushedNow: 0 });
  assert.deepEqual((await r.lrange(keys.finalizerQueue, 0, -1)).map((m) => (JSON.parse(m) as { BatchID: number }).BatchID), [2, 1]);
});

test('pushBatchRange: finalizerQueue of another type (row 1): nothing pushed, no batch marked pushed; repaired, every batch pushed exactly once', async () => {
  const r = redis!.client;
  await fileTwo('4');
  await prepare('4');
  await r.set(keys.finalizerQueue, 'oops');
  const input = { market: A, epochId: '4', batchCount: 2 };
  await assert.rejects(runActivity(batches.pushBatchesToFinalizer, input), wrongType(keys.finalizerQueue));
  assert.equal(await r.exists(keys.finalizerPushed(a, '4')), 0, 'no batch marked pushed');
  assert.equal(await r.get(keys.finalizerQueue), 'oops');
  await r.del(keys.finalizerQueue);
  assert.deepEqual(await runActivity(batches.pushBatchesToFinalizer, input), { pushedNow: 2 });
  assert.deepEqual(await runActivity(batches.pushBatchesToFinalizer, input), { pushedNow: 0 });
  assert.deepEqual((await r.lrange(keys.finalizerQueue, 0, -1)).map((m) => (JSON.parse(m) as { BatchID: number }).BatchID).sort(), [1, 2]);
});

test('pushBatchRange: the pushed-batches guard of another type: nothing pushed', async () => {
  const r = redis!.client;
  await fileTwo('5');
  await prepare('5');
  const guard = keys.finalizerPushed(a, '5');
  await r.set(guard, '1');
  await assert.rejects(runActivity(batches.pushBatchesToFinalizer, { market: A, epochId: '5', batchCount: 2 }), wrongType(guard));
  assert.equal(await r.exists(keys.finalizerQueue), 0);
  await r.del(guard);
  assert.deepEqual(await runActivity(batches.pushBatchesToFinalizer, { market: A, epochId: '5', batchCount: 2 }), { pushedNow: 2 });
});

test('pushOncePerMember: attestorQueue of another type: nothing pushed, nothing marked; repaired, pushed once', async () => {
  const r = redis!.client;
  const input = { market: A, batches: [{ epochId: '6', batchCid: 'bafy6' }] };
  await r.hset(keys.attestorQueue, 'f', 'v');
  await assert.rejects(runActivity(rewards.pushAttestorMessages, input), wrongType(keys.attestorQueue));
  assert.equal(await r.exists(keys.attestorPushed(a, '6')), 0);
  await r.del(keys.attestorQueue);
  assert.deepEqual(await runActivity(rewards.pushAttestorMessages, input), { pushedNow: 1 });
  assert.deepEqual(await runActivity(rewards.pushAttestorMessages, input), { pushedNow: 0 });
  assert.equal(await r.llen(keys.attestorQueue), 1);
});

test('storeRewardUpdateOnce: the update key of another type: nothing stored; repaired, stored once', async () => {
  const r = redis!.client;
  await r.set(keys.totalNodesCount, '3');
  await r.mset(keys.eligibleSlotSubmissions(a, '2', '1'), '4', keys.eligibleSlotSubmissions(a, '2', '3'), '6');
  const input = { market: A, day: '2', kind: 'periodic' as const, epochId: '20' };
  const key = keys.rewardUpdateChunks(a, 'periodic.20');
  await r.lpush(key, 'x');
  await assert.rejects(runActivity(rewards.prepareRewardUpdate, input), wrongType(key));
  assert.equal(await r.type(key), 'list', 'untouched');
  await r.del(key);
  assert.deepEqual(await runActivity(rewards.prepareRewardUpdate, input), { updateId: 'periodic.20', slotCount: 2, eligibleNodes: 0, chunkCount: 1, concurrency: 2 });
});

test("sendRewardChunk: the sent-chunks guard of another type fails before the relayer is called", async () => {
  const r = redis!.client;
  await r.set(keys.totalNodesCount, '1');
  await r.set(keys.eligibleSlotSubmissions(a, '3', '1'), '9');
  const prepared = await runActivity(rewards.prepareRewardUpdate, { market: A, day: '3', kind: 'periodic', epochId: '30' });
  const guard = keys.rewardChunksSent(a, prepared.updateId);
  await r.set(guard, 'x');
  const input = { market: A, day: '3', updateId: prepared.updateId, chunk: 0 };
  await assert.rejects(runActivity(rewards.sendRewardChunk, input), wrongType(guard));
  assert.equal(relayer!.requests.length, 0, 'nothing sent');
  await r.del(guard);
  assert.deepEqual(await runActivity(rewards.sendRewardChunk, input), { sentNow: true });
  assert.deepEqual(await runActivity(rewards.sendRewardChunk, input), { sentNow: false });
  assert.equal(relayer!.accepted('/submitUpdateRewards').length, 1);
});

test('submitBatchSize: a guard key of another type is no mark of ours: WRONGTYPE, nothing sent; repaired, sent once', async () => {
  const r = redis!.client;
  const guard = keys.batchSizeSent(a, '7');
  await r.sadd(guard, 'x');
  const input = { market: A, epochId: '7', batchCount: 3 };
  await assert.rejects(runActivity(relayerActivities.submitBatchSize, input), wrongType(guard));
  assert.equal(relayer!.requests.length, 0);
  await r.del(guard);
  assert.deepEqual(await runActivity(relayerActivities.submitBatchSize, input), { sentNow: true });
  assert.deepEqual(await runActivity(relayerActivities.submitBatchSize, input), { sentNow: false });
  assert.equal(relayer!.accepted('/submitBatchSize').length, 1);
});
