/**
 * The reward and attestor activities on a real Redis, a real Hardhat node (TestDataMarket's
 * eligibleNodesForDay) and the relayer stand-in: what a reward update reads and freezes, the
 * exact `/submitUpdateRewards` bodies (upstream-collector.md §6, §7.2), each chunk accepted
 * once, the past-days catch-up, and the attestor queue messages.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ethers } from 'ethers';
import { RELAYER_REJECTED } from '../../src/activities/relayer.js';
import { createRewardActivities } from '../../src/activities/rewards.js';
import { ChainClient } from '../../src/chain/rpc.js';
import type { PreparedRewardUpdate } from '../../src/domain/types.js';
import { compileTestContracts, deployTestContracts, startHardhatNode, type HardhatNode, type TestChain } from '../../devstack/chain.js';
import { startRedis, type RedisServer } from '../../devstack/redis.js';
import { startRelayer, type RelayerStandIn } from '../../devstack/relayer.js';
import { runActivity, failure } from '../support/activity-env.js';

const TOKEN = 'tok';
const PATH = '/submitUpdateRewards';

let node: HardhatNode | undefined;
let chain: TestChain | undefined;
let redis: RedisServer | undefined;
let relayer: RelayerStandIn | undefined;
let client: ChainClient | undefined;
let activities: ReturnType<typeof createRewardActivities>;
/** The deployed TestDataMarket (EIP-55) and its lower-case form for Redis keys. */
let M: string;
let m: string;

before(async () => {
  compileTestContracts();
  [node, redis, relayer] = await Promise.all([startHardhatNode(), startRedis(), startRelayer(TOKEN)]);
  chain = await deployTestContracts(node.url, 1);
  M = chain.markets[0]!;
  m = M.toLowerCase();
  assert.notEqual(M, m, 'the checksum address has upper-case letters, so case mix-ups show');
  client = new ChainClient([node.url]);
  activities = createRewardActivities({
    chain: client,
    redis: redis.client,
    relayer: { url: relayer.url, authToken: TOKEN, timeoutMs: 5000 },
    rewards: { batchSize: 2, epochInterval: 3, pastDaysBuffer: 3, concurrentUpdates: 4, dayTransitionBufferEpochs: 2 },
  });
});

after(async () => {
  chain?.provider.destroy();
  await Promise.all([node?.stop(), redis?.stop(), relayer?.stop()]);
});

const r = () => redis!.client;
const eligibleKey = (day: string) => `EligibleNodeByDayKey.${m}.${day}`;
const countKey = (day: string, slot: string) => `EligibleSlotSubmissionsKey.${m}.${day}.${slot}`;
const updateKey = (updateId: string) => `seqflow:RewardUpdate.${m}.${updateId}`;
const sentKey = (updateId: string) => `seqflow:RewardChunksSent.${m}.${updateId}`;
/** Bodies of every /submitUpdateRewards request (also the failed ones) since `from`. */
const rewardRequests = (from = 0) => relayer!.requests.slice(from).filter((req) => req.path === PATH);
const body = (day: string, slots: number[], counts: number[], eligibleNodes: number) =>
  `{"dataMarketAddress":"${M}","slotIDs":[${slots.join(',')}],"submissionsList":[${counts.join(',')}],"day":${day},"eligibleNodes":${eligibleNodes},"authToken":"tok"}`;

const prepare = (input: { kind: 'final' | 'periodic' | 'pastDay'; day: string; epochId?: string }) =>
  runActivity(activities.prepareRewardUpdate, { market: M, ...input });
const send = (day: string, updateId: string, chunk: number) => runActivity(activities.sendRewardChunk, { market: M, day, updateId, chunk });

async function setEligibleOnChain(day: number, count: number): Promise<void> {
  const dm = new ethers.Contract(M, compileTestContracts().dataMarket.abi, chain!.signer);
  const tx = (await dm.getFunction('setEligibleNodesForDay')(day, count)) as ethers.ContractTransactionResponse;
  await tx.wait();
}


