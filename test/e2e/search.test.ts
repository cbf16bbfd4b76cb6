/**
 * The Temporal Web UI made searchable, on real services: every seqflow run carries the search
 * attributes MarketAddress, EpochId, Day and SeqflowStatus, kept current, and a static summary
 * and details; visibility queries by them find exactly the runs they name. A worker refuses a
 * namespace without them. Two markets, two epochs a day, a periodic reward update every second
 * epoch, and the relayer refusing some batch sizes with 422 (those epochs fail for real).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { isDeepStrictEqual, promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { marketWorkflowId, stopUpdate } from '../../src/workflows/definitions.js';
import { seqflowJson } from '../../devstack/cli.js';
import { fileSubmission } from '../../devstack/dequeuer.js';
import { epochOutcome, marketStatus, preparationResult, windowChecked } from '../support/epochs.js';
import { checkHistories } from '../support/histories.js';
import { waitFor } from '../../devstack/process.js';
import { startStack, type Stack } from '../../devstack/stack.js';
import { PROJECT_ROOT, TEMPORAL_CLI } from '../../devstack/temporal.js';

/** DAY_SIZE is seconds × 10⁴: a 4 s day of two epochs, so a day's final update is due 4 s after the next day starts. */
const DAY_SIZE = 4 * 10_000;

let stack: Stack;
let client: Client;
let A: string;
let B: string;
/** The block each market was started at by `seqflow start`. */
const startBlocks = new Map<string, number>();
/** Release blocks of the epochs of A, by epoch id. */
const releases = new Map<number, { blockNumber: number; blockHash: string }>();

before(async () => {
  stack = await startStack({ markets: 2, params: { submissionWindow: 2, epochsInADay: 2, daySize: DAY_SIZE }, batchSize: 2 });
  client = stack.temporal.client;
  [A, B] = stack.chain.markets as [string, string];
  await stack.redis.client.set('TotalNodesCount', '2');
  await stack.startWorker({ REWARDS_UPDATE_EPOCH_INTERVAL: '2', DAY_TRANSITION_BUFFER_EPOCHS: '1' });
  // Started by the CLI, as an operator does: the market runs get their attributes and summary at start.
  for (const row of await seqflowJson(['start', A, B], stack.env)) startBlocks.set(row.market as string, row.startBlock as number);
  for (const m of [A, B]) await waitFor(`${m} following`, async () => (await marketStatus(client, m)).cursor);

  // Epoch 1 of both markets: the relayer refuses both batch sizes, both epochs fail.
  stack.relayer.failNext('/submitBatchSize', [422, 422]);
  // One after the other: the releases are transactions of one signer (concurrent ones race for its nonce).
  const a1 = await release(A);
  const b1 = await release(B);
  await Promise.all([failed(A, a1.epochId), failed(B, b1.epochId)]);
  // Epoch 2 of A: batched, and its periodic reward update (the interval is 2).
  const a2 = await release(A);
  assert.deepEqual(windowChecked(await epochOutcome(client, A, a2.epochId), a2.blockNumber), { epochId: '2', batchCount: 1, submissionCount: 1, malformedCount: 0, day: '1' });
  // Epoch 3 of A starts day 2 and fails; day 1's final update goes out 4 s later.
  stack.relayer.failNext('/submitBatchSize', [422]);
  await failed(A, (await release(A)).epochId);
  for (const id of [`market/${A}/epoch/2`, `market/${A}/epoch/2/rewards`, `market/${A}/day/1/final-rewards`]) {
    await waitFor(id, () => client.workflow.getHandle(id).describe().then(() => true), 30_000);
    await client.workflow.getHandle(id).result();
  }
});

after(async () => {
  for (const m of [A, B]) await client?.workflow.getHandle(marketWorkflowId(m)).executeUpdate(stopUpdate).catch(() => undefined);
  try {
    await checkHistories(client, 'search', [A, B]);
  } finally {
    await stack?.stop();
  }
});

/** Releases the market's next epoch with one submission filed under its block. */
async function release(market: string): Promise<{ epochId: number; blockNumber: number; blockHash: string }> {
  const rel = await stack.chain.releaseEpoch(market);
  await fileSubmission(stack.redis.client, { market, epochId: rel.epochId, projectId: 'p:0x1:NS', slotId: 1, header: rel.blockHash });
  if (market === A) releases.set(rel.epochId, rel);
  return rel;
}

