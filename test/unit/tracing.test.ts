/**
 * The pure parts of tracing: derived ids and traceparent (ids.ts), which runs have which span
 * (runs.ts), the follower's release spans and activity attributes (activity.ts), and the spans
 * workflows report as the exporter takes them (sinks.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Resource } from '@opentelemetry/resources';
import { TRACE_HEADER as LIBRARY_TRACE_HEADER } from '@temporalio/interceptors-opentelemetry/lib/instrumentation.js';
import { inputAttributes, releaseSpans } from '../../src/tracing/activity.js';
import { readableSpan } from '../../src/tracing/sinks.js';
import { TRACE_HEADER, epochRootSpan, epochTraceId, hash128, parseTraceparent, runSpanId, spanIdOf, traceIdOf, traceparent } from '../../src/tracing/workflow/ids.js';
import { ATTR, planRunSpan, resultAttributes, timerSpan, type RunFacts } from '../../src/tracing/workflow/runs.js';
import type { EpochReleased } from '../../src/domain/types.js';

const M = '0x60DB994e5eb1824F5f1575351897C4B9F3495d23';
const HASH = '0x1c118f3706c0ec1295e08f585e83fd98aec2725a5454559527869472743429ca';

describe('ids', () => {
  test('trace and span ids are W3C hex, never all zeros, and a function of their parts only', () => {
    assert.match(traceIdOf('a', 'b'), /^[0-9a-f]{32}$/);
    assert.match(spanIdOf('a', 'b'), /^[0-9a-f]{16}$/);
    assert.equal(traceIdOf('a', 'b'), traceIdOf('a', 'b'));
    assert.notEqual(traceIdOf('a', 'b'), traceIdOf('ab'));
    assert.notEqual(traceIdOf('a', 'b'), traceIdOf('b', 'a'));
    assert.notEqual(traceIdOf('x'), spanIdOf('x').padStart(32, '0'));
  });

  test('neighbouring epochs get distinct traces that differ all over, not in a few digits', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => epochTraceId('default', M, String(i + 1)));
    assert.equal(new Set(ids).size, ids.length);
    const differing = [...ids[0]!].filter((c, i) => c !== ids[1]![i]).length;
    assert.ok(differing > 20, `epochs 1 and 2 differ in ${differing} of 32 digits`);
    // Every hex digit position takes many values over the epochs (no fixed middle).
    for (let pos = 0; pos < 32; pos++) assert.ok(new Set(ids.map((id) => id[pos])).size === 16, `position ${pos}`);
  });

  test('hash128 sees every UTF-16 unit, astral characters included', () => {
    assert.notEqual(hash128(['\u{1F600}']), hash128(['\u{1F601}']));
    assert.notEqual(hash128(['é']), hash128(['e']));
  });

  test('the epoch trace ignores the market letter case and the namespace separates deployments', () => {
    assert.equal(epochTraceId('default', M, '7'), epochTraceId('default', M.toLowerCase(), '7'));
    assert.notEqual(epochTraceId('default', M, '7'), epochTraceId('staging', M, '7'));
    assert.notEqual(epochTraceId('default', M, '7'), epochTraceId('default', M, '8'));
  });

  test('the epoch root is in the epoch trace, one per release block', () => {
    const root = epochRootSpan('default', M, '7', HASH);
    assert.equal(root.traceId, epochTraceId('default', M, '7'));
    assert.deepEqual(epochRootSpan('default', M.toLowerCase(), '7', HASH.toUpperCase().replace('0X', '0x')), root);
    assert.notEqual(epochRootSpan('default', M, '7', `0x${'ab'.repeat(32)}`).spanId, root.spanId);
  });

  test('traceparent round-trips; anything else is no parent', () => {
    const ref = { traceId: traceIdOf('t'), spanId: spanIdOf('s') };
    assert.equal(traceparent(ref), `00-${ref.traceId}-${ref.spanId}-01`);
    assert.deepEqual(parseTraceparent(traceparent(ref)), ref);
    for (const bad of [undefined, 42, '', `01-${ref.traceId}-${ref.spanId}-01`, `00-${'0'.repeat(32)}-${ref.spanId}-01`, `00-${ref.traceId}-${'0'.repeat(16)}-01`, `00-${ref.traceId.toUpperCase()}-${ref.spanId}-01`, `00-${ref.traceId}-${ref.spanId}`]) {
      assert.equal(parseTraceparent(bad), undefined, String(bad));
    }
  });

  test('the header is the one the library\'s activity and client interceptors read and write', () => {
    assert.equal(TRACE_HEADER, LIBRARY_TRACE_HEADER);
  });
});

describe('runs', () => {
  const facts = (workflowType: string, workflowId = `market/${M}/epoch/7`): RunFacts => ({ namespace: 'default', workflowId, runId: 'run-1', workflowType, runStartMs: 1_700_000_010_000 });
  const epochInput = { market: M, epochId: '7', day: '3', releaseBlockNumber: 38, releaseBlockTimestamp: 1_700_000_000, releaseBlockHash: HASH, submissionWindowSeconds: 4 };

  test('an epoch run is the root of the epoch trace, from the release block\'s time', () => {
    for (const type of ['batchPreparationWorkflow', 'epochWorkflow']) {
      const span = planRunSpan(facts(type), epochInput, { traceId: traceIdOf('other'), spanId: spanIdOf('other') });
      assert.deepEqual(span, {
        name: 'epoch',
        ...epochRootSpan('default', M, '7', HASH),
        startMs: 1_700_000_000_000,
        attributes: {
          [ATTR.workflowId]: `market/${M}/epoch/7`,
          [ATTR.runId]: 'run-1',
          [ATTR.workflowType]: type,
          [ATTR.market]: M,
          [ATTR.epochId]: '7',
          [ATTR.day]: '3',
          [ATTR.releaseBlockNumber]: 38,
          [ATTR.releaseBlockHash]: HASH,
          [ATTR.releaseBlockTimestamp]: 1_700_000_000,
        },
      });
    }
  });

  test('a release block dated after the run started (a chain clock ahead) starts the span at the run', () => {
    assert.equal(planRunSpan(facts('epochWorkflow'), { ...epochInput, releaseBlockTimestamp: 1_700_000_020 }, undefined)?.startMs, 1_700_000_010_000);
  });

  test('runs from before 0.3.0 (no release hash) still root their epoch trace', () => {
    const old: Partial<typeof epochInput> = { ...epochInput };
    delete old.releaseBlockHash;
    const span = planRunSpan(facts('batchPreparationWorkflow'), old, undefined)!;
    assert.deepEqual({ traceId: span.traceId, spanId: span.spanId }, epochRootSpan('default', M, '7', ''));
  });

  test('market and alert runs have no span', () => {
    assert.equal(planRunSpan(facts('marketWorkflow', `market/${M}`), { market: M }, { traceId: traceIdOf('cli'), spanId: spanIdOf('cli') }), undefined);
    assert.equal(planRunSpan(facts('marketAlertsWorkflow', `market/${M}/alerts`), { market: M }, undefined), undefined);
  });

  test('another run is a child of the span in its header, or a trace of its own', () => {
    const parent = epochRootSpan('default', M, '7', HASH);
    const submission = { market: M, epochId: '7', batchCount: 2, releaseBlockTimestamp: 1_700_000_000 };
    const child = planRunSpan(facts('batchSubmissionWorkflow', `market/${M}/epoch/7/submit`), submission, parent)!;
    assert.deepEqual(child, {
      name: 'RunWorkflow:batchSubmissionWorkflow',
      traceId: parent.traceId,
      spanId: runSpanId('default', `market/${M}/epoch/7/submit`, 'run-1'),
      parentSpanId: parent.spanId,
      startMs: 1_700_000_010_000,
      attributes: { [ATTR.workflowId]: `market/${M}/epoch/7/submit`, [ATTR.runId]: 'run-1', [ATTR.workflowType]: 'batchSubmissionWorkflow', [ATTR.market]: M, [ATTR.epochId]: '7' },
    });
    const rewards = planRunSpan(facts('finalRewardsWorkflow', `market/${M}/day/3/final-rewards`), { market: M, day: '3' }, undefined)!;
    assert.equal(rewards.parentSpanId, undefined);
    assert.equal(rewards.traceId, traceIdOf('run', 'default', `market/${M}/day/3/final-rewards`, 'run-1'));
    assert.equal(rewards.attributes[ATTR.day], '3');
  });

  test('an epoch result becomes counts, an orphaned one a flag; anything else nothing', () => {
    assert.deepEqual(resultAttributes({ epochId: '7', batchCount: 2, submissionCount: 5, malformedCount: 1, day: '3' }), { [ATTR.batchCount]: 2, [ATTR.submissionCount]: 5, [ATTR.malformedCount]: 1 });
    assert.deepEqual(resultAttributes({ epochId: '7', orphaned: true, detail: 'gone' }), { [ATTR.orphaned]: true });
    assert.deepEqual(resultAttributes(undefined), {});
    assert.deepEqual(resultAttributes({ batchCount: 'two' }), {});
  });

  test('a timer is a child of its run, named by its command number', () => {
    const run = planRunSpan(facts('epochWorkflow'), epochInput, undefined)!;
    const timer = timerSpan(run, 3, 4000, 10, 4010);
    assert.deepEqual(timer, { name: 'Timer', traceId: run.traceId, spanId: spanIdOf('timer', run.spanId, '3'), parentSpanId: run.spanId, startMs: 10, endMs: 4010, attributes: { [ATTR.timerMs]: 4000 } });
    assert.notEqual(timerSpan(run, 4, 4000, 10, 4010).spanId, timer.spanId);
  });
});

describe('activity spans', () => {
  const release = (epochId: string, blockHash: string, extra: Partial<EpochReleased> = {}): EpochReleased => ({ kind: 'EpochReleased', epochId, blockNumber: 38, blockHash, blockTimestamp: 1_700_000_000, logIndex: 0, ...extra });

  test('each release a follower returns gets a span under the root its epoch run will have', () => {
    const events = [
      release('7', HASH),
      { kind: 'DayStarted' as const, dayId: '4', blockNumber: 39, logIndex: 0 },
      release('8', `0x${'cd'.repeat(32)}`, { recovered: { day: null }, logIndex: 2 }),
    ];
    const spans = releaseSpans('default', { market: M }, { events });
    assert.deepEqual(
      spans.map((s) => s.parent),
      [epochRootSpan('default', M, '7', HASH), epochRootSpan('default', M, '8', `0x${'cd'.repeat(32)}`)],
    );
    assert.deepEqual(spans[0]!.attributes, {
      [ATTR.market]: M,
      [ATTR.epochId]: '7',
      [ATTR.releaseBlockNumber]: 38,
      [ATTR.releaseBlockHash]: HASH,
      [ATTR.releaseBlockTimestamp]: 1_700_000_000,
      'seqflow.release.log_index': 0,
    });
    assert.equal(spans[1]!.attributes['seqflow.release.recovered'], true);
    // The same release found again (a retried poll) names the same parent: its span stays in the tree.
    assert.deepEqual(releaseSpans('default', { market: M.toLowerCase() }, { events: [release('7', HASH)] })[0]!.parent, spans[0]!.parent);
  });

  test('an activity span names the market, epoch and day of its input, and nothing else', () => {
    assert.deepEqual(inputAttributes({ market: M, epochId: '7', day: '3', batchCount: 2, authToken: 'x' }), { [ATTR.market]: M, [ATTR.epochId]: '7', [ATTR.day]: '3' });
    assert.deepEqual(inputAttributes({ market: M, cursor: { nextBlock: 1 } }), { [ATTR.market]: M });
    assert.deepEqual(inputAttributes(undefined), {});
    assert.deepEqual(inputAttributes('0xabc'), {});
  });
});

test('a span a workflow reports becomes an ended, sampled span of the resource', () => {
  const resource = new Resource({ 'service.name': 'seqflow' });
  const root = epochRootSpan('default', M, '7', HASH);
  const span = readableSpan({ name: 'epoch', ...root, startMs: 1_700_000_000_000, endMs: 1_700_000_004_250, attributes: { [ATTR.epochId]: '7' } }, resource);
  assert.deepEqual(span.spanContext(), { traceId: root.traceId, spanId: root.spanId, traceFlags: 1 });
  assert.equal(span.parentSpanId, undefined);
  assert.deepEqual(span.startTime, [1_700_000_000, 0]);
  assert.deepEqual(span.endTime, [1_700_000_004, 250_000_000]);
  assert.deepEqual(span.duration, [4, 250_000_000]);
  assert.deepEqual(span.status, { code: 1 });
  assert.equal(span.ended, true);
  assert.equal(span.resource, resource);
  const failed = readableSpan({ name: 'RunWorkflow:x', traceId: root.traceId, spanId: spanIdOf('x'), parentSpanId: root.spanId, startMs: 10, endMs: 5, attributes: {}, error: 'boom' }, resource);
  assert.deepEqual(failed.status, { code: 2, message: 'boom' });
  assert.equal(failed.parentSpanId, root.spanId);
  assert.deepEqual(failed.duration, [0, 0], 'a clock that stepped back makes no negative duration');
});
