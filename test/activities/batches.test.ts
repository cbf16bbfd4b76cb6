/**
 * The batch activities on a real Redis and a real Hardhat node (for the canonical hashes the
 * follower did not store): what prepareBatches writes, that it writes it once however often
 * and however concurrently it runs, and that pushBatchesToFinalizer pushes each batch once,
 * in BatchID order, also after a crash half-way.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { ethers } from 'ethers';
import { createBatchActivities } from '../../src/activities/batches.js';
import { ChainClient, RejectedRpcAnswer } from '../../src/chain/rpc.js';
import * as keys from '../../src/domain/keys.js';
import { AdaptiveRange } from '../../src/follower/range.js';
import type { PreparedBatches } from '../../src/domain/types.js';
import { startHardhatNode, type HardhatNode } from '../../devstack/chain.js';
import { fileRawKey, fileSubmission, submissionKey } from '../../devstack/dequeuer.js';
import { startRedis, type RedisServer } from '../../devstack/redis.js';
import { runActivity, startActivity } from '../support/activity-env.js';

const A = ethers.getAddress('0x' + 'a1b2'.repeat(10));
const a = A.toLowerCase();
const OTHER = ethers.getAddress('0x' + 'c3d4'.repeat(10));
/** The range the tests prepare: blocks R..R+2. */
const R = 5;

let node: HardhatNode | undefined;
let redis: RedisServer | undefined;
let provider: ethers.JsonRpcProvider;
let client: ChainClient;
/** Block numbers asked from the chain by the batch activities (headers). */
let fetchedFromChain: number[] = [];
let activities: ReturnType<typeof createBatchActivities>;
/** BATCH_SIZE 1: one project per batch, for the multi-batch push tests. */
let onePerBatch: ReturnType<typeof createBatchActivities>;
/** Lower-case hashes of blocks R..R+3. */
let h: [string, string, string, string];

const key = (epochId: string, projectId: string, slotId: number) => submissionKey({ market: A, epochId, projectId, slotId });
const batchJson = (entries: Array<[string, string[]]>) => `{${entries.map(([p, ks]) => `"${p}":[${ks.map((k) => `"${k}"`).join(',')}]`).join(',')}}`;
const message = (epochId: string, batchId: number, batch: string) => `{"DataMarketAddress":"${A}","EpochID":${epochId},"BatchID":${batchId},"Batch":${batch}}`;
/** The finalizer queue in the order the finalizer BRPOPs it. */
const queue = async () => (await redis!.client.lrange(keys.finalizerQueue, 0, -1)).reverse();
const slotCounts = (day: string, slots: number[]) => redis!.client.mget(slots.map((s) => keys.slotSubmissions(a, day, String(s))));
const prepare = (epochId: string, day: string) => runActivity(activities.prepareBatches, { market: A, epochId, fromBlock: R, toBlock: R + 2, day });

before(async () => {
  [node, redis] = await Promise.all([startHardhatNode({ intervalMs: 0 }), startRedis()]);
  provider = new ethers.JsonRpcProvider(node.url, undefined, { staticNetwork: true });
  for (let i = 0; i < R + 5; i++) await provider.send('evm_mine', []);
  const hashOf = async (n: number) => ((await provider.send('eth_getBlockByNumber', [ethers.toQuantity(n), false])) as { hash: string }).hash.toLowerCase();
  h = (await Promise.all([R, R + 1, R + 2, R + 3].map(hashOf))) as typeof h;
  client = new ChainClient([node.url]);
  const headers = client.headers.bind(client);
  client.headers = (numbers, opts) => {
    fetchedFromChain.push(...numbers);
    return headers(numbers, opts);
  };
  // The window settings are prepareEpoch's (test/activities/epoch-window.test.ts); these tests use the other activities.
  const window = { contract: A, confirmations: 2, maxReorgDepth: 64, closeWaitMs: 1000, pollIntervalMs: 100 };
  activities = createBatchActivities({ chain: client, redis: redis.client, batchSize: 2, window, range: new AdaptiveRange(2000) });
  onePerBatch = createBatchActivities({ chain: client, redis: redis.client, batchSize: 1, window, range: new AdaptiveRange(2000) });
});

