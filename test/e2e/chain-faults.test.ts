/**
 * Wrong RPC answers end to end (issue "trust no RPC answer", rows 1-5, 9 and 11): the worker
 * process follows a Hardhat node through the fault-injecting JSON-RPC proxy, which answers
 * `[]` or a short log list for a release, heads that are low or absurdly high around a
 * window's end, refuses wide eth_getLogs spans; and an operator starts a market with no worker
 * up. Each scenario asserts the exact outcome: every epoch batched once, from exactly its
 * window's blocks, and the refusals visible on the market.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { toBeHex } from 'ethers';
import { topics } from '../../src/chain/abi.js';
import { describeMarket } from '../../src/status.js';
import { marketWorkflowId, pauseUpdate, resumeUpdate, stopUpdate } from '../../src/workflows/definitions.js';
import { seqflow, seqflowJson } from '../../devstack/cli.js';
import { fileSubmission } from '../../devstack/dequeuer.js';
import { epochOutcome, finalizerMessages, marketStatus, windowChecked } from '../support/epochs.js';
import { checkHistories, historyPayloads } from '../support/histories.js';
import { waitFor } from '../../devstack/process.js';
import { RELAYER_TOKEN, startStack, type Stack } from '../../devstack/stack.js';

const WINDOW = 6;
const RESCAN_DELAY_SECONDS = 2;

let stack: Stack;
let client: Client;
let markets: string[];

before(async () => {
  stack = await startStack({ markets: 6, params: { submissionWindow: WINDOW }, batchSize: 3 });
  client = stack.temporal.client;
  markets = stack.chain.markets;
  await stack.startWorker({ RESCAN_DELAY_SECONDS: String(RESCAN_DELAY_SECONDS), FOLLOWER_STALL_SECONDS: '10', WINDOW_CLOSE_WAIT_SECONDS: '10' });
});

after(async () => {
  for (const m of markets ?? []) await client?.workflow.getHandle(marketWorkflowId(m)).executeUpdate(stopUpdate).catch(() => undefined);
  try {
    await checkHistories(client, 'chain-faults', markets ?? []);
  } finally {
    await stack?.stop();
  }
});

async function startMarket(market: string): Promise<void> {
  const [row] = await seqflowJson(['start', market], stack.env);
  assert.equal(row!.result, 'started');
  await waitFor(`${market} following`, async () => (await marketStatus(client, market)).cursor);
}

/** Hashes of the blocks of the epoch's window (timestamps up to the release's plus WINDOW), once the block past it exists; and that block. */
async function windowBlocks(release: { blockNumber: number }): Promise<{ inside: string[]; past: string }> {
  const block = (n: number) => stack.chain.provider.send('eth_getBlockByNumber', [toBeHex(n), false]) as Promise<{ hash: string; timestamp: string } | null>;
  const end = Number((await block(release.blockNumber))!.timestamp) + WINDOW;
  const inside: string[] = [];
  for (let n = release.blockNumber; ; n++) {
    const b = await waitFor(`block ${n}`, () => block(n), 30_000, 100);
    if (Number(b.timestamp) > end) return { inside, past: b.hash.toLowerCase() };
    inside.push(b.hash.toLowerCase());
  }
}

/** Whether an eth_getLogs answer holds the EpochReleased of this market and epoch. */
const holdsRelease = (market: string, epochId: number) => (logs: unknown) =>
  Array.isArray(logs) &&
  logs.some((l: { topics?: string[] }) => l.topics?.[0] === topics.EpochReleased && l.topics[1]?.endsWith(market.slice(2).toLowerCase()) && BigInt(l.topics[2] ?? 0) === BigInt(epochId));

const messagesOf = async (market: string, epochId: number) => (await finalizerMessages(stack.redis.client)).filter((m) => m.startsWith(`{"DataMarketAddress":"${market}","EpochID":${epochId},`));
const batchSizeBodies = (market: string, epochId: number) => stack.relayer.accepted('/submitBatchSize').filter((r) => r.json.dataMarketAddress === market && r.json.epochID === epochId).map((r) => r.body);

test('row 1: eth_getLogs answers [] for the block holding a release (a lagging replica): refused, and the epoch is batched', async () => {
  const A = markets[0]!;
  await startMarket(A);
  let dropped = 0;
  const fault = stack.rpc.inject({ method: 'eth_getLogs', result: (logs) => (holdsRelease(A, 1)(logs) && dropped < 2 ? (dropped++, []) : logs) });
  const rel = await stack.chain.releaseEpoch(A);
  await fileSubmission(stack.redis.client, { market: A, epochId: rel.epochId, projectId: 'p:0x1:NS', slotId: 1, header: rel.blockHash });
  const outcome = await epochOutcome(client, A, rel.epochId);
  fault.remove();
  assert.equal(dropped, 2, 'two empty answers were given');
  assert.deepEqual(windowChecked(outcome, rel.blockNumber), { epochId: '1', batchCount: 1, submissionCount: 1, malformedCount: 0, day: '1' });
  assert.equal((await messagesOf(A, 1)).length, 1);
  const status = await waitFor('the refusals counted', async () => {
    const s = await marketStatus(client, A);
    return (s.stats.rpcAnswersRejected ?? 0) >= 2 ? s : undefined;
  });
  assert.equal(status.stats.epochsStarted, 1);
});

