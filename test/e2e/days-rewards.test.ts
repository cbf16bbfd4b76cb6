/**
 * Days, reward updates and the attestor queue end to end on real services (Temporal dev
 * server, Redis, Hardhat, relayer stand-in, worker process). Four epochs a day, two buffer
 * epochs, periodic updates every third epoch, reward chunks of two slots.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { ethers } from 'ethers';
import type { PreparedRewardUpdate } from '../../src/domain/types.js';
import { marketWorkflowId, refreshParamsSignal, stopUpdate } from '../../src/workflows/definitions.js';
import { compileTestContracts } from '../../devstack/chain.js';
import { fileSubmission } from '../../devstack/dequeuer.js';
import { epochOutcome, marketStatus } from '../support/epochs.js';
import { checkHistories } from '../support/histories.js';
import { waitFor } from '../../devstack/process.js';
import { RELAYER_TOKEN, startStack, type Stack } from '../../devstack/stack.js';

const EPOCHS_IN_A_DAY = 4;
/** DAY_SIZE is seconds × 10⁴: a 6 s day, 1.5 s per epoch. */
const DAY_SIZE = 6 * 10_000;

let stack: Stack;
let client: Client;
let A: string;
let B: string;
let a: string;
let b: string;

before(async () => {
  stack = await startStack({ markets: 2, params: { submissionWindow: 2, epochsInADay: EPOCHS_IN_A_DAY, daySize: DAY_SIZE }, batchSize: 2 });
  client = stack.temporal.client;
  [A, B] = stack.chain.markets as [string, string];
  [a, b] = [A.toLowerCase(), B.toLowerCase()];
  const redis = stack.redis.client;
  await redis.set('TotalNodesCount', '6');
  // What the finalizer would have recorded for day 1 of market A: slots 1-3 eligible, slot 5 not.
  await redis.sadd(`EligibleNodeByDayKey.${a}.1`, '1', '2', '3');
  await redis.mset(`EligibleSlotSubmissionsKey.${a}.1.1`, '5', `EligibleSlotSubmissionsKey.${a}.1.2`, '7', `EligibleSlotSubmissionsKey.${a}.1.3`, '4', `EligibleSlotSubmissionsKey.${a}.1.5`, '1');
  // Market B: 250 eligible slots on day 1; the cacher's EpochsInADay already there.
  const slots = Array.from({ length: 250 }, (_, i) => String(i + 1));
  await redis.sadd(`EligibleNodeByDayKey.${b}.1`, ...slots);
  await redis.mset(...slots.flatMap((s) => [`EligibleSlotSubmissionsKey.${b}.1.${s}`, String(1000 + Number(s))]));
  await redis.set(`ProtocolState.${B}.EpochsInADay`, '999');
  await stack.startWorker({
    REWARDS_UPDATE_BATCH_SIZE: '2',
    REWARDS_UPDATE_EPOCH_INTERVAL: '3',
    DAY_TRANSITION_BUFFER_EPOCHS: '2',
    PAST_DAYS_BUFFER: '3',
    CONCURRENT_SUBMISSION_COUNT_UPDATES: '4',
    ATTESTOR_QUEUE_PUSH_ENABLED: 'true',
  });
  for (const market of [A, B]) {
    await client.workflow.start('marketWorkflow', { workflowId: marketWorkflowId(market), taskQueue: stack.taskQueue, args: [{ market }] });
    await waitFor(`${market} following`, async () => (await marketStatus(client, market)).cursor);
  }
});

after(async () => {
  for (const m of [A, B]) await client?.workflow.getHandle(marketWorkflowId(m)).executeUpdate(stopUpdate).catch(() => undefined);
  try {
    await checkHistories(client, 'days-rewards', [A, B]);
  } finally {
    await stack?.stop();
  }
});

/** Releases the market's next epoch and files one submission of slot 1 under its block. */
async function release(market: string): Promise<number> {
  const rel = await stack.chain.releaseEpoch(market);
  await fileSubmission(stack.redis.client, { market, epochId: rel.epochId, projectId: 'p:0x1:NS', slotId: 1, header: rel.blockHash });
  return rel.epochId;
}

const rewardBodies = (market: string) => stack.relayer.accepted('/submitUpdateRewards').filter((r) => r.json.dataMarketAddress === market).map((r) => r.body);
const rewardsBody = (market: string, slots: number[], counts: number[], day: number, eligibleNodes: number) =>
  `{"dataMarketAddress":"${market}","slotIDs":[${slots.join(',')}],"submissionsList":[${counts.join(',')}],"day":${day},"eligibleNodes":${eligibleNodes},"authToken":"${RELAYER_TOKEN}"}`;

async function childResult<T>(workflowId: string): Promise<T> {
  await waitFor(workflowId, () => client.workflow.getHandle(workflowId).describe().then(() => true), 90_000);
  return (await client.workflow.getHandle(workflowId).result()) as T;
}

