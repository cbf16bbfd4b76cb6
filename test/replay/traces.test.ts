/**
 * seqflow's workflow interceptors (src/tracing/workflow/) keep every workflow deterministic: each
 * recorded history in test/histories/, of every version and of runs recorded with tracing on
 * (traces@*), replays with them installed, and computes exactly the activity inputs it computes without them
 * (which replay itself does not compare: activity-inputs.ts reports them), the Redis markers the
 * histories hold included (see otel-library.test.ts for why that matters). On replay
 * they report no span through the worker's sink (a span is reported once, live); a sink that is
 * called on replay shows that they did run and named each epoch's root as the follower does.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Resource } from '@opentelemetry/resources';
import { DefaultLogger, Runtime, type InjectedSinks, type WorkflowBundle } from '@temporalio/worker';
import type { WorkflowInfo } from '@temporalio/workflow';
import { WORKFLOW_INTERCEPTORS_MODULE } from '../../src/tracing/setup.js';
import { workflowSpanSinks } from '../../src/tracing/sinks.js';
import { TRACE_HEADER, epochRootSpan } from '../../src/tracing/workflow/ids.js';
import type { TracingSinks } from '../../src/tracing/workflow/interceptors.js';
import type { FinishedSpan } from '../../src/tracing/workflow/runs.js';
import { bundleWith, fixtures, recordedMarkers, replayFixtures, replayedMarkers } from './replay-inputs.js';

let traced: WorkflowBundle;
let plain: WorkflowBundle;

before(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  [traced, plain] = await Promise.all([bundleWith([WORKFLOW_INTERCEPTORS_MODULE]), bundleWith([])]);
});

test('every recorded history replays with the tracing interceptors, to the activity inputs and Redis markers it replays to without them; the worker\'s sink reports nothing on replay', async () => {
  const exporter = new InMemorySpanExporter();
  const withTracing = await replayFixtures(traced, workflowSpanSinks(new SimpleSpanProcessor(exporter), new Resource({})));
  const without = await replayFixtures(plain, {});
  assert.deepEqual(withTracing.failed, []);
  assert.deepEqual(without.failed, []);
  assert.deepEqual(exporter.getFinishedSpans(), []);
  assert.deepEqual(withTracing.inputs, without.inputs);
  assert.ok([...withTracing.inputs.values()].flat().length > 1000, 'activity inputs compared');
  let markers = 0;
  for (const { file, fixture } of fixtures) {
    const recorded = recordedMarkers(fixture);
    assert.deepEqual(replayedMarkers(withTracing.inputs.get(file), recorded.length), recorded, file);
    markers += recorded.length;
  }
  assert.ok(markers > 0, 'market runs with a Redis marker');
  const recordedTraced = fixtures.filter(({ file, fixture }) => file.startsWith('traces@') && JSON.stringify(fixture.history).includes(`"${TRACE_HEADER}"`));
  assert.ok(recordedTraced.some(({ fixture }) => fixture.workflowType === 'epochWorkflow'), 'epoch runs recorded with tracing on, their commands carrying the header');
});

test('on replay the interceptors name each epoch run the root its follower names, and give market runs no span', async () => {
  const reported: Array<{ info: WorkflowInfo; span: FinishedSpan }> = [];
  const onReplay: InjectedSinks<TracingSinks> = { seqflowTraces: { spanEnded: { fn: (info, span) => void reported.push({ info, span }), callDuringReplay: true } } };
  const { failed } = await replayFixtures(traced, onReplay);
  assert.deepEqual(failed, []);
  const roots = reported.filter(({ span }) => span.name === 'epoch');
  const epochRuns = fixtures.filter(({ fixture }) => fixture.workflowType === 'batchPreparationWorkflow' || fixture.workflowType === 'epochWorkflow');
  // Every epoch run that closed in its history reported its root once, with the ids the follower derives.
  assert.ok(roots.length > 0 && roots.length <= epochRuns.length, `${roots.length} roots of ${epochRuns.length} epoch runs`);
  for (const { info, span } of roots) {
    const market = String(span.attributes['seqflow.market']);
    const epochId = String(span.attributes['seqflow.epoch_id']);
    const hash = span.attributes['seqflow.release.block_hash'];
    assert.equal(info.workflowId.replace(/#.*$/, ''), `market/${market}/epoch/${epochId}`);
    assert.deepEqual({ traceId: span.traceId, spanId: span.spanId }, epochRootSpan(info.namespace, market, epochId, typeof hash === 'string' ? hash : ''));
  }
  assert.equal(new Set(roots.map(({ info }) => info.runId)).size, roots.length, 'one root per run');
  assert.ok(!reported.some(({ info }) => info.workflowType === 'marketWorkflow' || info.workflowType === 'marketAlertsWorkflow'), 'no span of a market or alert run');
  assert.ok(reported.some(({ span }) => span.name === 'Timer'), 'timers of traced runs');
});
