/**
 * prepareEpoch on a real Hardhat node (behind the fault-injecting proxy) and a real Redis: the
 * submission window on chain time (the release block and every later block whose timestamp is
 * at most the release's plus the window), how it closes (the first block past it, or the wait
 * running out at the confirmed head), a release that left the chain (rebased or orphaned), and
 * heads that cannot be trusted. Blocks are mined with exact timestamps, so windows are exact.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { toBeHex } from 'ethers';
import { createBatchActivities } from '../../src/activities/batches.js';
import { createRelayerActivities } from '../../src/activities/relayer.js';
import { createSubmitActivities } from '../../src/activities/submit.js';
import { ChainClient, RejectedRpcAnswer } from '../../src/chain/rpc.js';
import * as keys from '../../src/domain/keys.js';
import { createContractReader } from '../../src/activities/chain.js';
import { AdaptiveRange } from '../../src/follower/range.js';
import type { PrepareEpochInput, ReleaseBlock } from '../../src/domain/types.js';
import { failure, startActivity } from '../support/activity-env.js';
import { waitFor } from '../../devstack/process.js';
import type { TestChain } from '../../devstack/chain.js';
import { fileRawKey, fileSubmission } from '../../devstack/dequeuer.js';
import type { RedisServer } from '../../devstack/redis.js';
import type { RpcProxy } from '../../devstack/rpc-proxy.js';
import { startRelayer, type RelayerStandIn } from '../../devstack/relayer.js';
import { startProxiedChain, type ProxiedChain } from '../support/proxied-chain.js';

const CONFIRMATIONS = 2;
const CLOSE_WAIT_MS = 1500;
const WINDOW = 7;

let stack: ProxiedChain | undefined;
let redis: RedisServer | undefined;
let proxy: RpcProxy | undefined;
let testChain: TestChain;
let activities: ReturnType<typeof createBatchActivities>;
let relayer: RelayerStandIn | undefined;
let A: string;

const RELAYER_TOKEN = 'window-test-token';

before(async () => {
  stack = await startProxiedChain(1);
  ({ redis, proxy, chain: testChain } = stack);
  relayer = await startRelayer(RELAYER_TOKEN);
  [A] = testChain.markets as [string];
  activities = createBatchActivities({
    chain: new ChainClient([proxy.url]),
    redis: redis.client,
    batchSize: 2,
    window: { contract: testChain.protocolStateAddress, confirmations: CONFIRMATIONS, maxReorgDepth: 64, closeWaitMs: CLOSE_WAIT_MS, pollIntervalMs: 100 },
    range: new AdaptiveRange(2000),
  });
});

beforeEach(() => proxy?.clear());

after(async () => {
  await Promise.all([stack?.stop(), relayer?.stop()]);
});

const latestTimestamp = async () => Number(((await testChain.provider.send('eth_getBlockByNumber', ['latest', false])) as { timestamp: string }).timestamp);

/** Mines one block with this timestamp (seconds); returns its number and hash. */
async function mineAt(timestamp: number): Promise<{ blockNumber: number; blockHash: string }> {
  await testChain.provider.send('evm_mine', [timestamp]);
  const blockNumber = await testChain.blockNumber();
  return { blockNumber, blockHash: await testChain.blockHash(blockNumber) };
}

/** Releases the market's next epoch in a block with timestamp `timestamp`. */
async function releaseAt(timestamp: number): Promise<{ epochId: number; release: ReleaseBlock }> {
  await testChain.provider.send('evm_setNextBlockTimestamp', [timestamp]);
  const rel = await testChain.releaseEpoch(A);
  return { epochId: rel.epochId, release: { blockNumber: rel.blockNumber, blockHash: rel.blockHash, timestamp } };
}

const input = (epochId: number, release: ReleaseBlock, extra: Partial<PrepareEpochInput> = {}): PrepareEpochInput => ({
  market: A,
  epochId: String(epochId),
  day: '1',
  release,
  submissionWindowSeconds: WINDOW,
  ...extra,
});

