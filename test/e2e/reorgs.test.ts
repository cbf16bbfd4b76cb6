/**
 * The chain's truth end to end (issue "trust no RPC answer", rows 6, 7, 8 and 10): real reorgs
 * made on the Hardhat node (evm_snapshot / evm_revert, then a longer fork), a node serving a
 * broken hash chain (through the fault-injecting proxy), and the owner changing dayCounter
 * without an event. The worker process follows four markets; each scenario asserts the exact
 * outcome on the markets, the epochs, Redis and the relayer.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { describeMarket } from '../../src/status.js';
import { batchPreparationWorkflowId, finalRewardsWorkflowId, marketWorkflowId, stopUpdate } from '../../src/workflows/definitions.js';
import { seqflowJson } from '../../devstack/cli.js';
import { fileSubmission } from '../../devstack/dequeuer.js';
import { epochOutcome, finalizerMessages, marketStatus, preparationResult, windowChecked } from '../support/epochs.js';
import { checkHistories } from '../support/histories.js';
import { waitFor, type ServiceProcess } from '../../devstack/process.js';
import { RELAYER_TOKEN, startStack, type Stack } from '../../devstack/stack.js';

const STALL_SECONDS = 5;

let stack: Stack;
let client: Client;
let worker: ServiceProcess;
let markets: string[];
let A: string;
let B: string;
let C: string;
let D: string;

before(async () => {
  stack = await startStack({ markets: 4, params: { submissionWindow: 4 }, batchSize: 2 });
  client = stack.temporal.client;
  markets = stack.chain.markets;
  [A, B, C, D] = markets as [string, string, string, string];
  worker = await stack.startWorker({ FOLLOWER_STALL_SECONDS: String(STALL_SECONDS), RESCAN_DELAY_SECONDS: '2', DAY_TRANSITION_BUFFER_EPOCHS: '1', WINDOW_CLOSE_WAIT_SECONDS: '10' });
  const started = await seqflowJson(['start'], stack.env);
  assert.deepEqual(started.map((r) => r.result), ['started', 'started', 'started', 'started']);
  for (const m of markets) await waitFor(`${m} following`, async () => (await marketStatus(client, m)).cursor);
});

after(async () => {
  for (const m of markets ?? []) await client?.workflow.getHandle(marketWorkflowId(m)).executeUpdate(stopUpdate).catch(() => undefined);
  try {
    await checkHistories(client, 'reorgs', markets ?? []);
  } finally {
    await stack?.stop();
  }
});

/** Waits until the market's follower (live heartbeat) has scanned past `block`. */
const followerPast = (market: string, block: number) =>
  waitFor(`${market}'s follower past block ${block}`, async () => ((await describeMarket(client, market)).nextBlock as number) > block, 60_000, 200);

const messagesOf = async (market: string, epochId: number) => (await finalizerMessages(stack.redis.client)).filter((m) => m.startsWith(`{"DataMarketAddress":"${market}","EpochID":${epochId},`));
const batchSizeCalls = (market: string, epochId: number) => stack.relayer.requests.filter((r) => r.path === '/submitBatchSize' && r.json.dataMarketAddress === market && r.json.epochID === epochId);
const preparationExists = (market: string, epochId: number) => client.workflow.getHandle(batchPreparationWorkflowId(market, String(epochId))).describe().then(() => true);

/**
 * A reorg: reverts to `snapshot`, runs `onNewFork` there, then mines the new fork `extra` blocks
 * past the old head (interval mining kept extending the old fork meanwhile): followers refuse
 * heads below one they saw, so only a longer fork is followed.
 */
async function reorg(snapshot: string, extra: number, onNewFork: () => Promise<void> = async () => {}): Promise<void> {
  const oldHead = await stack.chain.blockNumber();
  await stack.chain.revert(snapshot);
  await onNewFork();
  await stack.chain.mineRegular(oldHead - (await stack.chain.blockNumber()) + extra);
}