after(async () => {
  provider?.destroy();
  await Promise.all([node?.stop(), redis?.stop()]);
});

const P1 = 'pairContract:0xabc:UNISWAP';
const P2 = 'aggregate:0xdef:UNISWAP';
const P3 = 'zeta:0x123:UNISWAP';
const EPOCH7_BATCHES = [
  batchJson([
    [P2, [key('7', P2, 1)]],
    [P1, [key('7', P1, 1), key('7', P1, 2)]],
  ]),
  batchJson([[P3, [key('7', P3, 3)]]]),
];
const EPOCH7_RESULT = { batchCount: 2, submissionCount: 4, malformedCount: 6 };

test('prepareBatches stores the batches, the batch count and the slot counts of the submissions under the canonical hashes', async () => {
  const r = redis!.client;
  // The follower stored R and R+2; R+1 must come from the chain.
  await r.set(keys.blockHashByNumber(R), h[0], 'EX', 600);
  await r.set(keys.blockHashByNumber(R + 2), h[2], 'EX', 600);
  const file = (projectId: string, slotId: number, header: string) => fileSubmission(r, { market: A, epochId: 7, projectId, slotId, header });
  await file(P1, 2, h[0]);
  await file(P1, 1, h[1]);
  await file(P1, 1, h[2]); // the same submission under two headers counts once
  await file(P2, 1, h[2]);
  await file(P3, 3, h[1]);
  await file('forked:0x999:UNISWAP', 9, '0x' + 'ab'.repeat(32)); // no canonical block
  await file('late:0x888:UNISWAP', 8, h[3]); // a block after the range
  const malformed = ['not-a-submission-key', `${a}.7.too.many.parts`, `${a}.8.other-epoch:0x1:X.1`, `${a}.7.badslot:0x1:X.x`, `${a}.7..1`, `${OTHER.toLowerCase()}.7.other-market:0x1:X.1`];
  for (const [i, member] of malformed.entries()) await fileRawKey(r, A, 7, h[i % 3]!, member);

  fetchedFromChain = [];
  const run = startActivity(activities.prepareBatches, [{ market: A, epochId: '7', fromBlock: R, toBlock: R + 2, day: '3' }]);
  const result = await run.result;
  assert.deepEqual(result, { ...EPOCH7_RESULT, storedNow: true });
  assert.deepEqual(fetchedFromChain, [R + 1], 'only the hash the follower did not store is asked from the chain');
  assert.ok(run.heartbeats.length >= 1);
  assert.equal(run.logs.filter((l) => l.level === 'WARN' && l.message.startsWith('malformed submission key')).length, malformed.length);

  // Projects sorted, two per batch, keys sorted and deduplicated.
  assert.deepEqual(await r.mget(keys.batchSubmissions(a, '7', 1), keys.batchSubmissions(a, '7', 2), keys.batchSubmissions(a, '7', 3)), [...EPOCH7_BATCHES, null]);
  for (const k of [keys.batchSubmissions(a, '7', 1), keys.batchSubmissions(a, '7', 2), keys.batchCount(a, '7')]) {
    const ttl = await r.ttl(k);
    assert.ok(ttl > 86_300 && ttl <= 86_400, `TTL of ${k} is ${ttl}`);
  }
  assert.equal(await r.get(keys.batchCount(a, '7')), '2');
  assert.deepEqual(await slotCounts('3', [1, 2, 3, 8, 9]), ['2', '1', '1', null, null]);
  assert.equal((await r.keys(`BatchSubmissionsKey.${OTHER.toLowerCase()}.*`)).length, 0);
});

