/**
 * Redis going away under a running market, on real services (issue 7 rows 6 and 9): an outage
 * (restarted with its data) is one log line each way and a market problem while it lasts, and
 * every epoch is still batched exactly once; a restart without its data is noticed (the
 * market's marker is gone) and reported as a problem naming the epochs it may have hit.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { describeMarket } from '../../src/status.js';
import { marketWorkflowId, stopUpdate } from '../../src/workflows/definitions.js';
import { seqflowJson } from '../../devstack/cli.js';
import { fileSubmission } from '../../devstack/dequeuer.js';
import { epochOutcome, finalizerMessages, marketStatus } from '../support/epochs.js';
import { checkHistories } from '../support/histories.js';
import { waitFor, type ServiceProcess } from '../../devstack/process.js';
import { startStack, type Stack } from '../../devstack/stack.js';

let stack: Stack;
let worker: ServiceProcess;
let A: string;

before(async () => {
  // A window long enough to take Redis down and up again while an epoch's window is open.
  stack = await startStack({ markets: 1, params: { submissionWindow: 8 }, batchSize: 2 });
  [A] = stack.chain.markets as [string];
  worker = await stack.startWorker();
  await seqflowJson(['start', A], stack.env);
  await waitFor('the market following', async () => (await marketStatus(stack.temporal.client, A)).cursor);
});

after(async () => {
  const client = stack?.temporal.client;
  await client?.workflow.getHandle(marketWorkflowId(A)).executeUpdate(stopUpdate).catch(() => undefined);
  try {
    await checkHistories(client, 'redis', [A]);
  } finally {
    await stack?.stop();
  }
});

async function releaseWithSubmissions(projects: number): Promise<number> {
  const rel = await stack.chain.releaseEpoch(A);
  for (let p = 0; p < projects; p++) {
    await fileSubmission(stack.redis.client, { market: A, epochId: rel.epochId, projectId: `project${p}:0x${p}:NS`, slotId: p + 1, header: rel.blockHash });
  }
  return rel.epochId;
}

type Problem = { kind: string; since: string; detail: string };
const problemsOf = async () => {
  const row = await describeMarket(stack.temporal.client, A);
  return { health: row.health, problems: row.problems as Problem[] };
};
const messagesOf = async (epochId: number) => (await finalizerMessages(stack.redis.client)).filter((m) => m.startsWith(`{"DataMarketAddress":"${A}","EpochID":${epochId},`));
const batchSizeCalls = (epochId: number) => stack.relayer.requests.filter((r) => r.path === '/submitBatchSize' && r.json.epochID === epochId);
const logLines = (message: string) => worker.log().split('\n').filter((l) => l.includes(`"msg":"${message}`));
const diagnose = async (err: unknown): Promise<never> => {
  console.log('status at the failure:', JSON.stringify(await describeMarket(stack.temporal.client, A)));
  console.log(worker.log().split('\n').slice(-15).map((l) => l.replace(/"taskToken":"[^"]*",/, '').slice(0, 700)).join('\n'));
  throw err;
};

test('row 6: a Redis outage is one log line when it goes and one when it is back, a redis-unavailable problem while it lasts; every epoch is batched once', async () => {
  const before = await releaseWithSubmissions(3);
  await epochOutcome(stack.temporal.client, A, before);

  await stack.redis.down({ keepData: true });
  const during = (await stack.chain.releaseEpoch(A)).epochId; // the follower cannot record it yet
  const down = await waitFor('redis-unavailable in the market status', async () => {
    const s = await problemsOf();
    return s.problems.some((p) => p.kind === 'redis-unavailable') && s;
  }, 30_000).catch(diagnose);
  assert.equal(down.health, 'failed');
  assert.match(down.problems.find((p) => p.kind === 'redis-unavailable')!.detail, /^the worker cannot reach Redis: (the connection to 127\.0\.0\.1:\d+ closed|connect ECONNREFUSED 127\.0\.0\.1:\d+)$/);
  await new Promise((r) => setTimeout(r, 3000)); // several failed reconnects
  await stack.redis.up();

  const after = await releaseWithSubmissions(2);
  await waitFor('the problem to clear', async () => !(await problemsOf()).problems.some((p) => p.kind === 'redis-unavailable'), 30_000);
  for (const epochId of [during, after]) await epochOutcome(stack.temporal.client, A, epochId, 120_000);
  await stack.temporal.client.workflow.getHandle(`market/${A}/epoch/${after}`).result();
  for (const epochId of [before, after]) assert.equal((await messagesOf(epochId)).length, epochId === before ? 2 : 1, `epoch ${epochId}: each batch pushed once`);
  for (const epochId of [before, during, after]) assert.equal(batchSizeCalls(epochId).filter((r) => r.status === 200).length, 1, `epoch ${epochId}: one batch size`);

  assert.equal(logLines('Redis is unavailable').length, 1, logLines('Redis is unavailable').join('\n'));
  assert.equal(logLines('Redis is available again').length, 1);
  assert.doesNotMatch(worker.log(), /Unhandled error event/);
  const status = await marketStatus(stack.temporal.client, A);
  assert.equal(status.redisDataLost ?? null, null, 'restarted with its data: no loss reported');
});

test('row 9: Redis restarted empty while an epoch is open: a redis-data-lost problem naming that epoch (not the one batched before); resume clears it', async () => {
  const client = stack.temporal.client;
  const earlier = await releaseWithSubmissions(2);
  await epochOutcome(client, A, earlier);
  const open = await releaseWithSubmissions(3);
  // The follower saw the marker after `earlier` closed (it returned with `open`'s release).
  await waitFor('the open epoch in the market', async () => (await marketStatus(client, A)).openEpochs.includes(String(open)));
  assert.ok(!(await marketStatus(client, A)).recentlyClosed?.some((c) => c.epochId === String(earlier)));

  await stack.redis.down({ keepData: false });
  await stack.redis.up();
  const lost = await waitFor('redis-data-lost in the market status', async () => (await problemsOf()).problems.find((p) => p.kind === 'redis-data-lost'), 30_000).catch(diagnose);
  assert.match(lost.detail, new RegExp(`^Redis lost its data between \\S+ and \\S+ \\(restarted without persistence, flushed or evicted\\): epochs ${open} may have been counted and batched without some submissions; resume clears this$`));
  assert.equal((await problemsOf()).health, 'degraded', 'the market goes on');
  await waitFor('the loss in the worker log', async () => logLines('Redis lost its data').length === 1, 5000);

  // The epoch's submissions went with the data: it is batched from what is left, and named above.
  const outcome = await epochOutcome(client, A, open, 120_000);
  assert.equal(outcome.submissionCount, 0);
  const next = await releaseWithSubmissions(1);
  assert.equal((await epochOutcome(client, A, next, 120_000)).submissionCount, 1, 'later epochs are whole again');
  assert.equal((await problemsOf()).problems.filter((p) => p.kind === 'redis-data-lost').length, 1);
  assert.equal(logLines('Redis lost its data').length, 1, 'reported once');

  const [resumed] = await seqflowJson(['resume', A], stack.env);
  assert.deepEqual((resumed!.problems as Problem[]).filter((p) => p.kind === 'redis-data-lost'), []);
});
