/**
 * Faults on real services: a relayer that fails and recovers, a relayer that refuses, a
 * worker killed in the middle of a submission window, and continue-as-new in the middle of a
 * run. In each case every epoch is batched exactly once, or reported failed with nothing pushed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { rootCause } from '@temporalio/common';
import * as keys from '../../src/domain/keys.js';
import { describeMarket } from '../../src/status.js';
import { marketWorkflowId, stopUpdate } from '../../src/workflows/definitions.js';
import type { marketWorkflow } from '../../src/workflows/market.js';
import { fileSubmission } from '../../devstack/dequeuer.js';
import { epochOutcome, finalizerMessages, marketStatus, windowChecked } from '../support/epochs.js';
import { checkHistories } from '../support/histories.js';
import { waitFor, type ServiceProcess } from '../../devstack/process.js';
import { startStack, type Stack } from '../../devstack/stack.js';

let stack: Stack;
let worker: ServiceProcess;
let A: string;
let B: string;

before(async () => {
  stack = await startStack({ markets: 2, params: { submissionWindow: 5 }, batchSize: 2 });
  [A, B] = stack.chain.markets as [string, string];
  worker = await stack.startWorker();
});

after(async () => {
  const client = stack?.temporal.client;
  for (const m of [A, B]) await client?.workflow.getHandle(marketWorkflowId(m)).executeUpdate(stopUpdate).catch(() => undefined);
  try {
    await checkHistories(client, 'faults', [A, B]);
  } finally {
    await stack?.stop();
  }
});

async function startMarket(market: string, extra: { continueAsNewAfterEvents?: number } = {}): Promise<WorkflowHandle<typeof marketWorkflow>> {
  const handle = await stack.temporal.client.workflow.start<typeof marketWorkflow>('marketWorkflow', {
    workflowId: marketWorkflowId(market),
    taskQueue: stack.taskQueue,
    args: [{ market, ...extra }],
  });
  await waitFor(`${market} following`, async () => (await marketStatus(stack.temporal.client, market)).cursor);
  return handle;
}

/** Releases an epoch and files `projects` one-slot submissions under its release block. */
async function releaseWithSubmissions(market: string, projects: number): Promise<number> {
  const rel = await stack.chain.releaseEpoch(market);
  for (let p = 0; p < projects; p++) {
    await fileSubmission(stack.redis.client, { market, epochId: rel.epochId, projectId: `project${p}:0x${p}:NS`, slotId: p + 1, header: rel.blockHash });
  }
  return rel.epochId;
}

const messagesOf = async (market: string, epochId: number) =>
  (await finalizerMessages(stack.redis.client)).filter((m) => m.startsWith(`{"DataMarketAddress":"${market}","EpochID":${epochId},`));
const batchSizeCalls = (market: string, epochId: number) =>
  stack.relayer.requests.filter((r) => r.path === '/submitBatchSize' && r.json.dataMarketAddress === market && r.json.epochID === epochId);

test('relayer answers 500 twice, then 200: the batch size is retried and the batches pushed exactly once', async () => {
  await startMarket(A);
  stack.relayer.failNext('/submitBatchSize', [500, 500]);
  const epochId = await releaseWithSubmissions(A, 3);
  const outcome = await epochOutcome(stack.temporal.client, A, epochId);
  assert.equal(outcome.batchCount, 2);
  await stack.temporal.client.workflow.getHandle(`market/${A}/epoch/${epochId}`).result();
  assert.deepEqual(batchSizeCalls(A, epochId).map((r) => r.status), [500, 500, 200]);
  assert.deepEqual((await messagesOf(A, epochId)).map((m) => JSON.parse(m).BatchID), [1, 2]);
});

test('relayer refuses with 422: the epoch fails at once, nothing is pushed, the market counts it failed', async () => {
  stack.relayer.failNext('/submitBatchSize', [422]);
  const epochId = await releaseWithSubmissions(A, 1);
  await assert.rejects(epochOutcome(stack.temporal.client, A, epochId), (err: Error) => {
    assert.match(rootCause(err.cause) ?? '', /relayer answered \/submitBatchSize with HTTP 422: \{"message":"Invalid request payload!"\}/);
    return true;
  });
  assert.deepEqual(batchSizeCalls(A, epochId).map((r) => r.status), [422]);
  assert.deepEqual(await messagesOf(A, epochId), []);
  await waitFor('the market to count the failed epoch', async () => (await marketStatus(stack.temporal.client, A)).stats.epochsFailed === 1);
});

