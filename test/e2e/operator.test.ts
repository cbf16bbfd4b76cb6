/**
 * The operator's view of a running worker (issue 8 items 1 and 2), on real services: /ready
 * answers 503 while a market catches up and 200 once it is within READY_MAX_LAG_BLOCKS of the
 * head; /metrics carries seqflow's series with the values of what happened (an epoch batched,
 * the relayer called, RPC requests) and the Temporal SDK's own; /health stays 200 through a
 * Redis outage, which makes the market not ready.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { marketWorkflowId, stopUpdate } from '../../src/workflows/definitions.js';
import { seqflowJson } from '../../devstack/cli.js';
import { fileSubmission } from '../../devstack/dequeuer.js';
import { epochOutcome } from '../support/epochs.js';
import { waitFor } from '../../devstack/process.js';
import { scrape, sumOf, valueOf } from '../support/prometheus.js';
import { startStack, type Stack, type WorkerProcess } from '../../devstack/stack.js';

const READY_MAX_LAG = 10;
let stack: Stack;
let worker: WorkerProcess;
let A: string;

before(async () => {
  stack = await startStack({ markets: 1, params: { submissionWindow: 3 }, batchSize: 2 });
  [A] = stack.chain.markets as [string];
  worker = await stack.startWorker({ READY_MAX_LAG_BLOCKS: String(READY_MAX_LAG), LOG_RANGE_BLOCKS: '20' });
});

after(async () => {
  await stack?.temporal.client.workflow.getHandle(marketWorkflowId(A)).executeUpdate(stopUpdate).catch(() => undefined);
  await stack?.stop();
});

const get = async (path: string) => {
  const res = await fetch(`${worker.metricsUrl}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

test('/health is 200 while the worker runs; /ready is 503 naming the market until it is started and caught up, then 200', async () => {
  assert.deepEqual(await get('/health'), { status: 200, body: { status: 'ok', worker: 'RUNNING', redis: 'up' } });
  const notStarted = await get('/ready');
  assert.equal(notStarted.status, 503);
  assert.deepEqual(notStarted.body, { ready: false, reasons: [`${A}: market workflow NOT STARTED`], markets: [A] });

  // A backlog of 400 blocks read 20 at a time, each eth_getLogs answered 300 ms late: a catch-up of seconds.
  const from = await stack.chain.blockNumber();
  await stack.chain.mineRegular(400);
  const slow = stack.rpc.inject({ method: 'eth_getLogs', delayMs: 300 });
  try {
    await seqflowJson(['start', '--from-block', String(from), A], stack.env);
    const behind = await waitFor('/ready naming the lag', async () => {
      const r = await get('/ready');
      return r.status === 503 && (r.body.reasons as string[]).some((x) => x.includes('blocks behind the head')) && r;
    }, 30_000);
    assert.match((behind.body.reasons as string[])[0]!, new RegExp(`^${A}: \\d+ blocks behind the head \\(READY_MAX_LAG_BLOCKS ${READY_MAX_LAG}\\)$`));
    const lagging = await scrape(worker.metricsUrl);
    assert.ok(valueOf(lagging, 'seqflow_follower_lag_blocks', { market: A })! > READY_MAX_LAG, 'the lag in blocks while catching up');
    assert.ok(valueOf(lagging, 'seqflow_follower_lag_seconds', { market: A })! > 0, 'and in chain seconds');
  } finally {
    slow.remove();
  }
  const ready = await waitFor('/ready 200', async () => {
    const r = await get('/ready');
    return r.status === 200 && r;
  }, 60_000);
  assert.deepEqual(ready.body, { ready: true, reasons: [], markets: [A] });
});

test('/metrics: an epoch batched shows in the market series, the relayer and RPC series and the epoch histograms, with the SDK series beside them', async () => {
  const rel = await stack.chain.releaseEpoch(A);
  for (let p = 0; p < 3; p++) await fileSubmission(stack.redis.client, { market: A, epochId: rel.epochId, projectId: `p${p}:0x${p}:NS`, slotId: p + 1, header: rel.blockHash });
  await stack.redis.client.sadd(`SnapshotCollector.${A.toLowerCase()}.${rel.epochId}.${rel.blockHash}`, `${A.toLowerCase()}.${rel.epochId}.bad`);
  assert.equal((await epochOutcome(stack.temporal.client, A, rel.epochId)).submissionCount, 3);
  await stack.temporal.client.workflow.getHandle(`market/${A}/epoch/${rel.epochId}`).result();

  const m = await waitFor('the market counters in /metrics', async () => {
    const s = await scrape(worker.metricsUrl);
    return valueOf(s, 'seqflow_epochs_batched_total', { market: A }) === 1 && s;
  }, 10_000);
  assert.equal(valueOf(m, 'seqflow_epochs_started_total', { market: A }), 1);
  assert.equal(valueOf(m, 'seqflow_epochs_failed_total', { market: A }), 0);
  assert.equal(valueOf(m, 'seqflow_epochs_orphaned_total', { market: A }), 0);
  assert.equal(valueOf(m, 'seqflow_market_up', { market: A }), 1);
  assert.equal(valueOf(m, 'seqflow_market_health', { market: A, health: 'ok' }), 1);
  assert.equal(valueOf(m, 'seqflow_market_health', { market: A, health: 'failed' }), 0);
  const head = await stack.chain.blockNumber();
  assert.ok(Math.abs(valueOf(m, 'seqflow_chain_head_block', { market: A })! - head) <= 5, 'the head as the chain has it');
  assert.ok(valueOf(m, 'seqflow_follower_lag_blocks', { market: A })! <= READY_MAX_LAG);
  // The epoch: 2 batches of 3 submissions, one malformed key, one batch size call, one latency.
  assert.equal(valueOf(m, 'seqflow_epoch_submissions_count', { market: A }), 1);
  assert.equal(valueOf(m, 'seqflow_epoch_submissions_sum', { market: A }), 3);
  assert.equal(valueOf(m, 'seqflow_malformed_submission_keys_total', { market: A }), 1);
  assert.equal(valueOf(m, 'seqflow_batch_preparation_duration_seconds_count', { market: A }), 1);
  assert.equal(valueOf(m, 'seqflow_epoch_latency_seconds_count', { market: A }), 1);
  const latency = valueOf(m, 'seqflow_epoch_latency_seconds_sum', { market: A })!;
  assert.ok(latency >= 3 && latency < 60, `release to last finalizer push: ${latency} s (window 3 s)`);
  assert.equal(valueOf(m, 'seqflow_relayer_requests_total', { endpoint: '/submitBatchSize', status: '200' }), 1);
  assert.equal(valueOf(m, 'seqflow_relayer_request_duration_seconds_count', { endpoint: '/submitBatchSize' }), 1);
  // The catch-up read the 336 blocks deeper than MAX_REORG_DEPTH (64) in ranges of 20 (and the rest block by block).
  const getLogs = sumOf(m, 'seqflow_rpc_requests_total', { method: 'eth_getLogs', outcome: 'ok' });
  assert.ok(getLogs >= Math.ceil((400 - 64) / 20), `${getLogs} eth_getLogs requests`);
  assert.ok(sumOf(m, 'seqflow_rpc_requests_total', { method: 'eth_blockNumber' }) > 0);
  assert.equal(valueOf(m, 'seqflow_getlogs_range_blocks'), 20, 'the span, capped by LOG_RANGE_BLOCKS');
  assert.equal(valueOf(m, 'seqflow_redis_up'), 1);
  // The Temporal SDK's own series, through the runtime's Prometheus exporter.
  assert.ok(sumOf(m, 'temporal_workflow_completed_total') >= 1, 'the epoch workflow completed');
  assert.ok(sumOf(m, 'temporal_activity_execution_latency_seconds_count') > 0);
});

test('a Redis outage: /health stays 200 (no restart helps), seqflow_redis_up is 0 and /ready is 503 naming the problem; back, 200', async () => {
  await stack.redis.down({ keepData: true });
  try {
    const down = await waitFor('/ready 503 on the outage', async () => {
      const r = await get('/ready');
      return r.status === 503 && r;
    }, 30_000);
    assert.deepEqual(down.body.reasons, [`${A}: health failed: redis-unavailable`]);
    const health = await get('/health');
    assert.deepEqual(health, { status: 200, body: { status: 'ok', worker: 'RUNNING', redis: 'down' } });
    const m = await scrape(worker.metricsUrl);
    assert.equal(valueOf(m, 'seqflow_redis_up'), 0);
    assert.ok(valueOf(m, 'seqflow_redis_errors_total')! >= 1);
    assert.equal(valueOf(m, 'seqflow_market_problems', { market: A, kind: 'redis-unavailable' }), 1);
    assert.equal(valueOf(m, 'seqflow_market_health', { market: A, health: 'failed' }), 1);
  } finally {
    await stack.redis.up();
  }
  await waitFor('/ready 200 again', async () => (await get('/ready')).status === 200, 30_000);
  const status = await get('/status');
  assert.equal(status.status, 200);
  const [row] = status.body as unknown as Array<Record<string, unknown>>;
  assert.deepEqual([row?.market, row?.state, row?.health, row?.epochsBatched], [A, 'following', 'ok', 1], 'what seqflow status --json prints');
});