/** prepareEpoch as Temporal runs it: scheduled now (the window's close wait counts from there). */
const start = (i: PrepareEpochInput) => startActivity(activities.prepareEpoch, [i], { scheduledTimestampMs: Date.now() });
const prepare = (i: PrepareEpochInput) => start(i).result;

const file = (epochId: number, projectId: string, slotId: number, header: string) => fileSubmission(redis!.client, { market: A, epochId, projectId, slotId, header });

test('the window is the release block and every later block up to its time plus the window; the first block past it closes it', async () => {
  const t = (await latestTimestamp()) + 1;
  const { epochId, release } = await releaseAt(t);
  const blocks = [];
  for (let s = 1; s <= WINDOW + 2; s++) blocks.push(await mineAt(t + s)); // t+1 .. t+9
  const last = blocks[WINDOW - 1]!; // timestamp t+7: the window's last block
  const past = blocks[WINDOW]!; // timestamp t+8
  await file(epochId, 'p1:0x1:NS', 1, release.blockHash);
  await file(epochId, 'p2:0x1:NS', 2, blocks[2]!.blockHash);
  await file(epochId, 'p3:0x1:NS', 3, last.blockHash);
  await file(epochId, 'late:0x1:NS', 4, past.blockHash); // filed under a block after the window: not batched
  await fileRawKey(redis!.client, A, epochId, blocks[3]!.blockHash, 'not-a-key');

  const prepared = await prepare(input(epochId, release));
  assert.deepEqual(prepared, {
    kind: 'prepared',
    window: { fromBlock: release.blockNumber, toBlock: last.blockNumber, closedBy: 'next-block' },
    batchCount: 2,
    submissionCount: 3,
    malformedCount: 1,
    storedNow: true,
  });
  const a = A.toLowerCase();
  assert.equal(await redis!.client.get(keys.batchCount(a, String(epochId))), '2');
  assert.deepEqual(await redis!.client.mget(keys.slotSubmissions(a, '1', '3'), keys.slotSubmissions(a, '1', '4')), ['1', null]);

  // A second run (a retry after a crash) returns the first run's result, window included, and writes nothing.
  const again = await prepare(input(epochId, release));
  assert.deepEqual(again, { ...prepared, storedNow: false });
  assert.deepEqual(await redis!.client.mget(keys.slotSubmissions(a, '1', '3')), ['1']);
});

test('prepared long after (a catch-up, row 9): the same blocks by their timestamps, never up to the current head', async () => {
  const t = (await latestTimestamp()) + 1;
  const { epochId, release } = await releaseAt(t);
  const inWindow = [];
  for (let s = 1; s <= WINDOW; s++) inWindow.push(await mineAt(t + s));
  const late = await mineAt(t + WINDOW + 5);
  await testChain.mineRegular(500);
  for (const [i, b] of inWindow.entries()) await file(epochId, `p${i}:0x1:NS`, i + 1, b.blockHash);
  await file(epochId, 'late:0x1:NS', 99, late.blockHash);
  const since = proxy!.calls.length;

  const prepared = await prepare(input(epochId, release));
  assert.equal(prepared.kind, 'prepared');
  assert.ok(prepared.kind === 'prepared');
  assert.deepEqual(prepared.window, { fromBlock: release.blockNumber, toBlock: inWindow.at(-1)!.blockNumber, closedBy: 'next-block' });
  assert.equal(prepared.submissionCount, WINDOW, 'every submission filed under a block of the window, none after');
  const headers = proxy!.calls.slice(since).filter((c) => c.method === 'eth_getBlockByNumber').length;
  assert.ok(headers <= 130, `${headers} headers fetched: the window's, not the ${500 + WINDOW} blocks up to the head`);
});