test('row 2: the eth_getLogs answer for a block of two releases lacks its last entry: refused, both epochs batched', async () => {
  const A = markets[0]!;
  let shortened = 0;
  const fault = stack.rpc.inject({ method: 'eth_getLogs', result: (logs) => (holdsRelease(A, 3)(logs) && shortened < 1 ? (shortened++, (logs as unknown[]).slice(0, -1)) : logs) });
  const both = await stack.chain.releaseMany(A, 2);
  assert.deepEqual(both.epochIds, [2, 3]);
  for (const e of both.epochIds) assert.equal((await epochOutcome(client, A, e)).batchCount, 0);
  fault.remove();
  assert.equal(shortened, 1);
  for (const e of both.epochIds) assert.deepEqual(batchSizeBodies(A, e), [`{"epochID":${e},"batchSize":0,"authToken":"${RELAYER_TOKEN}","dataMarketAddress":"${A}"}`]);
});

test('rows 1, 2 and 9 in a catch-up: a range answered [] far from the head is read again; the epoch is batched from its window of blocks by time, not up to the head', async () => {
  const B = markets[1]!;
  await startMarket(B);
  await client.workflow.getHandle(marketWorkflowId(B)).executeUpdate(pauseUpdate);
  // Paused, the market still watches the head: status stays current.
  const pausedAt = await describeMarket(client, B);
  assert.equal(pausedAt.state, 'paused');
  const paused = await waitFor('the head to move in status while paused', async () => {
    const s = await describeMarket(client, B);
    return (s.head as number) >= (pausedAt.head as number) + 3 && (s.follower as { activity: string } | undefined)?.activity === 'watchHead' && s;
  }, 20_000);
  const rel = await stack.chain.releaseEpoch(B);
  // hardhat_mine: one second per block; the window is the release block and those up to 6 s later.
  await stack.chain.mine(300);
  const { inside, past } = await windowBlocks(rel);
  await fileSubmission(stack.redis.client, { market: B, epochId: rel.epochId, projectId: 'a:0x1:NS', slotId: 1, header: rel.blockHash });
  await fileSubmission(stack.redis.client, { market: B, epochId: rel.epochId, projectId: 'b:0x1:NS', slotId: 2, header: inside.at(-1)! });
  await fileSubmission(stack.redis.client, { market: B, epochId: rel.epochId, projectId: 'late:0x1:NS', slotId: 3, header: past });
  await fileSubmission(stack.redis.client, { market: B, epochId: rel.epochId, projectId: 'later:0x1:NS', slotId: 4, header: await stack.chain.blockHash(rel.blockNumber + 250) });
  let emptied = 0;
  // A wide read from B's cursor or below: the worker's markets share their reads, and one from above
  // B's cursor (market A's, say) serves B no answer.
  const wide = (p: unknown[]) => (p[0] as { fromBlock?: string }).fromBlock !== undefined && Number((p[0] as { fromBlock: string }).fromBlock) <= (paused.nextBlock as number);
  const fault = stack.rpc.inject({ method: 'eth_getLogs', when: wide, result: (logs) => (holdsRelease(B, rel.epochId)(logs) && emptied < 1 ? (emptied++, []) : logs) });
  await client.workflow.getHandle(marketWorkflowId(B)).executeUpdate(resumeUpdate);

  const outcome = await epochOutcome(client, B, rel.epochId, 60_000);
  fault.remove();
  const topicB = B.slice(2).toLowerCase();
  const logsCallsOfB = stack.rpc.calls.filter((c) => c.method === 'eth_getLogs' && JSON.stringify(c.params).includes(topicB)).map((c) => c.params[0]);
  assert.equal(emptied, 1, `the wide answer holding the release was emptied once; eth_getLogs of market B: ${JSON.stringify(logsCallsOfB)}`);
  assert.deepEqual(outcome.window, { fromBlock: rel.blockNumber, toBlock: rel.blockNumber + inside.length - 1, closedBy: 'next-block' });
  assert.equal(outcome.submissionCount, 2, 'the two submissions of the window, none filed under later blocks');
  const status = await marketStatus(client, B);
  assert.equal(status.stats.eventsRecovered, 1, 'found by the re-scan');
  assert.equal(status.stats.epochsStarted, 1);
});

