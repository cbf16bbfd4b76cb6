/**
 * The core pipeline end to end on real services: two markets, EpochReleased on the chain,
 * submissions filed in the dequeuer's format, and the exact finalizer messages, batch counts,
 * slot counts and relayer bodies that come out. Also the operator's CLI around it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileRawKey, fileSubmission, submissionKey } from '../../devstack/dequeuer.js';
import { epochOutcome, finalizerMessages, marketStatus, windowChecked } from '../support/epochs.js';
import { seqflow, seqflowJson } from '../../devstack/cli.js';
import { waitFor, type ServiceProcess } from '../../devstack/process.js';
import { RELAYER_TOKEN, startStack, type Stack } from '../../devstack/stack.js';
import { checkHistories, closesSeenBeforeStarts, runningPreparations } from '../support/histories.js';

let stack: Stack;
let worker: ServiceProcess;
let A: string;
let B: string;

before(async () => {
  stack = await startStack({ markets: 2, params: { submissionWindow: 6 }, batchSize: 2 });
  [A, B] = stack.chain.markets as [string, string];
  worker = await stack.startWorker();
});

after(async () => {
  try {
    await checkHistories(stack?.temporal.client, 'pipeline', [A, B]);
  } finally {
    await stack?.stop();
  }
});

/** Mines until block `n` exists and returns the hashes of `from..n`. */
async function hashes(from: number, to: number): Promise<string[]> {
  await waitFor(`block ${to}`, async () => (await stack.chain.blockNumber()) >= to);
  return Promise.all(Array.from({ length: to - from + 1 }, (_, i) => stack.chain.blockHash(from + i)));
}

test('start: the CLI starts one market workflow per configured market, idempotently', async () => {
  const first = await seqflowJson(['start'], stack.env);
  assert.deepEqual(first.map((r) => [r.market, r.result]), [[A, 'started'], [B, 'started']]);
  const again = await seqflowJson(['start'], stack.env);
  assert.deepEqual(again.map((r) => [r.market, r.result]), [[A, 'already running'], [B, 'already running']]);
  for (const market of [A, B]) await waitFor(`${market} following`, async () => (await marketStatus(stack.temporal.client, market)).cursor);
});