describe('prepareRewardUpdate: final', () => {
  test('the day\'s eligible slots with their counts; eligibleNodes counts every numeric eligible slot', async () => {
    // Slots 1, 2, 3, 10 have counts; 7 is eligible without a count; 4 has a garbage count; "x1" is garbage.
    await r().sadd(eligibleKey('10'), '3', '1', '10', '2', '7', '4', 'x1');
    await r().mset(countKey('10', '1'), '5', countKey('10', '2'), '7', countKey('10', '3'), '4', countKey('10', '10'), '9', countKey('10', '4'), 'abc', countKey('10', 'x1'), '8');
    // Another day and another market are not read.
    await r().mset(countKey('11', '7'), '1', `EligibleSlotSubmissionsKey.${M}.10.7`, '1');

    const expected: PreparedRewardUpdate = { updateId: 'final.10', chunkCount: 2, slotCount: 4, eligibleNodes: 6, concurrency: 4 };
    assert.deepEqual(await prepare({ kind: 'final', day: '10' }), expected);
    const ttl = await r().ttl(updateKey('final.10'));
    assert.ok(ttl > 0 && ttl <= 7 * 24 * 3600, `ttl ${ttl}`);

    const from = relayer!.requests.length;
    assert.deepEqual(await send('10', 'final.10', 0), { sentNow: true });
    assert.deepEqual(await send('10', 'final.10', 1), { sentNow: true });
    assert.deepEqual(
      rewardRequests(from).map((req) => [req.status, req.body]),
      [
        [200, body('10', [1, 2], [5, 7], 6)],
        [200, body('10', [3, 10], [4, 9], 6)],
      ],
    );
  });

  test('frozen at the first preparation: later Redis changes change neither the result nor the chunks sent', async () => {
    await r().sadd(eligibleKey('12'), '1', '2', '3');
    await r().mset(countKey('12', '1'), '11', countKey('12', '2'), '12', countKey('12', '3'), '13');
    const first = await prepare({ kind: 'final', day: '12' });
    assert.deepEqual(first, { updateId: 'final.12', chunkCount: 2, slotCount: 3, eligibleNodes: 3, concurrency: 4 });

    await r().sadd(eligibleKey('12'), '4', '5', '6');
    await r().srem(eligibleKey('12'), '2');
    await r().mset(countKey('12', '1'), '99', countKey('12', '4'), '14', countKey('12', '5'), '15', countKey('12', '6'), '16');
    assert.deepEqual(await prepare({ kind: 'final', day: '12' }), first);

    const from = relayer!.requests.length;
    await send('12', 'final.12', 0);
    await send('12', 'final.12', 1);
    await assert.rejects(send('12', 'final.12', 2), failure({ nonRetryable: true, type: 'RewardUpdateMissing' }), 'there is no third chunk');
    assert.deepEqual(
      rewardRequests(from).map((req) => req.body),
      [body('12', [1, 2], [11, 12], 3), body('12', [3], [13], 3)],
    );
  });

  test('a day without eligible slots: no chunk, eligibleNodes 0', async () => {
    assert.deepEqual(await prepare({ kind: 'final', day: '13' }), { updateId: 'final.13', chunkCount: 0, slotCount: 0, eligibleNodes: 0, concurrency: 4 });
  });
});

