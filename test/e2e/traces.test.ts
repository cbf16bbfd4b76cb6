/**
 * Traces on real services: the worker and the CLI export by OTLP/HTTP (JSON) to a receiver in this
 * process (test/support/otlp.ts), as they would to a collector. Each epoch is one trace, one tree
 * from its release (the follower's span, linked to the market loop turn that found it) to its last
 * finalizer push, with every activity attempt, RPC request and relayer call of the epoch in it; the
 * worker's log lines of the epoch's runs and activities carry its trace id. A CLI command is a trace
 * of its own. Without an endpoint nothing is traced and the worker runs as before.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { fileSubmission } from '../../devstack/dequeuer.js';
import { finalizerMessages, marketStatus } from '../support/epochs.js';
import { seqflowJson } from '../../devstack/cli.js';
import { checkHistories, payloadsOf } from '../support/histories.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp.js';
import { waitFor } from '../../devstack/process.js';
import { startStack, type Stack, type WorkerProcess } from '../../devstack/stack.js';
import { TRACE_HEADER, epochRootSpan, epochTraceId, parseTraceparent } from '../../src/tracing/workflow/ids.js';

/** In OTEL_EXPORTER_OTLP_HEADERS: the receiver must get it, no log line may hold it. */
const OTLP_SECRET = 'otlp-secret-7d1f';
const WORKER_SERVICE = 'seqflow-worker-test';
const CLI_SERVICE = 'seqflow-cli-test';

let stack: Stack;
let receiver: OtlpReceiver;
let worker: WorkerProcess;
let A: string;
let traceEnv: NodeJS.ProcessEnv;

before(async () => {
  receiver = await startOtlpReceiver();
  stack = await startStack({ markets: 1, params: { submissionWindow: 4 }, batchSize: 1 });
  [A] = stack.chain.markets as [string];
  traceEnv = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${OTLP_SECRET}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '200',
  };
  // Debug: the SDK's own lines about each activity and run, which must carry trace ids too.
  worker = await stack.startWorker({ ...traceEnv, OTEL_SERVICE_NAME: WORKER_SERVICE, LOG_LEVEL: 'debug' });
});

after(async () => {
  try {
    // The runs recorded with tracing on replay without it (and test/replay/traces.test.ts replays them with it).
    await checkHistories(stack?.temporal.client, 'traces', A ? [A] : []);
  } finally {
    await stack?.stop();
    await receiver?.stop();
  }
});

const logLines = (w: WorkerProcess) =>
  w
    .log()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** Every parent is in the trace: the spans form trees; their roots. */
function treeRoots(spans: ReceivedSpan[]): ReceivedSpan[] {
  const ids = new Set(spans.map((s) => s.spanId));
  assert.equal(ids.size, spans.length, 'no span id twice');
  assert.deepEqual(spans.filter((s) => s.parentSpanId !== undefined && !ids.has(s.parentSpanId)).map((s) => s.name), [], 'spans whose parent is not in the trace');
  return spans.filter((s) => s.parentSpanId === undefined);
}

/** An epoch release with a submission of `projects` projects (one batch each: BATCH_SIZE=1). */
async function release(projects: number): Promise<{ epochId: number; blockNumber: number; blockHash: string }> {
  const rel = await stack.chain.releaseEpoch(A);
  for (let slot = 1; slot <= projects; slot++) {
    await fileSubmission(stack.redis.client, { market: A, epochId: rel.epochId, projectId: `project${slot}:0x${slot}:NS`, slotId: slot, header: rel.blockHash });
  }
  return rel;
}