test('the window waits for the first block past its end, then closes at once', async () => {
  const t = (await latestTimestamp()) + 1;
  const { epochId, release } = await releaseAt(t);
  const inside = await mineAt(t + WINDOW);
  const run = start(input(epochId, release));
  await new Promise((r) => setTimeout(r, 400));
  const t0 = performance.now();
  await mineAt(t + WINDOW + 1);
  const prepared = await run.result;
  assert.ok(performance.now() - t0 < 1000, 'closed within a poll or two of the block');
  assert.ok(prepared.kind === 'prepared');
  assert.deepEqual(prepared.window, { fromBlock: release.blockNumber, toBlock: inside.blockNumber, closedBy: 'next-block' });
  assert.ok(run.heartbeats.length >= 2, 'it heartbeated while waiting');
});

test('no block past the end within WINDOW_CLOSE_WAIT: closed at the confirmed head (a halted chain delays an epoch, never holds it)', async () => {
  const t = (await latestTimestamp()) + 1;
  const { epochId, release } = await releaseAt(t);
  // Blocks of the same second: inside a window of 0 s, and none past it.
  const same = [await mineAt(t), await mineAt(t), await mineAt(t)];
  const t0 = performance.now();
  const prepared = await prepare(input(epochId, release, { submissionWindowSeconds: 0 }));
  const ms = performance.now() - t0;
  assert.ok(prepared.kind === 'prepared');
  assert.deepEqual(prepared.window, { fromBlock: release.blockNumber, toBlock: same[0]!.blockNumber, closedBy: 'wait-timeout' }, 'the head minus CONFIRMATIONS');
  assert.ok(ms >= CLOSE_WAIT_MS - 100 && ms < CLOSE_WAIT_MS + 2000, `closed after ${ms.toFixed(0)} ms`);
});

test('a release that left the chain and is on no canonical block: orphaned, nothing written (row 7)', async () => {
  const t = (await latestTimestamp()) + 1;
  const snapshot = await testChain.snapshot();
  const { epochId, release } = await releaseAt(t);
  await file(epochId, 'p:0x1:NS', 77, release.blockHash);
  await testChain.revert(snapshot);
  for (let s = 0; s < 12; s++) await mineAt(t + s);
  const result = await prepare(input(epochId, release));
  assert.equal(result.kind, 'orphaned');
  assert.ok(result.kind === 'orphaned');
  assert.match(result.detail, new RegExp(`block ${release.blockNumber} ${release.blockHash} left the chain, and no block from \\d+ to \\d+ holds the release`));
  const a = A.toLowerCase();
  assert.equal(await redis!.client.exists(keys.epochBatchesStored(a, String(epochId)), keys.batchCount(a, String(epochId)), keys.slotSubmissions(a, '1', '77')), 0);
});

test('a release that left the chain and is now in another block: rebased onto that block, nothing written yet', async () => {
  const t = (await latestTimestamp()) + 1;
  const snapshot = await testChain.snapshot();
  const { epochId, release } = await releaseAt(t);
  await testChain.revert(snapshot);
  await mineAt(t);
  await mineAt(t + 1);
  // releaseMany, not releaseEpoch: the same signed transaction again would have the same hash,
  // and Hardhat would hand back the receipt of the reverted one.
  await testChain.provider.send('evm_setNextBlockTimestamp', [t + 2]);
  const rereleased = await testChain.releaseMany(A, 1);
  assert.deepEqual(rereleased.epochIds, [epochId], 'the same epoch, released on the new fork');
  const again = { release: { blockNumber: rereleased.blockNumber, blockHash: rereleased.blockHash, timestamp: t + 2 } };
  for (let s = 3; s < 14; s++) await mineAt(t + s);
  const result = await prepare(input(epochId, release));
  assert.deepEqual(result, { kind: 'rebased', release: again.release });
  assert.equal(await redis!.client.exists(keys.epochBatchesStored(A.toLowerCase(), String(epochId))), 0);
});

