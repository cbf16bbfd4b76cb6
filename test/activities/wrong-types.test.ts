/**
 * Every Redis script and guard of seqflow against a key of the wrong type (an operator's
 * mistake, a neighbour's bug), on a real redis-server: the activity fails with the key named,
 * nothing is written and nothing is marked done; once the key is repaired, the effect happens
 * exactly once. (Redis keeps what a script wrote before an error: the scripts check first.)
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { ethers } from 'ethers';
import { createBatchActivities } from '../../src/activities/batches.js';
import { createRelayerActivities } from '../../src/activities/relayer.js';
import { createRewardActivities } from '../../src/activities/rewards.js';
import { ChainClient } from '../../src/chain/rpc.js';
import * as keys from '../../src/domain/keys.js';
import { AdaptiveRange } from '../../src/follower/range.js';
import { runActivity } from '../support/activity-env.js';
import { fileSubmission } from '../support/dequeuer.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { startRelayer, type RelayerStandIn } from '../support/relayer.js';

const A = ethers.getAddress('0x' + 'a1b2'.repeat(10));
const a = A.toLowerCase();
const TOKEN = 'token';
/** Blocks whose hashes the follower "stored": the window of the epochs below, no chain needed. */
const FIRST = 1000;
const HASHES = [FIRST, FIRST + 1].map((n) => '0x' + n.toString(16).padStart(64, '0'));

let redis: RedisServer | undefined;
let relayer: RelayerStandIn | undefined;
let batches: ReturnType<typeof createBatchActivities>;
let relayerActivities: ReturnType<typeof createRelayerActivities>;
let rewards: ReturnType<typeof createRewardActivities>;

before(async () => {
  [redis, relayer] = await Promise.all([startRedis(), startRelayer(TOKEN)]);
  // No chain is asked: every block hash the tests use is stored.
  const chain = new ChainClient(['http://127.0.0.1:9']);
  const relayerSettings = { url: relayer.url, authToken: TOKEN, timeoutMs: 5000 };
  batches = createBatchActivities({
    chain,
    redis: redis.client,
    batchSize: 1,
    window: { contract: A, confirmations: 2, maxReorgDepth: 64, closeWaitMs: 1000, pollIntervalMs: 100 },
    range: new AdaptiveRange(2000),
  });
  relayerActivities = createRelayerActivities({ redis: redis.client, relayer: relayerSettings });
  rewards = createRewardActivities({ chain, redis: redis.client, relayer: relayerSettings, rewards: { batchSize: 2, epochInterval: 10, pastDaysBuffer: 3, concurrentUpdates: 2, dayTransitionBufferEpochs: 2 } });
});

beforeEach(async () => {
  await redis!.client.flushdb();
  await redis!.client.mset(HASHES.flatMap((h, i) => [keys.blockHashByNumber(FIRST + i), h]));
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

const prepare = (epochId: string) => runActivity(batches.prepareBatches, { market: A, epochId, fromBlock: FIRST, toBlock: FIRST + 1, day: '1' });

test('storeEpochBatches: a slot counter of another type fails the epoch with nothing written (no batch, no count, no other counter); repaired, counted once', async () => {
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

test('storeEpochBatches: a slot counter that is no number fails the same way', async () => {
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

test("storeEpochBatches: the epoch's guard of another type fails before anything is written", async () => {
  const r = redis!.client;
  await fileTwo('3');
  const guard = keys.epochBatchesStored(a, '3');
  await r.sadd(guard, 'x');
  await assert.rejects(prepare('3'), wrongType(guard));
  assert.equal(await r.exists(keys.batchCount(a, '3'), keys.slotSubmissions(a, '1', '1')), 0);
  await r.del(guard);
  assert.equal((await prepare('3')).storedNow, true);
});

test('pushOncePerMember: finalizerQueue of another type (row 1): nothing pushed, no batch marked pushed; repaired, every batch pushed exactly once', async () => {
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

test('pushOncePerMember: the pushed-batches guard of another type: nothing pushed', async () => {
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