/** On a failed wait: prints the market's status and its latest worker log lines, then rethrows. */
const diagnose = (market: string) => async (err: unknown): Promise<never> => {
  console.log(`status of ${market} at the failure:`, JSON.stringify(await describeMarket(client, market)));
  console.log(worker.log().split('\n').filter((l) => l.includes(market)).slice(-12).map((l) => l.replace(/"taskToken":"[^"]*",/, '').slice(0, 700)).join('\n'));
  throw err;
};

/** A run of an epoch's preparation, read from the run itself (visibility lags behind closes). */
async function preparationRun(market: string, epochId: number, runId?: string): Promise<{ runId: string; status: string }> {
  const { runId: id, status } = await client.workflow.getHandle(batchPreparationWorkflowId(market, String(epochId)), runId).describe();
  return { runId: id, status: status.name };
}

test('row 6: a reorg of 45 blocks whose fork releases an epoch: walked back to the fork point, the epoch batched, stored hashes canonical', async () => {
  const base = await stack.chain.blockNumber();
  const snapshot = await stack.chain.snapshot();
  await stack.chain.mineRegular(45);
  for (const m of markets) await followerPast(m, base + 42);
  const orphaned = await Promise.all(Array.from({ length: 45 }, (_, i) => stack.chain.blockHash(base + 1 + i)));
  assert.equal(await stack.redis.client.get(`BlockHashByNumberKey.${base + 20}`), orphaned[19], 'the old fork was stored');
  let rel = { epochId: 0, blockNumber: 0, blockHash: '' };
  await reorg(snapshot, 20, async () => {
    rel = await stack.chain.releaseEpoch(A);
  });
  assert.ok(rel.blockNumber - base <= 2, 'released right above the fork point');
  await fileSubmission(stack.redis.client, { market: A, epochId: rel.epochId, projectId: 'p:0x1:NS', slotId: 1, header: rel.blockHash });

  const outcome = await epochOutcome(client, A, rel.epochId);
  assert.deepEqual(windowChecked(outcome, rel.blockNumber), { epochId: String(rel.epochId), batchCount: 1, submissionCount: 1, malformedCount: 0, day: '1' });
  const status = await marketStatus(client, A);
  assert.ok(status.stats.reorgs >= 1);
  assert.ok(status.stats.reorgDepthMax! >= 43 && status.stats.reorgDepthMax! <= 64, `walked back ${status.stats.reorgDepthMax} blocks to the fork point`);
  assert.equal(status.violation, null);
  // No orphaned hash is left stored: each replaced height holds the new fork's hash, or none
  // where the rescan read the blocks in a wide range (they were deep by then). (The block below
  // the release can come out the same on both forks: same parent, time and no transaction.)
  const canonical = await Promise.all(Array.from({ length: 45 }, (_, i) => stack.chain.blockHash(base + 1 + i)));
  assert.ok(canonical.filter((hash, i) => hash !== orphaned[i]).length >= 43, 'the fork replaced the blocks from the release up');
  for (let n = base + 1; n <= base + 45; n++) {
    const stored = await stack.redis.client.get(`BlockHashByNumberKey.${n}`);
    assert.ok(stored === null || stored === canonical[n - base - 1], `BlockHashByNumberKey.${n} is ${stored}, not the canonical ${canonical[n - base - 1]}`);
  }
  const last = (await stack.chain.blockNumber()) - 10;
  assert.equal(await stack.redis.client.get(`BlockHashByNumberKey.${last}`), await stack.chain.blockHash(last), 'blocks checked one by one are stored');
});

test('row 7: a reorg deeper than CONFIRMATIONS takes the only release of an epoch before its window ends: no batches, the preparation ends orphaned; released again, it is batched once from the new block', async () => {
  const snapshot = await stack.chain.snapshot();
  const rel = await stack.chain.releaseEpoch(B);
  await fileSubmission(stack.redis.client, { market: B, epochId: rel.epochId, projectId: 'gone:0x1:NS', slotId: 1, header: rel.blockHash });
  await stack.chain.mineRegular(4);
  await waitFor('the preparation of the released epoch', () => preparationExists(B, rel.epochId), 30_000);
  const first = await preparationRun(B, rel.epochId);
  await reorg(snapshot, 10);

  const orphaned = await preparationResult(client, B, rel.epochId);
  assert.ok('orphaned' in orphaned, JSON.stringify(orphaned));
  assert.match(orphaned.detail, new RegExp(`block ${rel.blockNumber} ${rel.blockHash} left the chain, and no block from \\d+ to \\d+ holds the release`));
  await waitFor('the market to count the orphaned epoch', async () => (await marketStatus(client, B)).stats.epochsOrphaned === 1);
  assert.deepEqual(await messagesOf(B, rel.epochId), []);
  assert.deepEqual(batchSizeCalls(B, rel.epochId), []);
  assert.equal(await stack.redis.client.exists(`BatchCountKey.${B.toLowerCase()}.${rel.epochId}`), 0);
  await waitFor('the orphaned epoch in the log', async () => /"epochId":"\d+".*"msg":"epoch orphaned: its release left the chain"|epoch orphaned: its release left the chain/.test(worker.log()), 10_000);

  // The release comes back on the new fork (releaseMany: the same signed transaction again would share the old hash).
  const again = await stack.chain.releaseMany(B, 1);
  assert.deepEqual(again.epochIds, [rel.epochId]);
  await fileSubmission(stack.redis.client, { market: B, epochId: rel.epochId, projectId: 'back:0x1:NS', slotId: 2, header: again.blockHash });
  const outcome = await waitFor('the epoch batched from its new release', async () => {
    const result = await preparationResult(client, B, rel.epochId);
    return 'orphaned' in result ? undefined : result;
  });
  assert.deepEqual(windowChecked(outcome, again.blockNumber), { epochId: String(rel.epochId), batchCount: 1, submissionCount: 1, malformedCount: 0, day: '1' });
  await client.workflow.getHandle(batchPreparationWorkflowId(B, String(rel.epochId))).result();
  assert.equal((await messagesOf(B, rel.epochId)).length, 1);
  assert.equal(batchSizeCalls(B, rel.epochId).length, 1);
  assert.deepEqual(await preparationRun(B, rel.epochId, first.runId), { runId: first.runId, status: 'COMPLETED' }, 'the orphaned preparation completed');
  const second = await preparationRun(B, rel.epochId);
  assert.notEqual(second.runId, first.runId, 'the new release started a new preparation');
  assert.equal(second.status, 'COMPLETED');
  const status = await marketStatus(client, B);
  assert.equal(status.stats.epochsOrphaned, 1);
  assert.equal(status.stats.epochsBatched, 1);
  assert.deepEqual(status.openEpochs, []);
});

test('row 7, the release moved: the epoch re-released on the new fork before its window ended is batched once, from the new block', async () => {
  const snapshot = await stack.chain.snapshot();
  const rel = await stack.chain.releaseEpoch(C);
  await stack.chain.mineRegular(3);
  await waitFor('the preparation of the released epoch', () => preparationExists(C, rel.epochId), 30_000);
  const first = await preparationRun(C, rel.epochId);
  let again = { epochIds: [0], blockNumber: 0, blockHash: '' };
  await reorg(snapshot, 10, async () => {
    await stack.chain.mineRegular(2);
    again = await stack.chain.releaseMany(C, 1);
  });
  assert.deepEqual(again.epochIds, [rel.epochId]);
  await fileSubmission(stack.redis.client, { market: C, epochId: rel.epochId, projectId: 'moved:0x1:NS', slotId: 1, header: again.blockHash });
  const outcome = await epochOutcome(client, C, rel.epochId);
  assert.deepEqual(windowChecked(outcome, again.blockNumber), { epochId: String(rel.epochId), batchCount: 1, submissionCount: 1, malformedCount: 0, day: '1' });
  assert.deepEqual(await preparationRun(C, rel.epochId), { runId: first.runId, status: 'COMPLETED' }, 'one preparation (the latest run is the first), rebased onto the new block');
  assert.equal((await marketStatus(client, C)).stats.epochsOrphaned, 0);
});

test("row 10: the owner's loadCurrentDay raises dayCounter without an event: handled like a DayStartedEvent (counts, CurrentDayKey, the old day's final update); lowered, it is a day-mismatch problem", async () => {
  const d = D.toLowerCase();
  await stack.redis.client.sadd(`EligibleNodeByDayKey.${d}.1`, '3', '4');
  await stack.redis.client.mset(`EligibleSlotSubmissionsKey.${d}.1.3`, '11', `EligibleSlotSubmissionsKey.${d}.1.4`, '12');
  assert.equal((await marketStatus(client, D)).days?.day, '1');
  await (await stack.chain.protocolState.getFunction('setDayCounter')(D, 2)).wait();
  await waitFor('the market on day 2', async () => (await marketStatus(client, D)).days?.day === '2', 30_000);
  assert.equal(await stack.redis.client.get(`CurrentDayKey.${d}`), '2');

  const releases = [await stack.chain.releaseEpoch(D), await stack.chain.releaseEpoch(D)];
  await fileSubmission(stack.redis.client, { market: D, epochId: releases[0]!.epochId, projectId: 'p:0x1:NS', slotId: 5, header: releases[0]!.blockHash });
  assert.equal((await epochOutcome(client, D, releases[0]!.epochId)).day, '2');
  assert.equal(await stack.redis.client.get(`SlotSubmissionsKey.${d}.2.5`), '1');
  assert.equal(await stack.redis.client.get(`SlotSubmissionsKey.${d}.1.5`), null);
  // DAY_TRANSITION_BUFFER_EPOCHS=1: the second epoch of day 2 starts day 1's final update, with its eligible-node count.
  const final = await waitFor('day 1 final update', () => client.workflow.getHandle(finalRewardsWorkflowId(D, '1')).result().then((r) => r as { eligibleNodes: number }), 60_000);
  assert.equal(final.eligibleNodes, 2);
  assert.ok(
    stack.relayer.accepted('/submitUpdateRewards').some((r) => r.body === `{"dataMarketAddress":"${D}","slotIDs":[3,4],"submissionsList":[11,12],"day":1,"eligibleNodes":2,"authToken":"${RELAYER_TOKEN}"}`),
  );

  await (await stack.chain.protocolState.getFunction('setDayCounter')(D, 1)).wait();
  const mismatch = await waitFor('the day-mismatch problem', async () => {
    const s = await marketStatus(client, D);
    return s.problems.find((p) => p.kind === 'day-mismatch') ? s : undefined;
  }, 30_000);
  assert.equal(mismatch.health, 'degraded');
  assert.equal(mismatch.days?.day, '2', 'a lowered dayCounter does not move the day back');
  assert.match(mismatch.problems.find((p) => p.kind === 'day-mismatch')!.detail, /^dayCounter is 1 at block \d+, below the market's day 2$/);
  await (await stack.chain.protocolState.getFunction('setDayCounter')(D, 2)).wait();
  await waitFor('the problem to clear', async () => !(await marketStatus(client, D)).problems.some((p) => p.kind === 'day-mismatch'), 30_000);
  assert.equal((await marketStatus(client, D)).days?.day, '2');
});

test('row 8: a node serving a broken hash chain is refused, never walked back; after FOLLOWER_STALL_SECONDS it is a finality violation, until the operator resumes', async () => {
  const broken = (await stack.chain.blockNumber()) + 3;
  const fault = stack.rpc.inject({ method: 'eth_getBlockByNumber', when: (p) => Number(p[0]) === broken, result: (block) => (block === null ? null : { ...(block as object), parentHash: '0x' + '66'.repeat(32) }) });
  try {
    const halted = await waitFor('the finality violation', async () => {
      const s = await describeMarket(client, A);
      return s.state === 'halted' ? s : undefined;
    }, 60_000).catch(diagnose(A));
    assert.equal(halted.health, 'failed');
    const problem = (halted.problems as Array<{ kind: string; detail: string }>).find((p) => p.kind === 'finality-violation');
    assert.match(problem?.detail ?? '', new RegExp(`^broken-chain at block ${broken}: http://127\\.0\\.0\\.1:\\d+: block ${broken}'s parentHash 0x6{64} is not the hash 0x[0-9a-f]{64} of block ${broken - 1} in the same answer, on every RPC node, without progress for \\d+ s$`));
    assert.equal(halted.nextBlock, broken, 'the cursor stopped before the broken block, and never went back');
    assert.ok((halted.rpcAnswersRejected as number) > 0);
    // Halted: the chain moves on, the market does not.
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await describeMarket(client, A)).nextBlock, broken);
  } finally {
    fault.remove();
  }
  for (const row of await seqflowJson(['resume'], stack.env)) assert.equal(row.state, 'following');
  const rel = await stack.chain.releaseEpoch(A);
  assert.equal((await epochOutcome(client, A, rel.epochId)).epochId, String(rel.epochId));
  assert.equal((await marketStatus(client, A)).violation, null);
});

test('row 8: a reorg deeper than MAX_REORG_DEPTH is a finality violation: the market halts where it was until the operator rewinds it', async () => {
  const base = await stack.chain.blockNumber();
  const snapshot = await stack.chain.snapshot();
  await stack.chain.mineRegular(80);
  await followerPast(A, base + 77);
  const oldFork = await Promise.all(Array.from({ length: 80 }, (_, i) => stack.chain.blockHash(base + 1 + i)));
  await reorg(snapshot, 20);
  const halted = await waitFor('the finality violation', async () => {
    const s = await describeMarket(client, A);
    return s.state === 'halted' ? s : undefined;
  }, 60_000).catch(diagnose(A));
  assert.equal(halted.health, 'failed');
  const problem = (halted.problems as Array<{ kind: string; detail: string }>).find((p) => p.kind === 'finality-violation');
  assert.match(problem?.detail ?? '', /^deep-reorg at block \d+: block \d+ is not on the recorded chain, .* a fork deeper than MAX_REORG_DEPTH \(64 blocks\)$/);
  const stuckAt = halted.nextBlock as number;
  assert.ok(stuckAt > base + 77, 'not walked back');

  // An epoch released on the new chain waits for the operator.
  const rel = await stack.chain.releaseEpoch(A);
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(await preparationExists(A, rel.epochId).catch(() => false), false);
  assert.equal((await describeMarket(client, A)).nextBlock, stuckAt);

  // The runbook: the fork is real, so follow the chain as it is from the fork point.
  const [rewound] = await seqflowJson(['rewind', '--to-block', String(base + 1), A], stack.env);
  assert.equal(rewound!.state, 'following');
  assert.equal(rewound!.nextBlock, base + 1);
  assert.equal((await epochOutcome(client, A, rel.epochId)).epochId, String(rel.epochId));
  for (const m of [B, C, D]) await seqflowJson(['rewind', '--to-block', String(base + 1), m], stack.env);
  // The rewind forgot what was recorded of the old chain: no orphaned hash is left stored.
  for (const [i, orphaned] of oldFork.entries()) {
    const stored = await stack.redis.client.get(`BlockHashByNumberKey.${base + 1 + i}`);
    assert.notEqual(stored, orphaned, `BlockHashByNumberKey.${base + 1 + i} still holds the old chain's hash`);
  }
});