test('a release that moved, looked up under a provider limit of 20 blocks per eth_getLogs: the span adapts, rebased', async () => {
  await testChain.mineRegular(100); // the look-up spans MAX_REORG_DEPTH blocks below the release
  const t = (await latestTimestamp()) + 1;
  const snapshot = await testChain.snapshot();
  const { epochId, release } = await releaseAt(t);
  await testChain.revert(snapshot);
  await mineAt(t);
  await testChain.provider.send('evm_setNextBlockTimestamp', [t + 1]);
  const rereleased = await testChain.releaseMany(A, 1);
  for (let s = 2; s < 12; s++) await mineAt(t + s);
  const span = (p: unknown[]) => {
    const f = p[0] as { fromBlock?: string; toBlock?: string };
    return f.fromBlock === undefined ? 0 : Number(f.toBlock) - Number(f.fromBlock) + 1;
  };
  const refused = proxy!.inject({ method: 'eth_getLogs', when: (p) => span(p) > 20, error: { code: -32005, message: 'exceed maximum block range: 20' } });
  const result = await prepare(input(epochId, release));
  assert.deepEqual(result, { kind: 'rebased', release: { blockNumber: rereleased.blockNumber, blockHash: rereleased.blockHash, timestamp: t + 1 } });
  assert.ok(refused.hits() >= 1);
});

test('windows closing together share the worker\'s head reads and read their blocks once; each closes on the same block', async () => {
  // As the worker builds them: the windows read heads through the contract's shared reader.
  const chain = new ChainClient([proxy!.url]);
  const range = new AdaptiveRange(2000);
  const shared = createBatchActivities({
    chain,
    heads: createContractReader(chain, range, { contract: testChain.protocolStateAddress, followSnapshotBatches: false, pollIntervalMs: 100 }),
    redis: redis!.client,
    batchSize: 2,
    window: { contract: testChain.protocolStateAddress, confirmations: CONFIRMATIONS, maxReorgDepth: 64, closeWaitMs: 60_000, pollIntervalMs: 100 },
    range,
  });
  const t = (await latestTimestamp()) + 1;
  await testChain.provider.send('evm_setNextBlockTimestamp', [t]);
  const released = await testChain.releaseMany(A, 5);
  const release = { blockNumber: released.blockNumber, blockHash: released.blockHash, timestamp: t };
  const inside = await mineAt(t + WINDOW);
  const runs = released.epochIds.map((epochId) => startActivity(shared.prepareEpoch, [input(epochId, release)], { scheduledTimestampMs: Date.now() }));
  await waitFor('every window polled once', async () => runs.every((r) => r.heartbeats.length >= 1), 10_000, 20);
  const since = proxy!.calls.length;
  const polls = runs.reduce((n, r) => n + r.heartbeats.length, 0);
  await new Promise((r) => setTimeout(r, 1500));
  const during = proxy!.calls.slice(since);
  const pollsDuring = runs.reduce((n, r) => n + r.heartbeats.length, 0) - polls;
  const heads = during.filter((c) => c.method === 'eth_blockNumber').length;
  assert.ok(pollsDuring >= 5 * 5, `${pollsDuring} polls of the 5 windows in 1.5 s`);
  assert.ok(heads <= pollsDuring / 3, `${heads} head reads for ${pollsDuring} polls: shared`);
  // A head read is eth_blockNumber then its block: one may straddle either end of the span.
  const headers = during.filter((c) => c.method === 'eth_getBlockByNumber').length;
  assert.ok(Math.abs(headers - heads) <= 1, `${headers} headers for ${heads} head reads: one each, the windows' blocks are not read again`);
  const past = await mineAt(t + WINDOW + 1);
  for (const prepared of await Promise.all(runs.map((r) => r.result))) {
    assert.ok(prepared.kind === 'prepared');
    assert.deepEqual(prepared.window, { fromBlock: release.blockNumber, toBlock: inside.blockNumber, closedBy: 'next-block' }, `closed by block ${past.blockNumber}`);
  }
});