test('contract parameters are written where the neighbours read them; EpochsInADay only when absent', async () => {
  const redis = stack.redis.client;
  assert.equal(await redis.hget('SubmissionLimitTable', A), '2');
  assert.equal(await redis.hget('DaySizeTableKey', A), String(DAY_SIZE));
  assert.equal(await redis.hget('DailySnapshotQuotaTableKey', A), '2');
  assert.equal(await redis.get(`ProtocolState.${A}.EpochsInADay`), String(EPOCHS_IN_A_DAY));
  assert.equal(await redis.get(`ProtocolState.${B}.EpochsInADay`), '999');
  assert.equal(await redis.get(`CurrentDayKey.${a}`), '1');
  const ttl = await redis.ttl(`CurrentDayKey.${a}`);
  assert.ok(ttl > 0 && ttl <= 600, `CurrentDayKey TTL ${ttl}`);
});

test('across a day boundary: periodic update, the old day final update once, day keys, slot counts by the epoch day', async () => {
  const redis = stack.redis.client;
  const epochs: number[] = [];
  for (let i = 0; i < 7; i++) epochs.push(await release(A)); // epochs 1-4 are day 1, 5-7 day 2
  for (const e of epochs) await epochOutcome(client, A, e);

  // Epoch 3: today's (day 1) counts of slots 1..TotalNodesCount, eligibleNodes 0, chunks of 2.
  const periodic = await childResult<{ periodic: PreparedRewardUpdate; pastDays: PreparedRewardUpdate[] }>(`market/${A}/epoch/3/rewards`);
  assert.deepEqual(periodic.periodic, { updateId: 'periodic.3', slotCount: 4, eligibleNodes: 0, chunkCount: 2, concurrency: 4 });
  // Epoch 7 is the third of day 2: day 1's final update, eligible slots only, eligibleNodes 3.
  const final = await childResult<PreparedRewardUpdate>(`market/${A}/day/1/final-rewards`);
  assert.deepEqual(final, { updateId: 'final.1', slotCount: 3, eligibleNodes: 3, chunkCount: 2, concurrency: 4 });
  // Epoch 6 is periodic on day 2: no counts yet, and day 1 is left to its final update.
  const periodic6 = await childResult<{ periodic: PreparedRewardUpdate; pastDays: PreparedRewardUpdate[] }>(`market/${A}/epoch/6/rewards`);
  assert.deepEqual(periodic6, { periodic: { updateId: 'periodic.6', slotCount: 0, eligibleNodes: 0, chunkCount: 0, concurrency: 4 }, pastDays: [] });

  assert.deepEqual(rewardBodies(A).sort(), [
    rewardsBody(A, [1, 2], [5, 7], 1, 0),
    rewardsBody(A, [3, 5], [4, 1], 1, 0),
    rewardsBody(A, [1, 2], [5, 7], 1, 3),
    rewardsBody(A, [3], [4], 1, 3),
  ].sort());

  assert.equal(await redis.get(`CurrentDayKey.${a}`), '2');
  assert.equal(await redis.get(`LastKnownDayKey.${a}`), '2');
  assert.ok((await redis.ttl(`CurrentDayKey.${a}`)) > 0, 'CurrentDayKey always has an expiry');
  // One submission of slot 1 per epoch, counted in the day each epoch was released in.
  assert.equal(await redis.get(`SlotSubmissionsKey.${a}.1.1`), '4');
  assert.equal(await redis.get(`SlotSubmissionsKey.${a}.2.1`), '3');
  const status = await marketStatus(client, A);
  assert.deepEqual(status.days, { day: '2', dayStartedAtMs: status.days!.dayStartedAtMs, epochsInDay: 3, finalPending: null });
  assert.equal(status.stats.finalRewardUpdates, 1);
  assert.equal(status.stats.periodicRewardUpdates, 2);
});

test('past-days catch-up sends the eligible-node count of a day still 0 on chain, once, and not when set', async () => {
  const redis = stack.redis.client;
  // Day 2 has eligible nodes in Redis too, but the chain already has its count.
  await redis.sadd(`EligibleNodeByDayKey.${a}.2`, '1', '4');
  const dataMarket = new ethers.Contract(A, compileTestContracts().dataMarket.abi, stack.chain.signer);
  await (await dataMarket.getFunction('setEligibleNodesForDay')(2, 2)).wait();
  for (let i = 0; i < 5; i++) await release(A); // epochs 8-12: day 3 starts at 9; 9 and 12 are periodic
  const at9 = await childResult<{ pastDays: PreparedRewardUpdate[] }>(`market/${A}/epoch/9/rewards`);
  const at12 = await childResult<{ pastDays: PreparedRewardUpdate[] }>(`market/${A}/epoch/12/rewards`);
  assert.deepEqual(at9.pastDays.map((u) => u.updateId), ['pastDay.1']);
  assert.deepEqual(at12.pastDays.map((u) => u.updateId), ['pastDay.1']); // found again, not sent again
  const pastDayBodies = rewardBodies(A).filter((body) => body.includes('"slotIDs":[]'));
  assert.deepEqual(pastDayBodies, [rewardsBody(A, [], [], 1, 3)]);
  await childResult(`market/${A}/day/2/final-rewards`);
});