/** The epoch's runs (its own and, from before 0.6.0, its submission child), once closed, with their histories. */
async function closedRuns(client: Client, epochId: number): Promise<Array<{ workflowId: string; runId: string; events: Array<Record<string, unknown>> }>> {
  const runs = [];
  for (const workflowId of [`market/${A}/epoch/${epochId}`, `market/${A}/epoch/${epochId}/submit`]) {
    const handle = client.workflow.getHandle(workflowId);
    try {
      await handle.describe();
    } catch (err) {
      // Called once the epoch's batches are pushed: a submission child that does not exist now never will.
      if (err instanceof WorkflowNotFoundError && workflowId.endsWith('/submit')) continue;
      throw err;
    }
    await waitFor(`${workflowId} to close`, async () => (await handle.describe()).status.name !== 'RUNNING', 90_000);
    const { runId } = await handle.describe();
    const history = JSON.parse(historyToJSON(await handle.fetchHistory())) as { events: Array<Record<string, unknown>> };
    runs.push({ workflowId, runId, events: history.events });
  }
  return runs;
}

test('a CLI command is one trace: its calls to Temporal and the chain in it, the collector given its headers, gzipped', async () => {
  await seqflowJson(['start'], { ...stack.env, ...traceEnv, OTEL_SERVICE_NAME: CLI_SERVICE, OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'gzip' });
  await waitFor(`${A} following`, async () => (await marketStatus(stack.temporal.client, A)).cursor);
  // The CLI flushes its spans before it exits.
  const spans = receiver.spans().filter((s) => s.resource['service.name'] === CLI_SERVICE);
  assert.equal(new Set(spans.map((s) => s.traceId)).size, 1, 'one trace');
  const [root] = treeRoots(spans);
  assert.deepEqual([root!.name, root!.attributes['seqflow.command']], ['seqflow start', 'start']);
  const start = spans.find((s) => s.name === 'StartWorkflow:marketWorkflow');
  assert.equal(start?.attributes.temporalWorkflowId, `market/${A}`);
  assert.equal(start?.parentSpanId, root!.spanId);
  assert.ok(spans.some((s) => s.name === 'eth_blockNumber' && s.parentSpanId === root!.spanId), 'the chain head read for the start block');
  // A market lives for days: it is no part of the command's trace.
  assert.ok(!receiver.spans().some((s) => s.traceId === root!.traceId && s.resource['service.name'] !== CLI_SERVICE));
  const headers = receiver.requestHeaders();
  assert.ok(headers.length > 0 && headers.every((h) => h.authorization === `Bearer ${OTLP_SECRET}`));
  assert.ok(headers.some((h) => h['content-encoding'] === 'gzip'), 'the CLI\'s export, gzipped');
});