test('an epoch of each market becomes exact finalizer batches, counts and relayer calls', async () => {
  const client = stack.temporal.client;
  const a = A.toLowerCase();
  const relA = await stack.chain.releaseEpoch(A);
  const relB = await stack.chain.releaseEpoch(B);
  const [h0, h1, h2] = await hashes(relA.blockNumber, relA.blockNumber + 2);
  const keyA = (projectId: string, slotId: number) => submissionKey({ market: A, epochId: relA.epochId, projectId, slotId });

  // Three projects over three canonical headers; the same submission under two headers counts once.
  await fileSubmission(stack.redis.client, { market: A, epochId: relA.epochId, projectId: 'pairContract:0xabc:UNISWAP', slotId: 2, header: h0! });
  await fileSubmission(stack.redis.client, { market: A, epochId: relA.epochId, projectId: 'pairContract:0xabc:UNISWAP', slotId: 1, header: h1! });
  await fileSubmission(stack.redis.client, { market: A, epochId: relA.epochId, projectId: 'pairContract:0xabc:UNISWAP', slotId: 1, header: h2! });
  await fileSubmission(stack.redis.client, { market: A, epochId: relA.epochId, projectId: 'aggregate:0xdef:UNISWAP', slotId: 1, header: h2! });
  await fileSubmission(stack.redis.client, { market: A, epochId: relA.epochId, projectId: 'zeta:0x123:UNISWAP', slotId: 3, header: h1! });
  // Filed under a hash that is no canonical block: ignored.
  await fileSubmission(stack.redis.client, { market: A, epochId: relA.epochId, projectId: 'forked:0x999:UNISWAP', slotId: 9, header: `0x${'ab'.repeat(32)}` });
  // Malformed members: reported and skipped.
  await fileRawKey(stack.redis.client, A, relA.epochId, h1!, 'not-a-submission-key');
  await fileRawKey(stack.redis.client, A, relA.epochId, h2!, `${a}.${relA.epochId}.too.many.parts`);

  const [bh0] = await hashes(relB.blockNumber, relB.blockNumber);
  await fileSubmission(stack.redis.client, { market: B, epochId: relB.epochId, projectId: 'only:0x1:NS', slotId: 7, header: bh0! });

  const outA = await epochOutcome(client, A, relA.epochId);
  const outB = await epochOutcome(client, B, relB.epochId);
  assert.deepEqual(windowChecked(outA, relA.blockNumber), { epochId: String(relA.epochId), batchCount: 2, submissionCount: 4, malformedCount: 2, day: '1' });
  assert.deepEqual(windowChecked(outB, relB.blockNumber), { epochId: String(relB.epochId), batchCount: 1, submissionCount: 1, malformedCount: 0, day: '1' });
  const epochA = client.workflow.getHandle(`market/${A}/epoch/${relA.epochId}`);
  await epochA.result();
  await client.workflow.getHandle(`market/${B}/epoch/${relB.epochId}`).result();

  // Projects sorted, BATCH_SIZE=2 projects per batch, keys sorted, a project never split.
  const e = relA.epochId;
  const messages = await finalizerMessages(stack.redis.client);
  const ofMarket = (m: string) => messages.filter((msg) => msg.startsWith(`{"DataMarketAddress":"${m}",`));
  assert.equal(messages.length, 3);
  assert.deepEqual(ofMarket(A), [
    `{"DataMarketAddress":"${A}","EpochID":${e},"BatchID":1,"Batch":{"aggregate:0xdef:UNISWAP":["${keyA('aggregate:0xdef:UNISWAP', 1)}"],"pairContract:0xabc:UNISWAP":["${keyA('pairContract:0xabc:UNISWAP', 1)}","${keyA('pairContract:0xabc:UNISWAP', 2)}"]}}`,
    `{"DataMarketAddress":"${A}","EpochID":${e},"BatchID":2,"Batch":{"zeta:0x123:UNISWAP":["${keyA('zeta:0x123:UNISWAP', 3)}"]}}`,
  ]);
  assert.deepEqual(ofMarket(B), [
    `{"DataMarketAddress":"${B}","EpochID":${relB.epochId},"BatchID":1,"Batch":{"only:0x1:NS":["${submissionKey({ market: B, epochId: relB.epochId, projectId: 'only:0x1:NS', slotId: 7 })}"]}}`,
  ]);

  const redis = stack.redis.client;
  assert.equal(await redis.get(`BatchCountKey.${a}.${e}`), '2');
  const ttl = await redis.ttl(`BatchCountKey.${a}.${e}`);
  assert.ok(ttl > 86_000 && ttl <= 86_400, `BatchCountKey TTL ${ttl}`);
  assert.equal(await redis.get(`BatchCountKey.${B.toLowerCase()}.${relB.epochId}`), '1');
  assert.deepEqual(
    await redis.mget(`SlotSubmissionsKey.${a}.1.1`, `SlotSubmissionsKey.${a}.1.2`, `SlotSubmissionsKey.${a}.1.3`, `SlotSubmissionsKey.${a}.1.9`),
    ['2', '1', '1', null],
  );
  assert.equal(await redis.get(`SlotSubmissionsKey.${B.toLowerCase()}.1.7`), '1');
  assert.equal(await redis.hget('SubmissionLimitTable', A), '6');

  assert.deepEqual(stack.relayer.accepted('/submitBatchSize').map((r) => r.body).sort(), [
    `{"epochID":${e},"batchSize":2,"authToken":"${RELAYER_TOKEN}","dataMarketAddress":"${A}"}`,
    `{"epochID":${relB.epochId},"batchSize":1,"authToken":"${RELAYER_TOKEN}","dataMarketAddress":"${B}"}`,
  ].sort());
});

test('a second release of an epoch produces no second set of batches', async () => {
  const client = stack.temporal.client;
  const before = { messages: (await finalizerMessages(stack.redis.client)).length, sizes: stack.relayer.accepted('/submitBatchSize').length };
  await stack.chain.reemitEpochReleased(A, 1);
  await waitFor('the duplicate release to be seen', async () => (await marketStatus(client, A)).stats.duplicateReleases === 1);
  const status = await marketStatus(client, A);
  assert.equal(status.stats.epochsStarted, 1);
  assert.equal((await finalizerMessages(stack.redis.client)).length, before.messages);
  assert.equal(stack.relayer.accepted('/submitBatchSize').length, before.sizes);
});

test('pause holds new epochs back and resume batches them: an empty epoch still reports 0 batches', async () => {
  const client = stack.temporal.client;
  const paused = await seqflowJson(['pause', A], stack.env);
  assert.equal(paused[0]!.state, 'paused');
  const rel = await stack.chain.releaseEpoch(A);
  await new Promise((r) => setTimeout(r, 3000));
  await assert.rejects(client.workflow.getHandle(`market/${A}/epoch/${rel.epochId}`).describe(), /not found/i);
  assert.equal((await marketStatus(client, A)).paused, true);

  const resumed = await seqflowJson(['resume', A], stack.env);
  assert.equal(resumed[0]!.state, 'following');
  const outcome = await epochOutcome(client, A, rel.epochId);
  assert.deepEqual(windowChecked(outcome, rel.blockNumber), { epochId: String(rel.epochId), batchCount: 0, submissionCount: 0, malformedCount: 0, day: '1' });
  await client.workflow.getHandle(`market/${A}/epoch/${rel.epochId}`).result();
  assert.ok(stack.relayer.accepted('/submitBatchSize').some((r) => r.body === `{"epochID":${rel.epochId},"batchSize":0,"authToken":"${RELAYER_TOKEN}","dataMarketAddress":"${A}"}`));
  assert.equal(await stack.redis.client.get(`BatchCountKey.${A.toLowerCase()}.${rel.epochId}`), '0');
  await waitFor('the epoch to close in the market status', async () => (await marketStatus(client, A)).openEpochs.length === 0);
});