test('row 3: eth_blockNumber 20-30 blocks low around the window end: refused; every submission filed under a block of the window is batched', async () => {
  const C = markets[2]!;
  await startMarket(C);
  const rel = await stack.chain.releaseEpoch(C);
  const t0 = Date.now();
  const { inside, past } = await windowBlocks(rel);
  assert.ok(inside.length >= 8, `${inside.length} blocks in the window`);
  for (const [i, header] of inside.slice(0, 8).entries()) await fileSubmission(stack.redis.client, { market: C, epochId: rel.epochId, projectId: `p${i}:0x1:NS`, slotId: i + 1, header });
  await fileSubmission(stack.redis.client, { market: C, epochId: rel.epochId, projectId: 'late:0x1:NS', slotId: 99, header: past });
  // Around the window's end: every head answer is 20 to 30 blocks low, for 4 s.
  await new Promise((r) => setTimeout(r, Math.max(0, t0 + (WINDOW - 1) * 1000 - Date.now())));
  let low = 0;
  const fault = stack.rpc.inject({ method: 'eth_blockNumber', result: (n) => toBeHex(Number(n) - 20 - (low++ % 11)) });
  await new Promise((r) => setTimeout(r, 4000));
  fault.remove();
  const outcome = await epochOutcome(client, C, rel.epochId);
  assert.ok(low > 0, 'low heads were answered');
  assert.equal(outcome.submissionCount, 8);
  assert.equal(outcome.batchCount, 3);
  assert.deepEqual(batchSizeBodies(C, rel.epochId), [`{"epochID":${rel.epochId},"batchSize":3,"authToken":"${RELAYER_TOKEN}","dataMarketAddress":"${C}"}`]);
  const status = await marketStatus(client, C);
  assert.ok((status.stats.rpcAnswersRejected ?? 0) > 0, 'the follower refused them too');
});

test('row 4: eth_blockNumber +1,000,000 at the window end: refused, never in any history; the epoch is batched once the node is sane', async () => {
  const D = markets[3]!;
  await startMarket(D);
  const rel = await stack.chain.releaseEpoch(D);
  await fileSubmission(stack.redis.client, { market: D, epochId: rel.epochId, projectId: 'p:0x1:NS', slotId: 1, header: rel.blockHash });
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, WINDOW * 1000 - 500));
  const bogus = stack.rpc.inject({ method: 'eth_blockNumber', result: (n) => toBeHex(Number(n) + 1_000_000) });
  await new Promise((r) => setTimeout(r, 4000));
  bogus.remove();
  assert.ok(bogus.hits() > 0);
  const outcome = await epochOutcome(client, D, rel.epochId);
  assert.equal(outcome.submissionCount, 1);
  assert.ok(Date.now() - t0 >= (WINDOW + 3) * 1000, 'batched only after the node was sane again');
  const realHead = await stack.chain.blockNumber();
  for (const id of [marketWorkflowId(D), `market/${D}/epoch/${rel.epochId}`]) {
    const numbers = (await historyPayloads(client, id)).flatMap((p) => [...JSON.stringify(p).matchAll(/"(head|headFloor|toBlock|nextBlock|blockNumber)":(\d+)/g)].map((m) => Number(m[2])));
    assert.ok(numbers.length > 0, `${id} has block numbers`);
    assert.ok(numbers.every((n) => n <= realHead), `${id}: a block number above the real head ${realHead} in ${JSON.stringify(numbers.filter((n) => n > realHead))}`);
  }
});

test('row 5: the provider refuses eth_getLogs spans over 100 blocks: the span adapts, the catch-up completes, status shows progress meanwhile', async () => {
  const E = markets[4]!;
  const from = (await stack.chain.blockNumber()) + 1;
  await stack.chain.mine(20_000);
  const rel = await stack.chain.releaseEpoch(E);
  await stack.chain.mine(100);
  const span = (p: unknown[]) => {
    const f = p[0] as { fromBlock?: string; toBlock?: string };
    return f.fromBlock === undefined ? 0 : Number(f.toBlock) - Number(f.fromBlock) + 1;
  };
  const refused = stack.rpc.inject({ method: 'eth_getLogs', when: (p) => span(p) > 100, error: { code: -32005, message: 'query returned more than 10000 results. Try with this block range [0x1, 0x64].' } });
  // Slow answers make the catch-up last long enough to watch.
  const slow = stack.rpc.inject({ method: 'eth_getLogs', when: (p) => span(p) > 0 && span(p) <= 100, delayMs: 40 });
  const since = stack.rpc.calls.length;
  const [row] = await seqflowJson(['start', '--from-block', String(from), E], stack.env);
  assert.equal(row!.startBlock, from);
  const seen: number[] = [];
  await waitFor('the catch-up to pass the release', async () => {
    const s = await describeMarket(client, E);
    if (typeof s.nextBlock === 'number' && s.nextBlock !== seen.at(-1)) seen.push(s.nextBlock);
    return (s.nextBlock as number) > rel.blockNumber;
  }, 120_000, 300);
  refused.remove();
  slow.remove();
  assert.ok(seen.length >= 4, `status showed progress during the catch-up: ${seen.join(', ')}`);
  // Every market follows the same chain: their shared reader reads the 20k blocks (and re-scans
  // them) with the one span the worker learnt, probing the limit again every REGROW_AFTER answers.
  const answered = stack.rpc.calls.slice(since).filter((c) => c.method === 'eth_getLogs' && span(c.params) > 0 && span(c.params) <= 100).length;
  assert.ok(refused.hits() >= 1 && refused.hits() <= 0.1 * answered, `${refused.hits()} spans refused for ${answered} answered`);
  assert.ok(answered >= 20_000 / 100, `the backlog read in spans the provider accepts: ${answered}`);
  assert.equal((await epochOutcome(client, E, rel.epochId)).epochId, String(rel.epochId));
});