test('prepareBatches again, even with submissions filed since: nothing written, the first result returned', async () => {
  const r = redis!.client;
  await fileSubmission(r, { market: A, epochId: 7, projectId: 'newcomer:0x777:UNISWAP', slotId: 5, header: h[0] });
  await fileSubmission(r, { market: A, epochId: 7, projectId: P1, slotId: 4, header: h[1] });
  assert.deepEqual(await prepare('7', '3'), { ...EPOCH7_RESULT, storedNow: false });
  assert.deepEqual(await prepare('7', '3'), { ...EPOCH7_RESULT, storedNow: false });
  assert.deepEqual(await r.mget(keys.batchSubmissions(a, '7', 1), keys.batchSubmissions(a, '7', 2), keys.batchSubmissions(a, '7', 3)), [...EPOCH7_BATCHES, null]);
  assert.equal(await r.get(keys.batchCount(a, '7')), '2');
  assert.deepEqual(await slotCounts('3', [1, 2, 3, 4, 5]), ['2', '1', '1', null, null]);
});

test('concurrent runs of prepareBatches store and count once', async () => {
  const r = redis!.client;
  await fileSubmission(r, { market: A, epochId: 8, projectId: P1, slotId: 1, header: h[0] });
  await fileSubmission(r, { market: A, epochId: 8, projectId: P2, slotId: 1, header: h[1] });
  await fileSubmission(r, { market: A, epochId: 8, projectId: P3, slotId: 2, header: h[2] });
  const results: PreparedBatches[] = await Promise.all(Array.from({ length: 4 }, () => prepare('8', '4')));
  assert.equal(results.filter((x) => x.storedNow).length, 1, JSON.stringify(results));
  for (const x of results) assert.deepEqual({ ...x, storedNow: false }, { batchCount: 2, submissionCount: 3, malformedCount: 0, storedNow: false });
  assert.deepEqual(await slotCounts('4', [1, 2]), ['2', '1']);
  assert.equal(await r.get(keys.batchCount(a, '8')), '2');
  assert.deepEqual(await r.mget(keys.batchSubmissions(a, '8', 1), keys.batchSubmissions(a, '8', 2)), [
    batchJson([
      [P2, [key('8', P2, 1)]],
      [P1, [key('8', P1, 1)]],
    ]),
    batchJson([[P3, [key('8', P3, 2)]]]),
  ]);
});

test('prepareBatches over blocks the chain does not have yet fails (to be retried) and writes nothing', async () => {
  const r = redis!.client;
  const head = Number(await provider.send('eth_blockNumber', []));
  await assert.rejects(
    runActivity(activities.prepareBatches, { market: A, epochId: '13', fromBlock: head + 1000, toBlock: head + 1002, day: '7' }),
    (err: unknown) => err instanceof RejectedRpcAnswer && /does not serve block/.test(err.message),
  );
  assert.equal(await r.exists(keys.epochBatchesStored(a, '13')), 0);
  assert.equal(await r.exists(keys.batchCount(a, '13')), 0);
});

test('pushBatchesToFinalizer pushes one exact message per batch in BatchID order, once', async () => {
  const r = redis!.client;
  await r.del(keys.finalizerQueue);
  const input = { market: A, epochId: '7', batchCount: 2 };
  assert.deepEqual(await runActivity(activities.pushBatchesToFinalizer, input), { pushedNow: 2 });
  const expectedQueue = EPOCH7_BATCHES.map((b, i) => message('7', i + 1, b));
  assert.deepEqual(await queue(), expectedQueue);
  assert.deepEqual((await r.smembers(keys.finalizerPushed(a, '7'))).sort(), ['1', '2']);
  const ttl = await r.ttl(keys.finalizerPushed(a, '7'));
  assert.ok(ttl > 0 && ttl <= keys.GUARD_TTL_SECONDS);

  assert.deepEqual(await runActivity(activities.pushBatchesToFinalizer, input), { pushedNow: 0 });
  assert.deepEqual(await queue(), expectedQueue);
  // A batch that expired after it was pushed is no loss.
  await r.del(keys.batchSubmissions(a, '7', 1));
  assert.deepEqual(await runActivity(activities.pushBatchesToFinalizer, input), { pushedNow: 0 });
  assert.deepEqual(await queue(), expectedQueue);
});