describe('prepareRewardUpdate: periodic', () => {
  test('reads slots 1..TotalNodesCount of the day (those with a count), eligibleNodes 0, updateId periodic.<epochId>', async () => {
    await r().set('TotalNodesCount', '5');
    // Slot 6 is beyond the node count; slot 4's count is garbage; slot 0 is not a node.
    await r().mset(countKey('20', '2'), '3', countKey('20', '5'), '8', countKey('20', '6'), '1', countKey('20', '4'), 'x', countKey('20', '0'), '2', countKey('21', '1'), '4');
    assert.deepEqual(await prepare({ kind: 'periodic', day: '20', epochId: '33' }), { updateId: 'periodic.33', chunkCount: 1, slotCount: 2, eligibleNodes: 0, concurrency: 4 });
    const from = relayer!.requests.length;
    assert.deepEqual(await send('20', 'periodic.33', 0), { sentNow: true });
    assert.deepEqual(
      rewardRequests(from).map((req) => req.body),
      [body('20', [2, 5], [3, 8], 0)],
    );
  });

  test('the update id is the epoch: another interval epoch of the same day reads again', async () => {
    await r().set('TotalNodesCount', '5');
    await r().set(countKey('20', '1'), '6');
    assert.deepEqual(await prepare({ kind: 'periodic', day: '20', epochId: '36' }), { updateId: 'periodic.36', chunkCount: 2, slotCount: 3, eligibleNodes: 0, concurrency: 4 });
    // periodic.33 stays as frozen.
    assert.deepEqual(await prepare({ kind: 'periodic', day: '20', epochId: '33' }), { updateId: 'periodic.33', chunkCount: 1, slotCount: 2, eligibleNodes: 0, concurrency: 4 });
  });

  test('TotalNodesCount missing or garbage: non-retryable TotalNodesCountMissing, nothing stored', async () => {
    await r().set(countKey('22', '1'), '1');
    await r().del('TotalNodesCount');
    await assert.rejects(prepare({ kind: 'periodic', day: '22', epochId: '39' }), failure({ nonRetryable: true, type: 'TotalNodesCountMissing', message: /TotalNodesCount is null/ }));
    for (const garbage of ['abc', '-1', '1.5']) {
      await r().set('TotalNodesCount', garbage);
      await assert.rejects(prepare({ kind: 'periodic', day: '22', epochId: '39' }), failure({ nonRetryable: true, type: 'TotalNodesCountMissing' }), `TotalNodesCount ${garbage}`);
    }
    assert.equal(await r().exists(updateKey('periodic.39')), 0);
    // Once the cacher wrote it, the same update prepares.
    await r().set('TotalNodesCount', '1');
    assert.deepEqual(await prepare({ kind: 'periodic', day: '22', epochId: '39' }), { updateId: 'periodic.39', chunkCount: 1, slotCount: 1, eligibleNodes: 0, concurrency: 4 });
  });

  // src/activities/rewards.ts totalNodes(): Number('') is 0, so an empty TotalNodesCount passes
  // as "0 nodes" and the periodic update is frozen with no chunk instead of failing.
  test('an empty TotalNodesCount is garbage too', async () => {
    await r().set(countKey('23', '1'), '1');
    await r().set('TotalNodesCount', '');
    await assert.rejects(prepare({ kind: 'periodic', day: '23', epochId: '42' }), failure({ nonRetryable: true, type: 'TotalNodesCountMissing' }));
  });
});

describe('prepareRewardUpdate: pastDay', () => {
  test('one chunk of empty arrays with eligibleNodes = SCARD of the day', async () => {
    await r().sadd(eligibleKey('30'), '1', '2', '3');
    await r().mset(countKey('30', '1'), '5', countKey('30', '2'), '6');
    assert.deepEqual(await prepare({ kind: 'pastDay', day: '30' }), { updateId: 'pastDay.30', chunkCount: 1, slotCount: 0, eligibleNodes: 3, concurrency: 4 });
    const from = relayer!.requests.length;
    assert.deepEqual(await send('30', 'pastDay.30', 0), { sentNow: true });
    assert.deepEqual(
      rewardRequests(from).map((req) => req.body),
      [`{"dataMarketAddress":"${M}","slotIDs":[],"submissionsList":[],"day":30,"eligibleNodes":3,"authToken":"tok"}`],
    );
  });
});

