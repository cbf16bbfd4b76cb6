/**
 * An epoch stored in bounded steps, on a real redis-server: the plan committed before any
 * effect, then applied chunk by chunk. Attempts are killed between any two steps (and just after
 * one, its reply lost) and retried while the dequeuer files late submissions: every batch and
 * every count is the first committed plan's, each once. Small limits split a handful of
 * submissions into several header reads (SSCAN too), chunks and push scripts.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { ethers } from 'ethers';
import type { Redis } from 'ioredis';
import type { RedisWorkLimits } from '../../src/activities/batches.js';
import * as keys from '../../src/domain/keys.js';
import { failure, runActivity } from '../support/activity-env.js';
import { batchActivitiesWithoutChain, madeUpHashes, storeBlockHashes } from '../support/stored-window.js';
import { fileSubmission, submissionKey } from '../../devstack/dequeuer.js';
import { startRedis, type RedisServer } from '../../devstack/redis.js';
import { interrupted, WorkerKilled, type Interruption } from './interrupted-redis.js';

const A = ethers.getAddress('0x' + 'a1b2'.repeat(10));
const a = A.toLowerCase();
/** Blocks whose hashes the follower "stored": the window of every epoch below, no chain needed. */
const FIRST = 2000;
const HASHES = madeUpHashes(FIRST, 3);
/** Three members per read: the header holding six submissions is scanned. Chunks: two batches, two slots. */
const LIMITS: RedisWorkLimits = { membersPerRead: 3, chunk: { bytes: 10_000, batches: 2, slots: 2 }, pushBytes: 150 };

let redis: RedisServer | undefined;

/** Batch activities with one project per batch and LIMITS, on `client` (the real one unless interrupted). */
const activitiesOn = (client: Redis) => batchActivitiesWithoutChain(client, { market: A, batchSize: 1, limits: LIMITS });

before(async () => {
  redis = await startRedis();
});

beforeEach(async () => {
  await redis!.client.flushdb();
  await storeBlockHashes(redis!.client, FIRST, HASHES);
});

after(async () => {
  await redis?.stop();
});

const prepareOn = (client: Redis, epochId: string) => runActivity(activitiesOn(client).prepareBatches, { market: A, epochId, fromBlock: FIRST, toBlock: FIRST + 2, day: '9' });
const prepare = (epochId: string) => prepareOn(redis!.client, epochId);
const file = (epochId: string, projectId: string, slotId: number, header: number) => fileSubmission(redis!.client, { market: A, epochId, projectId, slotId, header: HASHES[header]! });
const key = (epochId: string, projectId: string, slotId: number) => submissionKey({ market: A, epochId, projectId, slotId });
const batchJson = (entries: Array<[string, string[]]>) => `{${entries.map(([p, ks]) => `"${p}":[${ks.map((k) => `"${k}"`).join(',')}]`).join(',')}}`;
const slotCounts = (slots: number[]) => redis!.client.mget(slots.map((s) => keys.slotSubmissions(a, '9', String(s))));
const batchesOf = (epochId: string, n: number) => redis!.client.mget(Array.from({ length: n }, (_, i) => keys.batchSubmissions(a, epochId, i + 1)));
const planChunksLeft = () => redis!.client.keys('seqflow:EpochPlanChunk.*');

/**
 * Six submissions of five projects (project p4 in two slots), five slots: with LIMITS three
 * chunks. Header 0 holds four of them (more than a read's three: scanned).
 */
async function fileFirstSet(epochId: string): Promise<void> {
  await file(epochId, 'p1:0x1:U', 1, 0);
  await file(epochId, 'p2:0x2:U', 2, 0);
  await file(epochId, 'p3:0x3:U', 3, 0);
  await file(epochId, 'p4:0x4:U', 1, 0);
  await file(epochId, 'p4:0x4:U', 4, 1);
  await file(epochId, 'p5:0x5:U', 5, 2);
}

/** What the dequeuer files after an attempt collected: a project that sorts first, and a new slot. */
async function fileLateSubmissions(epochId: string): Promise<void> {
  await file(epochId, 'p0:0x0:U', 1, 1);
  await file(epochId, 'p3:0x3:U', 6, 2);
}