test('stop ends the market cleanly; start resumes at its cursor, so an epoch released meanwhile is batched', async () => {
  const client = stack.temporal.client;
  const stopped = await seqflowJson(['stop', A], stack.env);
  assert.equal(stopped[0]!.state, 'stopping');
  const final = await client.workflow.getHandle(`market/${A}`).result();
  assert.equal(final.lastEpochId, '2');

  const rel = await stack.chain.releaseEpoch(A);
  const statusWhileStopped = await seqflowJson(['status', A], stack.env);
  assert.equal(statusWhileStopped[0]!.workflow, 'COMPLETED');

  const restarted = await seqflowJson(['start', A], stack.env);
  assert.equal(restarted[0]!.result, 'resumed');
  const outcome = await epochOutcome(client, A, rel.epochId);
  assert.equal(outcome.epochId, String(rel.epochId));
  const status = await seqflowJson(['status'], stack.env);
  assert.deepEqual(status.map((s) => [s.market, s.workflow]), [[A, 'RUNNING'], [B, 'RUNNING']]);
  assert.equal(status[0]!.lastEpochId, String(rel.epochId));
  assert.equal(status[0]!.epochsBatched, 3);

  const listed = await seqflowJson(['list'], stack.env);
  assert.ok(listed.some((r) => r.market === A && r.workflow === 'RUNNING'));
  assert.ok(listed.some((r) => r.market === A && r.workflow === 'COMPLETED'));
  assert.ok(listed.some((r) => r.market === B && r.workflow === 'RUNNING'));

  for (const s of await seqflowJson(['stop'], stack.env)) assert.equal(s.state, 'stopping');
});

test('an epoch that closes while its market is stopped is counted when the market is started again', async () => {
  const client = stack.temporal.client;
  assert.equal((await seqflowJson(['start', A], stack.env))[0]!.result, 'resumed');
  await waitFor('A following', async () => (await marketStatus(client, A)).cursor);
  const before = await marketStatus(client, A);
  // The relayer keeps the epoch open (retried for about 15 s) until the market has stopped, however slow the stop.
  stack.relayer.failNext('/submitBatchSize', [503, 503, 503, 503]);
  const rel = await stack.chain.releaseEpoch(A);
  await fileSubmission(stack.redis.client, { market: A, epochId: rel.epochId, projectId: 'late:0x1:NS', slotId: 1, header: rel.blockHash });
  await waitFor('the preparation', () => client.workflow.getHandle(`market/${A}/epoch/${rel.epochId}`).describe().then(() => true), 30_000);
  await seqflowJson(['stop', A], stack.env);
  assert.deepEqual((await client.workflow.getHandle(`market/${A}`).result()).openEpochs, [String(rel.epochId)], 'stopped with the epoch open');
  assert.equal((await epochOutcome(client, A, rel.epochId)).submissionCount, 1, 'it completes meanwhile, and cannot report');
  assert.equal((await seqflowJson(['start', A], stack.env))[0]!.result, 'resumed');
  const after = await marketStatus(client, A);
  assert.deepEqual(after.openEpochs, []);
  assert.equal(after.stats.epochsBatched, before.stats.epochsBatched + 1);
  assert.equal(after.stats.epochsStarted, before.stats.epochsStarted + 1);

  // An update the market refuses explains why.
  const tooFar = await seqflow(['rewind', '--to-block', '99999999', A], stack.env);
  assert.equal(tooFar.code, 1);
  assert.match(tooFar.stderr, /toBlock must be a block number from 0 to the cursor \d+, got 99999999/);
});