test('finalizerQueue briefly a key of another type (row 1): the push retries visibly, in the pending activity and the market status; repaired, each batch pushed exactly once', async () => {
  const r = stack.redis.client;
  // Keep the queue's earlier messages aside while the key is a string.
  if (await r.exists(keys.finalizerQueue)) await r.rename(keys.finalizerQueue, 'test:finalizerQueue.kept');
  await r.set(keys.finalizerQueue, 'an operator mistake');
  const epochId = await releaseWithSubmissions(A, 3);
  const epoch = stack.temporal.client.workflow.getHandle(`market/${A}/epoch/${epochId}`);
  const retrying = await waitFor('the failing push in the market status', async () => {
    const s = await describeMarket(stack.temporal.client, A);
    return (s.problems as Array<{ kind: string; detail: string }>).find((p) => p.kind === 'epoch-retrying');
  }, 60_000);
  assert.match(retrying.detail, new RegExp(`^epoch ${epochId}: submitEpoch attempt \\d+: WRONGTYPE finalizerQueue holds a string, not a list: nothing written`));
  const pending = (await epoch.describe()).raw.pendingActivities?.[0];
  assert.equal(pending?.activityType?.name, 'submitEpoch');
  assert.match(pending?.lastFailure?.message ?? '', /WRONGTYPE finalizerQueue/);
  assert.equal(await r.exists(`seqflow:FinalizerPushed.${A.toLowerCase()}.${epochId}`), 0, 'no batch marked pushed');

  await r.del(keys.finalizerQueue);
  await epoch.result();
  assert.deepEqual((await messagesOf(A, epochId)).map((m) => JSON.parse(m).BatchID), [1, 2]);
  const kept = await r.lrange('test:finalizerQueue.kept', 0, -1);
  if (kept.length > 0) await r.rpush(keys.finalizerQueue, ...kept);
  await r.del('test:finalizerQueue.kept');
  await waitFor('the problem to clear', async () => !((await describeMarket(stack.temporal.client, A)).problems as Array<{ kind: string }>).some((p) => p.kind === 'epoch-retrying'));
});

test('worker killed during the submission window and restarted: the epoch is batched once', async () => {
  const client = stack.temporal.client;
  const rel = await stack.chain.releaseEpoch(A);
  const prep = client.workflow.getHandle(`market/${A}/epoch/${rel.epochId}`);
  await waitFor('the window timer', () => prep.describe().then(() => true), 30_000);
  await worker.stop('SIGKILL');
  // Submissions keep arriving while no worker runs.
  for (let p = 0; p < 3; p++) {
    await fileSubmission(stack.redis.client, { market: A, epochId: rel.epochId, projectId: `late${p}:0x1:NS`, slotId: 10 + p, header: rel.blockHash });
  }
  await new Promise((r) => setTimeout(r, 6000)); // past the window's end
  assert.equal((await prep.describe()).status.name, 'RUNNING');
  worker = await stack.startWorker();
  const outcome = await epochOutcome(client, A, rel.epochId, 120_000);
  assert.deepEqual(windowChecked(outcome, rel.blockNumber), { epochId: String(rel.epochId), batchCount: 2, submissionCount: 3, malformedCount: 0, day: '1' });
  await client.workflow.getHandle(`market/${A}/epoch/${rel.epochId}`).result();
  assert.deepEqual((await messagesOf(A, rel.epochId)).map((m) => JSON.parse(m).BatchID), [1, 2]);
  assert.equal(batchSizeCalls(A, rel.epochId).length, 1);
  const a = A.toLowerCase();
  assert.deepEqual(await stack.redis.client.mget(`SlotSubmissionsKey.${a}.1.10`, `SlotSubmissionsKey.${a}.1.11`, `SlotSubmissionsKey.${a}.1.12`), ['1', '1', '1']);
});

test('continue-as-new in the middle of a run loses and doubles no epoch', async () => {
  const client = stack.temporal.client;
  const handle = await startMarket(B, { continueAsNewAfterEvents: 30 });
  const firstRunId = (await handle.describe()).runId;
  const epochs: number[] = [];
  for (let i = 0; i < 5; i++) {
    epochs.push(await releaseWithSubmissions(B, 1));
    await new Promise((r) => setTimeout(r, 1500));
  }
  for (const epochId of epochs) {
    assert.equal((await epochOutcome(client, B, epochId)).batchCount, 1);
    await client.workflow.getHandle(`market/${B}/epoch/${epochId}`).result();
  }
  const status = await waitFor('every epoch to report back', async () => {
    const s = await marketStatus(client, B);
    return s.stats.epochsBatched === epochs.length ? s : undefined;
  });
  assert.notEqual(status.runId, firstRunId, 'the market continued as new');
  assert.deepEqual(status.stats, {
    epochsStarted: 5,
    duplicateReleases: 0,
    epochsBatched: 5,
    epochsFailed: 0,
    reorgs: 0,
    skippedLogs: 0,
    periodicRewardUpdates: 0,
    finalRewardUpdates: 0,
    epochsOrphaned: 0,
    rpcAnswersRejected: 0,
    reorgDepthMax: 0,
    eventsRecovered: 0,
  });
  assert.equal(status.health, 'ok');
  assert.equal(status.lastEpochId, String(epochs.at(-1)));
  assert.deepEqual(status.openEpochs, []);
  for (const epochId of epochs) {
    assert.equal((await messagesOf(B, epochId)).length, 1, `epoch ${epochId} pushed once`);
    assert.equal(batchSizeCalls(B, epochId).length, 1, `epoch ${epochId} batch size sent once`);
  }
  const runIds: string[] = [];
  for await (const run of client.workflow.list({ query: `WorkflowId = '${marketWorkflowId(B)}'` })) runIds.push(run.runId);
  assert.ok(runIds.length >= 2, `expected several runs, got ${runIds.join(', ')}`);
});