test('a follower failing and retrying shows in status: follower-stalled with the last error, health failed; it clears when the node is back', async () => {
  const A = markets[0]!;
  const down = stack.rpc.inject({ method: 'eth_blockNumber', httpStatus: 503 });
  let stalled;
  try {
    // Between two follower calls no activity is pending: wait for a status with the stall and the follower's retry view.
    stalled = await waitFor('the stall in status', async () => {
      const s = await describeMarket(client, A);
      return s.health === 'failed' && s.follower ? s : undefined;
    }, 40_000);
  } finally {
    down.remove();
  }
  const problem = (stalled.problems as Array<{ kind: string; detail: string }>).find((p) => p.kind === 'follower-stalled');
  assert.match(problem?.detail ?? '', /^no progress; last error: RpcTransportError: eth_blockNumber: HTTP 503 from http:\/\/127\.0\.0\.1:\d+: gateway error$/);
  assert.equal((stalled.follower as { activity: string }).activity, 'followChain');
  await waitFor('the stall to clear', async () => !((await describeMarket(client, A)).problems as Array<{ kind: string }>).some((p) => p.kind === 'follower-stalled'), 30_000);

  // Paused, a market has no follower: what a follower reported no longer shows.
  stack.rpc.inject({ method: 'eth_blockNumber', times: 1, result: (n) => toBeHex(Number(n) - 5) });
  await waitFor('a refused answer shown', async () => ((await describeMarket(client, A)).problems as Array<{ kind: string }>).some((p) => p.kind === 'rpc-answers-rejected'), 30_000);
  const [paused] = await seqflowJson(['pause', A], stack.env);
  assert.equal(paused!.state, 'paused');
  await waitFor('the problems cleared while paused', async () => (await describeMarket(client, A)).health === 'ok', 10_000);
  assert.equal((await seqflowJson(['resume', A], stack.env))[0]!.state, 'following');
});

test('row 11: start fixes the start block when the operator runs it, warns when no worker polls; an epoch released a second later is batched once a worker comes', async () => {
  const F = markets[5]!;
  const queue = `${stack.taskQueue}-later`;
  const env = { ...stack.env, TEMPORAL_TASK_QUEUE: queue };
  const headBefore = await stack.chain.blockNumber();
  const started = await seqflow(['start', F, '--json'], env);
  assert.equal(started.code, 0, started.stderr);
  assert.match(started.stderr, new RegExp(`warning: no worker polls task queue "${queue}" \\(TEMPORAL_TASK_QUEUE\\)`));
  const [row] = JSON.parse(started.stdout) as Array<{ startBlock: number; head: number }>;
  assert.ok(row!.head >= headBefore && row!.startBlock === row!.head - 2, JSON.stringify(row));
  // No worker has run it yet: status says so at once, for this market, instead of failing.
  const t0 = Date.now();
  const [waiting] = await seqflowJson(['status', F], env);
  assert.equal(waiting!.state, 'waiting for a worker');
  assert.ok(Date.now() - t0 < 8000, 'without waiting for a query to time out');
  await new Promise((r) => setTimeout(r, 1000));
  const rel = await stack.chain.releaseEpoch(F);
  await fileSubmission(stack.redis.client, { market: F, epochId: rel.epochId, projectId: 'p:0x1:NS', slotId: 1, header: rel.blockHash });
  await new Promise((r) => setTimeout(r, 3000));
  await stack.startWorker({ TEMPORAL_TASK_QUEUE: queue });
  const outcome = await epochOutcome(client, F, rel.epochId);
  assert.equal(outcome.submissionCount, 1);
  assert.equal((await messagesOf(F, rel.epochId)).length, 1);
});