describe('sendRewardChunk', () => {
  before(async () => {
    await r().sadd(eligibleKey('40'), '1', '2', '3', '4');
    await r().mset(countKey('40', '1'), '1', countKey('40', '2'), '2', countKey('40', '3'), '3', countKey('40', '4'), '4');
    assert.equal((await prepare({ kind: 'final', day: '40' })).chunkCount, 2);
    await r().sadd(eligibleKey('41'), '8');
    await r().set(countKey('41', '8'), '80');
    assert.equal((await prepare({ kind: 'final', day: '41' })).chunkCount, 1);
  });

  test('a chunk the relayer accepted is not sent again', async () => {
    const from = relayer!.requests.length;
    assert.deepEqual(await send('40', 'final.40', 0), { sentNow: true });
    assert.deepEqual(await r().smembers(sentKey('final.40')), ['0']);
    const ttl = await r().ttl(sentKey('final.40'));
    assert.ok(ttl > 0 && ttl <= 7 * 24 * 3600, `ttl ${ttl}`);
    assert.deepEqual(await send('40', 'final.40', 0), { sentNow: false });
    assert.deepEqual(
      rewardRequests(from).map((req) => req.body),
      [body('40', [1, 2], [1, 2], 4)],
    );
  });

  test('500 is a retryable failure and leaves the chunk unsent: the next call sends it', async () => {
    const from = relayer!.requests.length;
    relayer!.failNext(PATH, [500]);
    await assert.rejects(send('40', 'final.40', 1), failure({ nonRetryable: false, type: 'RelayerUnavailable', message: /HTTP 500/ }));
    assert.equal(await r().sismember(sentKey('final.40'), '1'), 0);
    assert.deepEqual(await send('40', 'final.40', 1), { sentNow: true });
    assert.deepEqual(
      rewardRequests(from).map((req) => [req.status, req.body]),
      [
        [500, body('40', [3, 4], [3, 4], 4)],
        [200, body('40', [3, 4], [3, 4], 4)],
      ],
    );
    assert.deepEqual((await r().smembers(sentKey('final.40'))).sort(), ['0', '1']);
  });

  test('422 is the relayer refusing: non-retryable RelayerRejected, not marked sent', async () => {
    const from = relayer!.requests.length;
    relayer!.failNext(PATH, [422]);
    await assert.rejects(send('41', 'final.41', 0), failure({ nonRetryable: true, type: RELAYER_REJECTED, message: /HTTP 422/ }));
    assert.equal(await r().exists(sentKey('final.41')), 0);
    assert.deepEqual(
      rewardRequests(from).map((req) => [req.status, req.body]),
      [[422, body('41', [8], [80], 1)]],
    );
  });

  test('a chunk that was never prepared: non-retryable RewardUpdateMissing, nothing sent', async () => {
    const from = relayer!.requests.length;
    await assert.rejects(send('40', 'final.40', 2), failure({ nonRetryable: true, type: 'RewardUpdateMissing' }));
    await assert.rejects(send('49', 'final.49', 0), failure({ nonRetryable: true, type: 'RewardUpdateMissing' }));
    await assert.rejects(send('40', 'periodic.999', 0), failure({ nonRetryable: true, type: 'RewardUpdateMissing' }));
    assert.deepEqual(rewardRequests(from), []);
  });
});