/** Runs a command to its end: its exit code and stderr. */
async function run(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  return promisify(execFile)(command, args, { env, cwd: PROJECT_ROOT, timeout: 40_000 }).then(
    ({ stderr }) => ({ code: 0, stderr }),
    (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
  );
}

async function failed(market: string, epochId: number): Promise<void> {
  await assert.rejects(preparationResult(client, market, epochId), /Workflow execution failed/);
}

const OURS = ['MarketAddress', 'EpochId', 'Day', 'SeqflowStatus'];
type Run = { workflowId: string } & Record<string, string>;

/** The runs a visibility query lists, each with seqflow's attributes, sorted by workflow ID. */
async function listRuns(query: string): Promise<Run[]> {
  const runs: Run[] = [];
  for await (const wf of client.workflow.list({ query })) {
    const ours = wf.typedSearchAttributes.getAll().filter((p) => OURS.includes(p.key.name));
    runs.push({ workflowId: wf.workflowId, ...Object.fromEntries(ours.map((p) => [p.key.name, String(p.value)])) });
  }
  return runs.sort((x, y) => x.workflowId.localeCompare(y.workflowId));
}

/**
 * Asserts that `query` lists exactly `expected`. Visibility is eventually consistent: it waits
 * (up to 30 s) until every expected run is listed with its attributes, then nothing else may be.
 */
async function findsExactly(query: string, expected: Run[]): Promise<void> {
  const want = [...expected].sort((x, y) => x.workflowId.localeCompare(y.workflowId));
  const deadline = Date.now() + 30_000;
  let runs = await listRuns(query);
  while (!want.every((w) => runs.some((r) => isDeepStrictEqual(r, w))) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    runs = await listRuns(query);
  }
  assert.deepEqual(runs, want, query);
}

test('every failed epoch of one market, and nothing else: MarketAddress and SeqflowStatus "failed"', async () => {
  await findsExactly(`MarketAddress = "${A}" AND SeqflowStatus = "failed"`, [
    { workflowId: `market/${A}/epoch/1`, MarketAddress: A, EpochId: '1', Day: '1', SeqflowStatus: 'failed' },
    { workflowId: `market/${A}/epoch/3`, MarketAddress: A, EpochId: '3', Day: '2', SeqflowStatus: 'failed' },
  ]);
  await findsExactly(`MarketAddress = '${B}' AND SeqflowStatus = 'failed'`, [{ workflowId: `market/${B}/epoch/1`, MarketAddress: B, EpochId: '1', Day: '1', SeqflowStatus: 'failed' }]);
  // Since 0.6.0 an epoch sends within its own run: no submission run exists to fail apart.
  await findsExactly(`MarketAddress IN ('${A}', '${B}') AND SeqflowStatus = 'send-failed'`, []);
  await findsExactly(`MarketAddress IN ('${A}', '${B}') AND WorkflowType = 'batchSubmissionWorkflow'`, []);
});

test('a batched epoch: EpochId finds its run and its reward update, each with its status and day', async () => {
  await findsExactly(`MarketAddress = '${A}' AND EpochId = '2'`, [
    { workflowId: `market/${A}/epoch/2`, MarketAddress: A, EpochId: '2', Day: '1', SeqflowStatus: 'batched' },
    { workflowId: `market/${A}/epoch/2/rewards`, MarketAddress: A, EpochId: '2', Day: '1', SeqflowStatus: 'sent' },
  ]);
  await findsExactly(`MarketAddress = '${A}' AND SeqflowStatus = 'batched'`, [{ workflowId: `market/${A}/epoch/2`, MarketAddress: A, EpochId: '2', Day: '1', SeqflowStatus: 'batched' }]);
});

test('Day finds every run of a day, the final reward update among them', async () => {
  await findsExactly(`MarketAddress = '${A}' AND Day = '1'`, [
    { workflowId: `market/${A}/day/1/final-rewards`, MarketAddress: A, Day: '1', SeqflowStatus: 'sent' },
    { workflowId: `market/${A}/epoch/1`, MarketAddress: A, EpochId: '1', Day: '1', SeqflowStatus: 'failed' },
    { workflowId: `market/${A}/epoch/2`, MarketAddress: A, EpochId: '2', Day: '1', SeqflowStatus: 'batched' },
    { workflowId: `market/${A}/epoch/2/rewards`, MarketAddress: A, EpochId: '2', Day: '1', SeqflowStatus: 'sent' },
  ]);
});

test("a market's SeqflowStatus and Day follow it: following, paused, stopped", async () => {
  const markets = `WorkflowType = 'marketWorkflow' AND MarketAddress IN ('${A}', '${B}')`;
  await findsExactly(markets, [
    { workflowId: `market/${A}`, MarketAddress: A, Day: '2', SeqflowStatus: 'following' },
    { workflowId: `market/${B}`, MarketAddress: B, Day: '1', SeqflowStatus: 'following' },
  ]);
  await seqflowJson(['pause', B], stack.env);
  await findsExactly(`${markets} AND SeqflowStatus = 'paused'`, [{ workflowId: `market/${B}`, MarketAddress: B, Day: '1', SeqflowStatus: 'paused' }]);
  await seqflowJson(['stop', B], stack.env);
  await findsExactly(`${markets} AND SeqflowStatus = 'stopped'`, [{ workflowId: `market/${B}`, MarketAddress: B, Day: '1', SeqflowStatus: 'stopped' }]);
  await findsExactly(`${markets} AND SeqflowStatus = 'following'`, [{ workflowId: `market/${A}`, MarketAddress: A, Day: '2', SeqflowStatus: 'following' }]);
});

test('each run reads in the UI: static summaries and details', async () => {
  const short = `${A.slice(0, 6)}…${A.slice(-4)}`;
  const shown = async (workflowId: string) => {
    const d = await client.workflow.getHandle(workflowId).describe();
    return { summary: await d.staticSummary(), details: await d.staticDetails() };
  };
  assert.deepEqual(await shown(`market/${A}`), {
    summary: `market ${short}, following from block ${startBlocks.get(A)}`,
    details:
      `**Data market** ${A}\n\n` +
      `Follows the chain, starts each epoch's batch preparation \`market/${A}/epoch/<id>\` and the reward updates; its \`status\` query holds the cursor, head, day, open epochs and counters.\n\n` +
      `Find its epochs: \`MarketAddress = "${A}" AND WorkflowType IN ("epochWorkflow", "batchPreparationWorkflow")\` (the second: epochs started before 0.6.0).`,
  });
  const a2 = releases.get(2)!;
  assert.deepEqual(await shown(`market/${A}/epoch/2`), {
    summary: `epoch 2 of ${short}, released in block ${a2.blockNumber}`,
    details:
      `**Data market** ${A}\n\n` +
      `**Epoch** 2, day 1, released in block ${a2.blockNumber} (${a2.blockHash})\n\n` +
      "**Submission window** 2 s of chain time from the release block's timestamp; then the epoch's submissions are counted and batched, the batch count is sent to the relayer (`/submitBatchSize`) and each batch pushed to `finalizerQueue` once.\n\n" +
      "The result holds the batch count, the submissions batched and skipped as malformed, the day, and the window's blocks.",
  });
  assert.deepEqual(await shown(`market/${A}/epoch/2/rewards`), {
    summary: `reward update at epoch 2 (day 1) of ${short}`,
    details: `**Data market** ${A}\n\n**Epoch** 2, day 1: today's submission counts of every slot (eligibleNodes 0), then the past days whose eligible-node count the chain still has at 0.`,
  });
  assert.deepEqual(await shown(`market/${A}/day/1/final-rewards`), {
    summary: `final reward update of day 1 of ${short}`,
    details: `**Data market** ${A}\n\n**Day** 1: the eligible slots' submission counts and the number of eligible nodes, in chunks to \`/submitUpdateRewards\`.`,
  });
});

test('a worker on a namespace without the search attributes (or one of another type) exits 2, naming what to register; registered so, it starts', async () => {
  const namespace = `seqflow-search-${randomUUID()}`;
  const temporal = async (...args: string[]) => {
    const done = await run(TEMPORAL_CLI, [...args, '--address', stack.temporal.address]);
    assert.equal(done.code, 0, `temporal ${args.join(' ')}: ${done.stderr}`);
  };
  await temporal('operator', 'namespace', 'create', '--namespace', namespace);
  await temporal('operator', 'search-attribute', 'create', '--namespace', namespace, '--name', 'MarketAddress', '--type', 'Text', '--name', 'EpochId', '--type', 'Keyword', '--name', 'Day', '--type', 'Keyword');
  const env = { TEMPORAL_NAMESPACE: namespace, TEMPORAL_TASK_QUEUE: `seqflow-search-${randomUUID()}` };
  const refused = await run(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src/worker.ts')], { ...stack.env, ...env });
  const create = `temporal operator search-attribute create --namespace ${namespace} --name MarketAddress --type Keyword --name SeqflowStatus --type Keyword`;
  assert.deepEqual(refused, {
    code: 2,
    stderr:
      'seqflow worker: invalid configuration:\n' +
      `  - TEMPORAL_NAMESPACE: namespace "${namespace}" at ${stack.temporal.address} lacks the search attributes seqflow's workflows set: MarketAddress (Keyword), SeqflowStatus (Keyword); ` +
      `MarketAddress is registered with another type (remove it first: temporal operator search-attribute remove --namespace ${namespace} --name MarketAddress). ` +
      `Register them: ${create}\n`,
  });
  // Done as it says (`--yes` answers the removal's prompt), the worker starts.
  await temporal('operator', 'search-attribute', 'remove', '--namespace', namespace, '--name', 'MarketAddress', '--yes');
  await temporal(...create.split(' ').slice(1));
  await stack.startWorker(env);
});