test('the final update goes out after its time when epochs stop coming: 250 slots in 125 chunks, none twice', async () => {
  for (let i = 0; i < 5; i++) await release(B); // epoch 5 starts day 2, then nothing
  const final = await childResult<PreparedRewardUpdate>(`market/${B}/day/1/final-rewards`);
  assert.deepEqual(final, { updateId: 'final.1', slotCount: 250, eligibleNodes: 250, chunkCount: 125, concurrency: 4 });
  const bodies = rewardBodies(B).filter((body) => body.includes('"eligibleNodes":250'));
  assert.equal(bodies.length, 125);
  assert.equal(new Set(bodies).size, 125);
  const sent = bodies.flatMap((body) => (JSON.parse(body) as { slotIDs: number[] }).slotIDs).sort((x, y) => x - y);
  assert.deepEqual(sent, Array.from({ length: 250 }, (_, i) => i + 1));
  assert.ok(bodies.includes(rewardsBody(B, [249, 250], [1249, 1250], 1, 250)));
  const status = await marketStatus(client, B);
  assert.equal(status.days!.epochsInDay, 1, 'the final update came from time, not from buffer epochs');
});

test('a relayer failing /submitUpdateRewards delays nothing else; the update goes out once it recovers', async () => {
  await stack.redis.client.mset(`EligibleSlotSubmissionsKey.${a}.4.2`, '9', `EligibleSlotSubmissionsKey.${a}.4.6`, '3');
  // Five failures keep the update retrying for 1+2+4+8+16 = 31 s of backoff.
  stack.relayer.failNext('/submitUpdateRewards', [500, 500, 503, 500, 500]);
  const released: Array<{ epochId: number; at: number }> = [];
  for (let i = 0; i < 3; i++) {
    released.push({ epochId: await release(A), at: Date.now() }); // 13-15; 15 is periodic (day 4)
    await new Promise((r) => setTimeout(r, 500));
  }
  for (const { epochId, at } of released) {
    await epochOutcome(client, A, epochId);
    await client.workflow.getHandle(`market/${A}/epoch/${epochId}`).result();
    // Far less than the reward update's 31 s of retries: nothing waited for it.
    assert.ok(Date.now() - at < 15_000, `epoch ${epochId} batched ${Date.now() - at} ms after release`);
  }
  const periodic = await childResult<{ periodic: PreparedRewardUpdate }>(`market/${A}/epoch/15/rewards`);
  assert.equal(periodic.periodic.chunkCount, 1);
  const tries = stack.relayer.requests.filter((r) => r.path === '/submitUpdateRewards' && r.body.includes('"day":4,'));
  assert.deepEqual(tries.map((r) => r.status), [500, 500, 503, 500, 500, 200]);
  assert.equal(tries.at(-1)!.body, rewardsBody(A, [2, 6], [9, 3], 4, 0));
});

test('SnapshotBatchSubmitted reaches the attestor queue byte for byte, once per batch', async () => {
  const emit = async (cid: string, epochId: number) => (await stack.chain.protocolState.getFunction('emitSnapshotBatchSubmitted')(A, cid, epochId)).wait();
  await emit('bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', 3);
  await emit('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku', 4);
  const expected = [
    `{"DataMarketAddress":"${A}","BatchCID":"bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi","EpochID":3}`,
    `{"DataMarketAddress":"${A}","BatchCID":"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku","EpochID":4}`,
  ];
  await waitFor('the attestor messages', async () => (await stack.redis.client.llen('attestorQueue')) >= 2);
  // The same batch reported again (e.g. a rescan after a reorg) is not pushed twice.
  await emit('bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', 3);
  await release(A);
  await new Promise((r) => setTimeout(r, 4000));
  assert.deepEqual((await stack.redis.client.lrange('attestorQueue', 0, -1)).reverse(), expected);
});

test('a submission window changed on chain is used from the next epoch on', async () => {
  await (await stack.chain.protocolState.getFunction('setSnapshotSubmissionWindow')(A, 5)).wait();
  const epochId = await release(A);
  const history = await waitFor('the next epoch', () => client.workflow.getHandle(`market/${A}/epoch/${epochId}`).fetchHistory());
  const payload = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  const input = JSON.parse(Buffer.from(payload.data!).toString('utf8')) as { submissionWindowSeconds: number };
  assert.equal(input.submissionWindowSeconds, 5);
  assert.equal(await stack.redis.client.hget('SubmissionLimitTable', A), '5');
  assert.equal((await epochOutcome(client, A, epochId)).submissionCount, 1);
});

test('refreshParams re-reads the parameters without waiting for an event', async () => {
  await (await stack.chain.protocolState.getFunction('setDailySnapshotQuota')(A, 42)).wait();
  await client.workflow.getHandle(marketWorkflowId(A)).signal(refreshParamsSignal);
  await waitFor('the new quota', async () => (await stack.redis.client.hget('DailySnapshotQuotaTableKey', A)) === '42', 10_000);
  assert.equal((await marketStatus(client, A)).params?.dailySnapshotQuota, '42');
});