test('a terminated market is started again at its last cursor: an epoch released meanwhile is batched', async () => {
  const client = stack.temporal.client;
  assert.equal((await seqflowJson(['start', B], stack.env))[0]!.result, 'resumed');
  await waitFor('B following', async () => (await marketStatus(client, B)).cursor);
  await client.workflow.getHandle(`market/${B}`).terminate('operator test');
  const rel = await stack.chain.releaseEpoch(B);
  await stack.chain.mine(5);
  const [row] = await seqflowJson(['start', B], stack.env);
  assert.equal(row!.result, 'resumed');
  assert.ok((row!.nextBlock as number) <= rel.blockNumber, `resumed at ${String(row!.nextBlock)}, before the release at ${rel.blockNumber}`);
  assert.equal((await epochOutcome(client, B, rel.epochId)).epochId, String(rel.epochId));
  for (const s of await seqflowJson(['stop'], stack.env)) assert.equal(s.state, 'stopping');
});

test('the CLI explains bad input and an unreachable Temporal', async () => {
  const help = await seqflow(['--help'], stack.env);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: seqflow <command>/);
  const bad = await seqflow(['status', 'not-an-address'], stack.env);
  assert.equal(bad.code, 64);
  assert.match(bad.stderr, /not a market address: not-an-address/);
  // A service it cannot use is a configuration problem: exit 2, naming the variable.
  const unreachable = await seqflow(['status'], { ...stack.env, TEMPORAL_ADDRESS: '127.0.0.1:1' });
  assert.equal(unreachable.code, 2);
  assert.match(unreachable.stderr, /TEMPORAL_ADDRESS: no Temporal frontend answers at 127\.0\.0\.1:1 within 5 s/);
  const noNamespace = await seqflow(['status'], { ...stack.env, TEMPORAL_NAMESPACE: 'no-such-namespace' });
  assert.equal(noNamespace.code, 2);
  assert.match(noNamespace.stderr, /TEMPORAL_NAMESPACE: Temporal at 127\.0\.0\.1:\d+ has no namespace "no-such-namespace"/);
  const noMarkets = await seqflow(['start'], { ...stack.env, DATA_MARKET_ADDRESSES: '' });
  assert.equal(noMarkets.code, 2);
  assert.match(noMarkets.stderr, /DATA_MARKET_ADDRESSES is required/);
  // A new market's start block comes from the chain head, read through RPC_NODES.
  const newMarket = '0x' + 'ab'.repeat(20);
  const noChain = await seqflow(['start', newMarket], { ...stack.env, RPC_NODES: JSON.stringify(['http://127.0.0.1:1']) });
  assert.equal(noChain.code, 1);
  assert.match(noChain.stderr, /^seqflow: cannot read the chain head through RPC_NODES \(or give --from-block N\): .*127\.0\.0\.1:1/m);
  const noRpc = await seqflow(['start', newMarket], { ...stack.env, RPC_NODES: '', PROST_RPC_URL: '' });
  assert.equal(noRpc.code, 2);
  assert.match(noRpc.stderr, /RPC_NODES \(a JSON array of URLs\) or PROST_RPC_URL is required/);
  const badRewind = await seqflow(['rewind', A], stack.env);
  assert.equal(badRewind.code, 64);
  assert.match(badRewind.stderr, /rewind needs --to-block N/);
  const badBlock = await seqflow(['rewind', '--to-block', 'ten', A], stack.env);
  assert.match(badBlock.stderr, /--to-block must be a block number, got ten/);
  const negative = await seqflow(['rewind', '--to-block', '-5', A], stack.env);
  assert.equal(negative.code, 64);
  assert.match(negative.stderr, /--to-block/);
});

test('row 7: ten epochs released at once while stopped close as fast as they start: openEpochs is exactly the open preparations', async (t) => {
  const client = stack.temporal.client;
  const before = (await client.workflow.getHandle(`market/${A}`).result()) as { stats: { epochsStarted: number; epochsBatched: number } };
  const { epochIds } = await stack.chain.releaseMany(A, 10);
  await new Promise((r) => setTimeout(r, 7000)); // past their windows: each preparation closes at once
  await seqflowJson(['start', A], stack.env);
  for (const epochId of epochIds) await epochOutcome(client, A, epochId);

  const status = await waitFor('every close counted', async () => {
    const s = await marketStatus(client, A);
    return s.stats.epochsBatched === before.stats.epochsBatched + 10 && s;
  });
  assert.equal(status.stats.epochsStarted, before.stats.epochsStarted + 10);
  assert.deepEqual(status.openEpochs, await runningPreparations(client, A), 'openEpochs lists exactly the running preparations');
  assert.deepEqual(status.openEpochs, []);
  t.diagnostic(`epochs whose close reached the market no later than their start: ${JSON.stringify(await closesSeenBeforeStarts(client, A))}`);
  await client.workflow.getHandle(`market/${A}`).executeUpdate('stop');
});

test('SIGTERM shuts the worker down cleanly', async () => {
  await worker.stop('SIGTERM');
  assert.equal(await worker.exited, 0);
  assert.match(worker.log(), /seqflow worker stopped/);
});