/** The first set's batches, counts and result: what must be stored however the attempts went. */
async function assertFirstSetStoredOnce(epochId: string): Promise<void> {
  assert.deepEqual(await batchesOf(epochId, 6), [
    batchJson([['p1:0x1:U', [key(epochId, 'p1:0x1:U', 1)]]]),
    batchJson([['p2:0x2:U', [key(epochId, 'p2:0x2:U', 2)]]]),
    batchJson([['p3:0x3:U', [key(epochId, 'p3:0x3:U', 3)]]]),
    batchJson([['p4:0x4:U', [key(epochId, 'p4:0x4:U', 1), key(epochId, 'p4:0x4:U', 4)]]]),
    batchJson([['p5:0x5:U', [key(epochId, 'p5:0x5:U', 5)]]]),
    null,
  ]);
  assert.equal(await redis!.client.get(keys.batchCount(a, epochId)), '5');
  assert.deepEqual(await slotCounts([1, 2, 3, 4, 5, 6]), ['2', '1', '1', '1', '1', null]);
  assert.deepEqual(JSON.parse((await redis!.client.get(keys.epochBatchesStored(a, epochId)))!), { batchCount: 5, submissionCount: 6, malformedCount: 0 });
  assert.deepEqual((await redis!.client.smembers(keys.epochChunksApplied(a, epochId))).sort(), ['0', '1', '2']);
  assert.deepEqual(await planChunksLeft(), [], 'applied chunks are deleted');
  for (const k of [keys.batchSubmissions(a, epochId, 1), keys.batchSubmissions(a, epochId, 5), keys.batchCount(a, epochId)]) {
    const ttl = await redis!.client.ttl(k);
    assert.ok(ttl > 86_300 && ttl <= 86_400, `TTL of ${k} is ${ttl}`);
  }
}