describe('findPastDaysToCatchUp', () => {
  const find = (day: string, skipPreviousDay: boolean) => runActivity(activities.findPastDaysToCatchUp, { market: M, day, skipPreviousDay });
  const zeroCount = (day: string) => r().get(`ZeroCountKey.${m}.${day}`);

  test('day 5, buffer 3: checks days 4, 3, 2; set on chain → skipped; 0 on chain with eligible nodes → due; none → flagged', async () => {
    // Day 4: 0 on chain, nobody eligible in Redis. Day 3: set on chain (Redis has nodes too).
    // Day 2: 0 on chain, eligible nodes in Redis. Day 1 is beyond the buffer.
    await setEligibleOnChain(3, 7);
    await r().sadd(eligibleKey('3'), '1');
    await r().sadd(eligibleKey('2'), '1', '2');
    await r().sadd(eligibleKey('1'), '1');
    assert.deepEqual(await find('5', false), ['2']);
    assert.equal(await zeroCount('4'), 'true');
    const ttl = await r().ttl(`ZeroCountKey.${m}.4`);
    assert.ok(ttl > 0 && ttl <= 86_400, `ttl ${ttl}`);
    for (const day of ['3', '2', '1', '5']) assert.equal(await zeroCount(day), null, `day ${day}`);
  });

  test('skipPreviousDay skips day 4 (its final update is still to come)', async () => {
    // Days 8, 7, 6 of day 9: all 0 on chain; 8 and 6 have eligible nodes, 7 has none.
    await r().sadd(eligibleKey('8'), '1', '2', '3');
    await r().sadd(eligibleKey('6'), '4');
    assert.deepEqual(await find('9', false), ['8', '6']);
    assert.equal(await zeroCount('7'), 'true');
    await r().del(`ZeroCountKey.${m}.7`);
    assert.deepEqual(await find('9', true), ['6']);
    assert.equal(await zeroCount('8'), null);

    // The same for day 5: day 4 has eligible nodes now, and is due only without skipPreviousDay.
    await r().sadd(eligibleKey('4'), '9');
    assert.deepEqual(await find('5', true), ['2']);
    assert.deepEqual(await find('5', false), ['4', '2']);
  });

  test('once the count is on chain the day is done', async () => {
    await setEligibleOnChain(2, 2);
    await setEligibleOnChain(4, 1);
    assert.deepEqual(await find('5', false), []);
  });

  test('day 1 has no past day to check', async () => {
    assert.deepEqual(await find('1', false), []);
  });
});

describe('pushAttestorMessages', () => {
  const push = (batches: Array<{ epochId: string; batchCid: string }>) => runActivity(activities.pushAttestorMessages, { market: M, batches });
  const msg = (cid: string, epochId: string) => `{"DataMarketAddress":"${M}","BatchCID":"${cid}","EpochID":${epochId}}`;
  /** The queue in the order the attestor BRPOPs it (LPUSH puts the newest first). */
  const queue = async () => (await r().lrange('attestorQueue', 0, -1)).reverse();

  test('LPUSHes the exact message once per (epoch, batch CID)', async () => {
    await r().del('attestorQueue');
    assert.deepEqual(await push([{ epochId: '50', batchCid: 'bafyA' }]), { pushedNow: 1 });
    assert.deepEqual(await queue(), [msg('bafyA', '50')]);
    assert.equal((await r().lrange('attestorQueue', 0, -1))[0], '{"DataMarketAddress":"' + M + '","BatchCID":"bafyA","EpochID":50}');

    assert.deepEqual(await push([{ epochId: '50', batchCid: 'bafyA' }]), { pushedNow: 0 });
    assert.deepEqual(await queue(), [msg('bafyA', '50')]);

    assert.deepEqual(await push([{ epochId: '50', batchCid: 'bafyB' }]), { pushedNow: 1 });
    assert.deepEqual(await queue(), [msg('bafyA', '50'), msg('bafyB', '50')]);
  });

  test('in one call: duplicates count once, the same CID in another epoch is pushed, order kept', async () => {
    await r().del('attestorQueue');
    const big = '9007199254740993';
    const result = await push([
      { epochId: '51', batchCid: 'c1' },
      { epochId: '51', batchCid: 'c1' },
      { epochId: '52', batchCid: 'c1' },
      { epochId: big, batchCid: 'c2' },
    ]);
    assert.deepEqual(result, { pushedNow: 3 });
    assert.deepEqual(await queue(), [msg('c1', '51'), msg('c1', '52'), msg('c2', big)]);
  });

  test('an epoch id that is not a number is refused (non-retryable), nothing pushed', async () => {
    await r().del('attestorQueue');
    await assert.rejects(push([{ epochId: '5x', batchCid: 'c' }]), failure({ nonRetryable: true, type: 'MalformedEvent' }));
    assert.deepEqual(await queue(), []);
  });
});