test('a head below the floor or a bogus head is refused (thrown for Temporal to retry), never acted on (rows 3 and 4)', async () => {
  const t = (await latestTimestamp()) + 1;
  const { epochId, release } = await releaseAt(t);
  for (let s = 1; s <= WINDOW + 1; s++) await mineAt(t + s);
  const head = await testChain.blockNumber();
  proxy!.inject({ method: 'eth_blockNumber', times: 1, result: (n) => toBeHex(Number(n) + 1_000_000) });
  await assert.rejects(prepare(input(epochId, release)), (err: unknown) => err instanceof RejectedRpcAnswer && new RegExp(`head ${head + 1_000_000} is a block the node does not serve`).test(err.message));
  proxy!.inject({ method: 'eth_blockNumber', times: 1, result: (n) => toBeHex(Number(n) - 5) });
  await assert.rejects(prepare(input(epochId, release, { headFloor: head })), (err: unknown) => err instanceof RejectedRpcAnswer && new RegExp(`head ${head - 5} is below block ${head}`).test(err.message));
  assert.equal(await redis!.client.exists(keys.epochBatchesStored(A.toLowerCase(), String(epochId))), 0, 'nothing stored on a refused head');
  const prepared = await prepare(input(epochId, release, { headFloor: head }));
  assert.ok(prepared.kind === 'prepared' && prepared.window.toBlock === release.blockNumber + WINDOW);
});

/** The chunk keys of the epoch's plans in Redis, committed or drafted. */
const planChunks = (epochId: number) => redis!.client.keys(`seqflow:EpochPlanChunk.${A.toLowerCase()}.${epochId}.*`);

/**
 * Starts the epoch's preparation before its window closes, and waits until it has drafted the
 * epoch (its chunks are in Redis). Its day is the epoch's own, so that its slot counters start at 0.
 */
async function startDrafted(epochId: number, release: ReleaseBlock) {
  const run = start(input(epochId, release, { day: `d${epochId}` }));
  await waitFor('the epoch drafted', async () => (await planChunks(epochId)).length > 0, 10_000, 20);
  return run;
}

/** An epoch released now with p1's submission (slot 1) under its release block, its preparation started and its draft written; `t` is the release block's timestamp. */
async function draftedEpoch() {
  const t = (await latestTimestamp()) + 1;
  const { epochId, release } = await releaseAt(t);
  await file(epochId, 'p1:0x1:NS', 1, release.blockHash);
  return { t, epochId, release, run: await startDrafted(epochId, release) };
}

/** Mines the block that closes the window of a release at `t`, and waits for the preparation's result. */
async function closeWindowOf<R>(t: number, run: { result: Promise<R> }): Promise<R> {
  await mineAt(t + WINDOW + 1);
  return run.result;
}

const draftOutcome = (run: { logs: Array<{ message: string; meta?: Record<string, unknown> }> }) => run.logs.find((l) => l.message === 'epoch window closed')?.meta?.draft;

test('the epoch is drafted while the window is open and committed at its close when no header set changed: the same result as collected after the close', async () => {
  const t = (await latestTimestamp()) + 1;
  const { epochId, release } = await releaseAt(t);
  const inside = await mineAt(t + 1);
  await file(epochId, 'p1:0x1:NS', 1, release.blockHash);
  await file(epochId, 'p2:0x1:NS', 2, inside.blockHash);
  await file(epochId, 'p3:0x1:NS', 3, inside.blockHash);
  await fileRawKey(redis!.client, A, epochId, inside.blockHash, 'not-a-key');
  const run = await startDrafted(epochId, release);
  await mineAt(t + WINDOW + 1);
  const prepared = await run.result;
  assert.equal(draftOutcome(run), 'committed');
  assert.deepEqual(prepared, { kind: 'prepared', window: { fromBlock: release.blockNumber, toBlock: inside.blockNumber, closedBy: 'next-block' }, batchCount: 2, submissionCount: 3, malformedCount: 1, storedNow: true });
  const a = A.toLowerCase();
  assert.equal(await redis!.client.get(keys.batchCount(a, String(epochId))), '2');
  assert.deepEqual(await redis!.client.mget(keys.slotSubmissions(a, `d${epochId}`, '1'), keys.slotSubmissions(a, `d${epochId}`, '2'), keys.slotSubmissions(a, `d${epochId}`, '3')), ['1', '1', '1']);
  assert.deepEqual(JSON.parse((await redis!.client.get(keys.batchSubmissions(a, String(epochId), 2)))!), { 'p3:0x1:NS': [`${a}.${epochId}.p3:0x1:NS.3`] });
  assert.equal(run.logs.filter((l) => l.message === 'malformed submission key skipped').length, 1, 'the malformed key is logged once, at the commit');
  assert.deepEqual(await planChunks(epochId), [], 'every chunk applied and deleted');
});