test('after a crash half-way (batch 1 pushed), only batches 2..N are pushed', async () => {
  const r = redis!.client;
  const projects = ['p1:0x1:U', 'p2:0x2:U', 'p3:0x3:U', 'p4:0x4:U'];
  for (const [i, p] of projects.entries()) await fileSubmission(r, { market: A, epochId: 10, projectId: p, slotId: i + 1, header: h[i % 3]! });
  const prepared = await runActivity(onePerBatch.prepareBatches, { market: A, epochId: '10', fromBlock: R, toBlock: R + 2, day: '5' });
  assert.deepEqual(prepared, { batchCount: 4, submissionCount: 4, malformedCount: 0, storedNow: true });
  const expectedQueue = projects.map((p, i) => message('10', i + 1, batchJson([[p, [key('10', p, i + 1)]]])));

  await r.del(keys.finalizerQueue);
  // What the crashed attempt had done: batch 1 marked pushed and pushed.
  await r.sadd(keys.finalizerPushed(a, '10'), '1');
  await r.lpush(keys.finalizerQueue, expectedQueue[0]!);
  const input = { market: A, epochId: '10', batchCount: 4 };
  assert.deepEqual(await runActivity(onePerBatch.pushBatchesToFinalizer, input), { pushedNow: 3 });
  assert.deepEqual(await queue(), expectedQueue);
  assert.deepEqual(await runActivity(onePerBatch.pushBatchesToFinalizer, input), { pushedNow: 0 });
  assert.deepEqual(await queue(), expectedQueue);
});

test('a batch gone from Redis before it was pushed fails the push non-retryably (BatchesMissing), pushing nothing', async () => {
  const r = redis!.client;
  for (const [i, p] of ['q1:0x1:U', 'q2:0x2:U', 'q3:0x3:U'].entries()) await fileSubmission(r, { market: A, epochId: 11, projectId: p, slotId: 1, header: h[i]! });
  assert.equal((await runActivity(onePerBatch.prepareBatches, { market: A, epochId: '11', fromBlock: R, toBlock: R + 2, day: '5' })).batchCount, 3);
  await r.del(keys.batchSubmissions(a, '11', 2));
  await r.del(keys.finalizerQueue);
  const isMissing = (ids: string) => (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, 'BatchesMissing');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, new RegExp(`batches ${ids} of epoch 11`));
    return true;
  };
  await assert.rejects(runActivity(onePerBatch.pushBatchesToFinalizer, { market: A, epochId: '11', batchCount: 3 }), isMissing('2'));
  // A count beyond what was stored is the same loss.
  await assert.rejects(runActivity(onePerBatch.pushBatchesToFinalizer, { market: A, epochId: '11', batchCount: 5 }), isMissing('2, 4, 5'));
  assert.deepEqual(await queue(), []);
  assert.equal(await r.exists(keys.finalizerPushed(a, '11')), 0);
});

test('an epoch without submissions: BatchCountKey 0, nothing pushed', async () => {
  const r = redis!.client;
  await fileRawKey(r, A, 12, h[0], 'garbage');
  assert.deepEqual(await prepare('12', '6'), { batchCount: 0, submissionCount: 0, malformedCount: 1, storedNow: true });
  assert.equal(await r.get(keys.batchCount(a, '12')), '0');
  const ttl = await r.ttl(keys.batchCount(a, '12'));
  assert.ok(ttl > 86_300 && ttl <= 86_400);
  assert.equal(await r.exists(keys.batchSubmissions(a, '12', 1)), 0);
  assert.deepEqual(await r.keys(`SlotSubmissionsKey.${a}.6.*`), []);
  assert.deepEqual(await prepare('12', '6'), { batchCount: 0, submissionCount: 0, malformedCount: 1, storedNow: false });

  await r.del(keys.finalizerQueue);
  assert.deepEqual(await runActivity(activities.pushBatchesToFinalizer, { market: A, epochId: '12', batchCount: 0 }), { pushedNow: 0 });
  assert.deepEqual(await queue(), []);
});