/** Commands Redis ran during `fn` that may write (anything but read-only commands; a script counts). */
async function writesDuring(fn: () => Promise<unknown>): Promise<string[]> {
  const calls = async () => new Map([...(await redis!.client.info('commandstats')).matchAll(/^cmdstat_(\S+?):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
  const before = await calls();
  await fn();
  const ran = [...(await calls())].filter(([name, n]) => n > (before.get(name) ?? 0) && name !== 'info').map(([name]) => name);
  const readOnly = await Promise.all(ran.map(async (name) => ((await redis!.client.call('COMMAND', 'INFO', name.split('|')[0]!)) as Array<[string, number, string[]]>)[0]![2].includes('readonly')));
  return ran.filter((_, i) => !readOnly[i]);
}

const interruptions: Array<[string, Omit<Interruption, 'command' | 'target'>]> = [
  ['killed after the plan was committed, before the first chunk', { nth: 1, then: 'crash before' }],
  ['killed between chunk 1 and chunk 2', { nth: 2, then: 'crash before' }],
  ['killed just after chunk 2 was applied (its reply lost)', { nth: 2, then: 'crash after' }],
];

for (const [i, [when, at]] of interruptions.entries()) {
  test(`${when}: the retry, with late submissions filed meanwhile, stores the first plan's batches and counts, each once`, async () => {
    const epochId = String(10 + i);
    await fileFirstSet(epochId);
    await assert.rejects(prepareOn(interrupted(redis!.client, { command: 'eval', target: 'applyEpochChunk', ...at }), epochId), WorkerKilled);
    assert.equal(await redis!.client.exists(keys.epochBatchesStored(a, epochId), keys.batchCount(a, epochId)), 0, 'not stored yet');
    await fileLateSubmissions(epochId);
    assert.deepEqual(await prepare(epochId), { batchCount: 5, submissionCount: 6, malformedCount: 0, storedNow: true });
    await assertFirstSetStoredOnce(epochId);
  });
}

test('four retries at once on a committed plan: each chunk applied once, by whichever comes first; one of them completes the epoch', async () => {
  await fileFirstSet('19');
  await assert.rejects(prepareOn(interrupted(redis!.client, { command: 'eval', target: 'applyEpochChunk', nth: 1, then: 'crash before' }), '19'), WorkerKilled);
  await fileLateSubmissions('19');
  const results = await Promise.all(Array.from({ length: 4 }, () => prepare('19')));
  assert.equal(results.filter((r) => r.storedNow).length, 1, JSON.stringify(results));
  for (const r of results) assert.deepEqual({ ...r, storedNow: false }, { batchCount: 5, submissionCount: 6, malformedCount: 0, storedNow: false });
  await assertFirstSetStoredOnce('19');
});

test('killed just after the last chunk was applied: the retry finds the epoch stored, returns its result and writes nothing', async () => {
  await fileFirstSet('20');
  await assert.rejects(prepareOn(interrupted(redis!.client, { command: 'eval', target: 'applyEpochChunk', nth: 3, then: 'crash after' }), '20'), WorkerKilled);
  await fileLateSubmissions('20');
  assert.deepEqual(await writesDuring(async () => assert.deepEqual(await prepare('20'), { batchCount: 5, submissionCount: 6, malformedCount: 0, storedNow: false })), []);
  await assertFirstSetStoredOnce('20');
});

test('a retry after completion writes nothing and returns the first result', async () => {
  await fileFirstSet('21');
  assert.deepEqual(await prepare('21'), { batchCount: 5, submissionCount: 6, malformedCount: 0, storedNow: true });
  await fileLateSubmissions('21');
  assert.deepEqual(await writesDuring(async () => assert.deepEqual(await prepare('21'), { batchCount: 5, submissionCount: 6, malformedCount: 0, storedNow: false })), []);
  await assertFirstSetStoredOnce('21');
});

test('two attempts at once, each with its own collection: the plan committed first is stored, the other one deleted', async () => {
  await fileFirstSet('22');
  // Attempt 1 collects the first set and writes its plan; just before it commits, late
  // submissions arrive and attempt 2 runs to the end with them. Attempt 1 then loses the commit.
  const first = prepareOn(
    interrupted(redis!.client, {
      command: 'set',
      target: keys.epochPlan(a, '22'),
      nth: 1,
      then: async () => {
        await fileLateSubmissions('22');
        assert.deepEqual(await prepare('22'), { batchCount: 6, submissionCount: 8, malformedCount: 0, storedNow: true });
      },
    }),
    '22',
  );
  assert.deepEqual(await first, { batchCount: 6, submissionCount: 8, malformedCount: 0, storedNow: false });
  assert.deepEqual(await batchesOf('22', 7), [
    batchJson([['p0:0x0:U', [key('22', 'p0:0x0:U', 1)]]]),
    batchJson([['p1:0x1:U', [key('22', 'p1:0x1:U', 1)]]]),
    batchJson([['p2:0x2:U', [key('22', 'p2:0x2:U', 2)]]]),
    batchJson([['p3:0x3:U', [key('22', 'p3:0x3:U', 3), key('22', 'p3:0x3:U', 6)]]]),
    batchJson([['p4:0x4:U', [key('22', 'p4:0x4:U', 1), key('22', 'p4:0x4:U', 4)]]]),
    batchJson([['p5:0x5:U', [key('22', 'p5:0x5:U', 5)]]]),
    null,
  ]);
  assert.deepEqual(await slotCounts([1, 2, 3, 4, 5, 6]), ['3', '1', '1', '1', '1', '1']);
  assert.deepEqual(await planChunksLeft(), [], "the losing attempt's chunks are deleted");
});

test("a plan whose chunk expired before it was applied fails the epoch (EpochPlanMissing, not retried), writing nothing more", async () => {
  await fileFirstSet('23');
  await assert.rejects(prepareOn(interrupted(redis!.client, { command: 'eval', target: 'applyEpochChunk', nth: 2, then: 'crash before' }), '23'), WorkerKilled);
  const left = await planChunksLeft();
  assert.equal(left.length, 2);
  const ttl = (k: string) => redis!.client.ttl(k);
  for (const chunk of left) assert.ok((await ttl(chunk)) > 86_300 && (await ttl(chunk)) <= 86_400, 'chunks expire like the batches');
  for (const guard of [keys.epochPlan(a, '23'), keys.epochChunksApplied(a, '23')]) assert.ok((await ttl(guard)) > keys.GUARD_TTL_SECONDS - 100, `${guard} expires like the guards`);
  await redis!.client.del(...left);
  await assert.rejects(prepare('23'), failure({ nonRetryable: true, type: 'EpochPlanMissing', message: /chunk 1 of the plan of epoch 23 is gone/ }));
  assert.deepEqual(await batchesOf('23', 3), [batchJson([['p1:0x1:U', [key('23', 'p1:0x1:U', 1)]]]), batchJson([['p2:0x2:U', [key('23', 'p2:0x2:U', 2)]]]), null]);
  assert.equal(await redis!.client.exists(keys.epochBatchesStored(a, '23'), keys.batchCount(a, '23')), 0);
});

test('a header set larger than a read is read by SSCAN, a cursor at a time, every member collected; smaller ones whole', async () => {
  // 150 members: a hashtable in every Redis version (7.2 keeps sets of up to 128 in a listpack, which SSCAN returns at once).
  const projects = Array.from({ length: 152 }, (_, i) => `q${String(i).padStart(3, '0')}:0x1:U`);
  const pipeline = redis!.client.pipeline();
  for (const [i, p] of projects.entries()) pipeline.sadd(keys.snapshotCollector(a, '24', HASHES[i < 150 ? 0 : i - 149]!), key('24', p, (i % 3) + 1));
  await pipeline.exec();
  const scanned: string[] = [];
  const watched = new Proxy(redis!.client, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (prop === 'sscan') scanned.push(String(args[0]));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const reads = batchActivitiesWithoutChain(watched, { market: A, batchSize: 50, limits: { ...LIMITS, membersPerRead: 100 } });
  const prepared = await runActivity(reads.prepareBatches, { market: A, epochId: '24', fromBlock: FIRST, toBlock: FIRST + 2, day: '9' });
  assert.deepEqual(prepared, { batchCount: 4, submissionCount: 152, malformedCount: 0, storedNow: true });
  assert.ok(scanned.length >= 3, `150 members at COUNT 50: ${scanned.length} SSCAN calls`);
  assert.deepEqual([...new Set(scanned)], [keys.snapshotCollector(a, '24', HASHES[0]!)], 'only the large set is scanned');
  assert.deepEqual(await slotCounts([1, 2, 3]), ['51', '51', '50']);
});

/** The finalizer queue in the order the finalizer BRPOPs it, as BatchIDs. */
const queuedIds = async (epochId: string) =>
  (await redis!.client.lrange(keys.finalizerQueue, 0, -1))
    .reverse()
    .map((m) => JSON.parse(m) as { EpochID: number; BatchID: number })
    .filter((m) => m.EpochID === Number(epochId))
    .map((m) => m.BatchID);

for (const then of ['crash before', 'crash after'] as const) {
  test(`pushes in scripts of about pushBytes each, sent together: the second one lost or its reply lost (${then}), the retry pushes every batch once, in order`, async () => {
    const epochId = then === 'crash before' ? '30' : '31';
    await fileFirstSet(epochId);
    await prepare(epochId);
    const input = { market: A, epochId, batchCount: 5 };
    await assert.rejects(runActivity(activitiesOn(interrupted(redis!.client, { command: 'eval', target: 'pushBatchRange', nth: 2, then })).pushBatchesToFinalizer, input), WorkerKilled);
    const pushedBefore = (await queuedIds(epochId)).length;
    if (then === 'crash before') {
      // The scripts after the lost one were sent and ran, but none pushes past a batch not pushed:
      // what is queued is the first script's batches, 1..n, and nothing after the gap.
      assert.ok(pushedBefore >= 1 && pushedBefore < 4, `the first script pushed part of the epoch: ${pushedBefore}`);
      assert.deepEqual(await queuedIds(epochId), Array.from({ length: pushedBefore }, (_, i) => i + 1), 'no gap pushed past');
    } else {
      // Sent together: the scripts after it ran too.
      assert.deepEqual(await queuedIds(epochId), [1, 2, 3, 4, 5]);
    }
    assert.deepEqual(await runActivity(activitiesOn(redis!.client).pushBatchesToFinalizer, input), { pushedNow: 5 - pushedBefore });
    assert.deepEqual(await queuedIds(epochId), [1, 2, 3, 4, 5]);
    const [batch4] = await batchesOf(epochId, 4).then((b) => b.slice(3));
    assert.ok((await redis!.client.lrange(keys.finalizerQueue, 0, -1)).includes(`{"DataMarketAddress":"${A}","EpochID":${epochId},"BatchID":4,"Batch":${batch4}}`));
  });
}

test('an epoch of more batches than a push script is given: all pushed once, in order', async () => {
  const projects = Array.from({ length: 230 }, (_, i) => `r${String(i).padStart(3, '0')}:0x1:U`);
  const pipeline = redis!.client.pipeline();
  for (const p of projects) pipeline.sadd(keys.snapshotCollector(a, '32', HASHES[0]!), key('32', p, 1));
  await pipeline.exec();
  const big = batchActivitiesWithoutChain(redis!.client, { market: A, batchSize: 1 });
  const prepared = await runActivity(big.prepareBatches, { market: A, epochId: '32', fromBlock: FIRST, toBlock: FIRST + 2, day: '9' });
  assert.equal(prepared.batchCount, 230);
  assert.deepEqual(await runActivity(big.pushBatchesToFinalizer, { market: A, epochId: '32', batchCount: 230 }), { pushedNow: 230 });
  assert.deepEqual(await queuedIds('32'), Array.from({ length: 230 }, (_, i) => i + 1));
});