test('a submission filed into a drafted header set before the close: the draft is discarded and the epoch collected again, the submission counted', async () => {
  const { t, epochId, release, run } = await draftedEpoch();
  await file(epochId, 'p2:0x1:NS', 2, release.blockHash);
  const prepared = await closeWindowOf(t, run);
  assert.equal(draftOutcome(run), 'stale');
  assert.ok(prepared.kind === 'prepared');
  assert.deepEqual([prepared.submissionCount, prepared.batchCount], [2, 1]);
  assert.deepEqual(await redis!.client.mget(keys.slotSubmissions(A.toLowerCase(), `d${epochId}`, '1'), keys.slotSubmissions(A.toLowerCase(), `d${epochId}`, '2')), ['1', '1']);
  assert.deepEqual(await planChunks(epochId), [], "the draft's chunks deleted, the committed plan's applied");
});

test('a submission under a block mined into the window after the draft: the draft is discarded, the submission counted', async () => {
  const { t, epochId, run } = await draftedEpoch();
  const later = await mineAt(t + WINDOW);
  await file(epochId, 'p2:0x1:NS', 2, later.blockHash);
  const prepared = await closeWindowOf(t, run);
  assert.equal(draftOutcome(run), 'stale');
  assert.ok(prepared.kind === 'prepared');
  assert.deepEqual([prepared.window.toBlock, prepared.submissionCount], [later.blockNumber, 2]);
});

test('a drafted block that left the chain before the close: the draft is discarded, its submissions not counted', async () => {
  const t = (await latestTimestamp()) + 1;
  const { epochId, release } = await releaseAt(t);
  const snapshot = await testChain.snapshot();
  const gone = await mineAt(t + 1);
  await file(epochId, 'p1:0x1:NS', 1, release.blockHash);
  await file(epochId, 'orphan:0x1:NS', 2, gone.blockHash);
  const run = await startDrafted(epochId, release);
  await testChain.revert(snapshot);
  const instead = await mineAt(t + 2);
  await mineAt(t + WINDOW + 1);
  const prepared = await run.result;
  assert.equal(draftOutcome(run), 'stale');
  assert.ok(prepared.kind === 'prepared');
  assert.deepEqual([prepared.window.toBlock, prepared.submissionCount], [instead.blockNumber, 1]);
  assert.equal(await redis!.client.get(keys.slotSubmissions(A.toLowerCase(), `d${epochId}`, '2')), null, 'the orphaned block\'s submission is not counted');
});

/** An epoch released now with these projects' submissions (slots 1, 2, …) under its release block, its window closed by the next block. */
async function closedEpoch(projects = ['p1:0x1:NS']) {
  const t = (await latestTimestamp()) + 1;
  const { epochId, release } = await releaseAt(t);
  for (const [i, p] of projects.entries()) await file(epochId, p, i + 1, release.blockHash);
  await mineAt(t + WINDOW + 1);
  return { t, epochId, release };
}

test('an epoch prepared after its window closed (a catch-up) is not drafted: collected once', async () => {
  const { epochId, release } = await closedEpoch();
  const run = start(input(epochId, release));
  assert.ok((await run.result).kind === 'prepared');
  assert.equal(draftOutcome(run), 'none');
});

/** prepareEpoch as the worker composes it: the batch activities, and the sending after them (submit.ts). */
const sending = () => createSubmitActivities({ ...activities, ...createRelayerActivities({ redis: redis!.client, relayer: { url: relayer!.url, authToken: RELAYER_TOKEN, timeoutMs: 5000 } }) });
const toldRelayer = (epochId: number) => relayer!.requests.filter((r) => r.json.epochID === epochId);
const queued = async (epochId: number) =>
  (await redis!.client.lrange(keys.finalizerQueue, 0, -1)).map((m) => JSON.parse(m) as { EpochID: number; BatchID: number }).filter((m) => m.EpochID === epochId).map((m) => m.BatchID).reverse();