test('each epoch is one trace, one tree from its release to its last finalizer push, with the log lines of its work', async () => {
  const client = stack.temporal.client;
  const first = await release(2);
  await waitFor('the first epoch pushed', async () => (await finalizerMessages(stack.redis.client)).length === 2, 90_000);
  // The second epoch's relayer call fails once: both attempts are in its trace.
  stack.relayer.failNext('/submitBatchSize', [500]);
  const second = await release(3);
  await waitFor('the second epoch pushed', async () => (await finalizerMessages(stack.redis.client)).length === 5, 120_000);

  for (const [rel, batches] of [[first, 2], [second, 3]] as const) {
    const epochId = String(rel.epochId);
    const traceId = epochTraceId('default', A, epochId);
    const runs = await closedRuns(client, rel.epochId);
    // The root is reported when the epoch's run ends.
    await waitFor(`the root of epoch ${epochId}`, async () => receiver.spans().some((s) => s.traceId === traceId && s.name === 'epoch'), 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the rest of the batch, if any
    const spans = receiver.spans().filter((s) => s.traceId === traceId);
    const what = `epoch ${epochId}`;

    // One trace: every span naming the epoch is in it, none of another epoch or process is.
    const naming = receiver.spans().filter((s) => s.attributes['seqflow.epoch_id'] === epochId && s.attributes['seqflow.market'] === A);
    assert.deepEqual([...new Set(naming.map((s) => s.traceId))], [traceId], what);
    assert.ok(spans.every((s) => s.resource['service.name'] === WORKER_SERVICE && [undefined, epochId].includes(s.attributes['seqflow.epoch_id'] as string | undefined)), what);

    // One tree, rooted at the epoch: the span the follower named from the release block.
    const roots = treeRoots(spans);
    assert.deepEqual(roots.map((s) => s.name), ['epoch'], what);
    const root = roots[0]!;
    assert.equal(root.spanId, epochRootSpan('default', A, epochId, rel.blockHash).spanId, what);
    assert.equal(root.attributes.temporalWorkflowId, `market/${A}/epoch/${epochId}`);
    assert.equal(root.attributes['seqflow.batch_count'], batches);
    assert.equal(root.attributes['seqflow.release.block_number'], rel.blockNumber);

    // The release, from the follower, linked to the market loop turn that found it (a trace of its own).
    const releases = spans.filter((s) => s.name === 'EpochReleased');
    assert.equal(releases.length, 1, what);
    assert.equal(releases[0]!.parentSpanId, root.spanId);
    assert.equal(releases[0]!.attributes['seqflow.release.block_hash'], rel.blockHash);
    const turn = receiver.spans().find((s) => s.spanId === releases[0]!.links[0]?.spanId && s.traceId === releases[0]!.links[0]?.traceId);
    assert.equal(turn?.name, 'RunActivity:followChain', what);
    assert.equal(turn.attributes['seqflow.market'], A);
    assert.equal(turn.parentSpanId, undefined, 'a market loop turn roots its own trace');

    // Every activity the epoch's runs scheduled ran in spans of this trace, under its run's span,
    // which the run put in the activity's header.
    const runSpans = new Map<string, string>();
    for (const run of runs) {
      const span = spans.find((s) => s.attributes.run_id === run.runId && s.attributes.temporalActivityId === undefined);
      assert.ok(span, `the span of run ${run.workflowId}`);
      runSpans.set(run.workflowId, span.spanId);
      for (const event of run.events) {
        const scheduled = event.activityTaskScheduledEventAttributes as { activityType: { name: string }; activityId: string; header: { fields: Record<string, unknown> } } | undefined;
        if (!scheduled) continue;
        assert.deepEqual(parseTraceparent((payloadsOf(scheduled.header.fields[TRACE_HEADER])[0] as { traceparent?: string }).traceparent), { traceId, spanId: span.spanId });
        const attempts = spans.filter((s) => s.name === `RunActivity:${scheduled.activityType.name}` && s.attributes.temporalWorkflowId === run.workflowId && s.attributes.temporalActivityId === scheduled.activityId);
        assert.ok(attempts.length > 0 && attempts.every((s) => s.parentSpanId === span.spanId), `${what}: ${scheduled.activityType.name}`);
      }
    }
    assert.ok(spans.some((s) => s.name === 'Timer' && s.parentSpanId === root.spanId), `${what}: the submission window's timer`);

    // The RPC requests that closed the window, and the relayer call.
    const prepare = spans.filter((s) => s.name === 'RunActivity:prepareEpoch').map((s) => s.spanId);
    assert.ok(spans.some((s) => s.attributes['rpc.system'] === 'jsonrpc' && prepare.includes(s.parentSpanId!)), `${what}: RPC spans`);
    const byStart = (a: ReceivedSpan, b: ReceivedSpan) => (a.startNs < b.startNs ? -1 : 1);
    const posts = spans.filter((s) => s.name === 'POST /submitBatchSize').sort(byStart);
    assert.deepEqual(posts.map((s) => s.attributes['http.response.status_code']), rel === first ? [200] : [500, 200], what);
    // Sent by prepareEpoch's `send epoch` step (0.8.0 on); when its relayer call failed, by a submitEpoch attempt.
    const relayerAttempts = spans.filter((s) => posts.some((p) => p.parentSpanId === s.spanId)).sort(byStart);
    assert.deepEqual(
      relayerAttempts.map((s) => [s.name, s.status.code]),
      rel === first ? [['send epoch', 0]] : [['send epoch', 2], ['RunActivity:submitEpoch', 1]],
      `${what}: the sending's attempts (UNSET or OK, or ERROR then OK)`,
    );
    assert.ok(prepare.includes(relayerAttempts[0]!.parentSpanId!), `${what}: the send under a prepareEpoch attempt`);

    // Release to last push: the root starts no later than the release (the release block's time on a
    // chain whose clock is not ahead of ours) and ends no earlier than anything in it.
    assert.ok(root.startNs <= releases[0]!.startNs, what);
    const last = spans.reduce((a, b) => (b.endNs > a.endNs ? b : a));
    assert.equal(last.spanId, root.spanId, `${what}: ${last.name} ends after the root`);

    // Log lines: every line of the epoch's runs and activities carries the trace, but the SDK's
    // "Workflow started" and "Activity started", logged before the run's interceptors or the
    // attempt's span begin.
    const lines = logLines(worker).filter((l) => runSpans.has(l.workflowId as string));
    const traced = lines.filter((l) => l.msg !== 'Activity started' && l.msg !== 'Workflow started');
    assert.ok(lines.length > traced.length, 'the SDK\'s start lines are there, untraced');
    assert.deepEqual([...new Set(traced.map((l) => l.trace_id))], [traceId], what);
    assert.ok(traced.some((l) => l.msg === 'epoch batched' && l.sdkComponent === 'activity'), `${what}: the activity's own line`);
    assert.ok(traced.some((l) => l.msg === 'Workflow completed' && l.span_id === root.spanId), `${what}: the run's line, from the workflow sandbox`);
  }

  // A finished market loop turn's line carries the turn's trace (a turn in progress, up to ten
  // minutes long, exports its span when it ends).
  const turnLines = logLines(worker).filter((l) => l.activityType === 'followChain' && l.msg === 'Activity completed');
  assert.ok(turnLines.length >= 2, 'the turns that found the releases');
  const turnTraces = () => new Set(receiver.spans().filter((s) => s.name === 'RunActivity:followChain').map((s) => s.traceId));
  await waitFor('the finished turns\' spans', async () => turnLines.every((l) => turnTraces().has(l.trace_id as string)), 10_000);
  assert.equal(logLines(worker).find((l) => l.msg === 'seqflow worker ready')?.traces, receiver.url);
  assert.ok(!worker.log().includes(OTLP_SECRET), 'the OTLP headers are in no log line');
});

test('without an OTLP endpoint nothing is traced and the worker runs as before', async () => {
  await worker.stop();
  // Other OTEL variables do not turn it on.
  const plain = await stack.startWorker({ OTEL_SERVICE_NAME: 'seqflow-untraced', OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${OTLP_SECRET}` });
  const spansBefore = receiver.spans().length;
  const pushed = (await finalizerMessages(stack.redis.client)).length;
  const rel = await release(1);
  await waitFor('the epoch pushed', async () => (await finalizerMessages(stack.redis.client)).length === pushed + 1, 90_000);
  const [run] = await closedRuns(stack.temporal.client, rel.epochId);
  assert.ok(run!.events.some((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED'));
  const lines = await waitFor('its `epoch batched` line', async () => {
    const all = logLines(plain);
    return all.some((l) => l.msg === 'epoch batched' && l.workflowId === `market/${A}/epoch/${rel.epochId}`) && all;
  });
  assert.equal(lines.find((l) => l.msg === 'seqflow worker ready')?.traces, 'off', plain.logPath);
  assert.deepEqual(lines.filter((l) => 'trace_id' in l), [], plain.logPath);
  // No header in the commands of its runs: no workflow interceptor was installed.
  assert.ok(!JSON.stringify(run!.events).includes(TRACE_HEADER));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.equal(receiver.spans().length, spansBefore);
});