test('asked to send (epoch runs of 0.8.0 on): the epoch is stored and sent in the same activity, the relayer told once and every batch pushed once, also when it runs again', async () => {
  const { epochId, release } = await closedEpoch(['p1:0x1:NS', 'p2:0x1:NS', 'p3:0x1:NS']);
  const run = startActivity(sending().prepareEpoch, [input(epochId, release, { send: true })], { scheduledTimestampMs: Date.now() });
  const prepared = await run.result;
  assert.ok(prepared.kind === 'prepared');
  assert.deepEqual([prepared.batchCount, prepared.storedNow, prepared.sent], [2, true, true]);
  assert.deepEqual(toldRelayer(epochId).map((r) => [r.status, r.json.batchSize]), [[200, 2]]);
  assert.deepEqual(await queued(epochId), [1, 2]);
  assert.ok(run.logs.some((l) => l.message === 'epoch batched'), "the epoch's one info line");
  // A retry of the activity (its worker killed after the send): the same result, nothing sent twice.
  const again = await startActivity(sending().prepareEpoch, [input(epochId, release, { send: true })], { scheduledTimestampMs: Date.now() }).result;
  assert.deepEqual(again, { ...prepared, storedNow: false });
  assert.equal(toldRelayer(epochId).length, 1);
  assert.deepEqual(await queued(epochId), [1, 2]);
});

test('asked to send, with the relayer failing: the epoch is stored and the preparation succeeds, not sent (sent: false), nothing pushed; left to submitEpoch', async () => {
  const { t, epochId, release } = await closedEpoch();
  relayer!.failNext('/submitBatchSize', [503]);
  const run = startActivity(sending().prepareEpoch, [input(epochId, release, { send: true })], { scheduledTimestampMs: Date.now() });
  const prepared = await run.result;
  assert.ok(prepared.kind === 'prepared');
  assert.deepEqual([prepared.batchCount, prepared.storedNow, prepared.sent], [1, true, false]);
  assert.equal(await redis!.client.get(keys.batchCount(A.toLowerCase(), String(epochId))), '1', 'stored');
  assert.deepEqual(toldRelayer(epochId).map((r) => r.status), [503]);
  assert.deepEqual(await queued(epochId), [], 'nothing pushed before the relayer knows the batch count');
  assert.ok(run.logs.some((l) => l.message === 'epoch not sent with its preparation: submitEpoch sends it' && /HTTP 503/.test(String(l.meta?.error))));
  assert.deepEqual(await startActivity(sending().submitEpoch, [{ market: A, epochId: String(epochId), batchCount: 1, releaseBlockTimestamp: t }]).result, { sentNow: true, pushedNow: 1 });
  assert.deepEqual(await queued(epochId), [1]);
});

test('asked to send, refused by the relayer (HTTP 422): the preparation fails, not retried, as submitEpoch would; the epoch stays stored, nothing pushed', async () => {
  const { epochId, release } = await closedEpoch();
  relayer!.failNext('/submitBatchSize', [422]);
  await assert.rejects(startActivity(sending().prepareEpoch, [input(epochId, release, { send: true })], { scheduledTimestampMs: Date.now() }).result, failure({ nonRetryable: true, type: 'RelayerRejected', message: /HTTP 422/ }));
  assert.equal(await redis!.client.get(keys.batchCount(A.toLowerCase(), String(epochId))), '1', 'stored');
  assert.deepEqual(await queued(epochId), []);
});

test('not asked to send (epoch runs from before 0.8.0): stored only, as before', async () => {
  const { epochId, release } = await closedEpoch();
  const prepared = await startActivity(sending().prepareEpoch, [input(epochId, release)], { scheduledTimestampMs: Date.now() }).result;
  assert.ok(prepared.kind === 'prepared');
  assert.equal('sent' in prepared, false);
  assert.deepEqual(toldRelayer(epochId), []);
  assert.deepEqual(await queued(epochId), []);
});
