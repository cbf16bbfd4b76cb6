/** The end-to-end bench's pure figures (bench/measures.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closingBlock, epochOfWorkflow, epochSteps, median, perDay, rssGrowthPercent, spread, steadyRss, tallyDeliveries, type MinedBlock } from '../../bench/measures.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Report } from '../../bench/report.js';
import { batchPreparationWorkflowId, marketWorkflowId } from '../../src/workflows/definitions.js';

test("an epoch's workflows: its batch preparation's ID and any ID under it; the market's are no epoch's", () => {
  const market = '0x994f7341e38811C9FF471F33e4E1FDb9C42B0cAD';
  const key = '0x994f7341e38811c9ff471f33e4e1fdb9c42b0cad/12';
  assert.equal(epochOfWorkflow(batchPreparationWorkflowId(market, '12')), key);
  assert.equal(epochOfWorkflow(`${batchPreparationWorkflowId(market, '12')}/submit`), key);
  assert.equal(epochOfWorkflow(`${batchPreparationWorkflowId(market, '12')}-rewards`), null);
  assert.equal(epochOfWorkflow(marketWorkflowId(market)), null);
});

test('spread: p50, p99 and max by the nearest rank; NaN without values', () => {
  const values = Array.from({ length: 200 }, (_, i) => 200 - i);
  assert.deepEqual(spread(values), { n: 200, p50: 100, p99: 198, max: 200 });
  assert.deepEqual(spread([7]), { n: 1, p50: 7, p99: 7, max: 7 });
  assert.ok(Number.isNaN(spread([]).p99));
  assert.equal(median([3, 1, 2, 4]), 2);
});

test('the closing block: the first after the release whose timestamp passes the release timestamp plus the window', () => {
  const blocks: MinedBlock[] = [
    { number: 10, timestamp: 100, minedAtMs: 100_400 },
    { number: 11, timestamp: 101, minedAtMs: 101_300 },
    // Two blocks in one second, then a second without one.
    { number: 12, timestamp: 105, minedAtMs: 105_100 },
    { number: 13, timestamp: 105, minedAtMs: 105_900 },
    { number: 14, timestamp: 107, minedAtMs: 107_200 },
  ];
  assert.equal(closingBlock(blocks, 10, 5)?.number, 14);
  assert.equal(closingBlock(blocks, 10, 4)?.number, 12);
  assert.equal(closingBlock(blocks, 12, 5), undefined, 'not mined yet');
  assert.equal(closingBlock(blocks, 9, 1), undefined, 'release not seen');
});

test('RSS: steady median and max after the warm-up; growth of the last quarter against the first', () => {
  assert.deepEqual(steadyRss([900, 100, 120, 110, 130], 1), { median: 110, max: 130, samples: 4 });
  // After 2 warm-up samples: first quarter of 8 = [100, 101] → 100 (the lower middle), last [104, 106] → 104.
  assert.equal(rssGrowthPercent([50, 500, 100, 101, 99, 100, 102, 100, 104, 106], 2), 4);
  // One low sample at the start of the steady part is not growth; a climb across the run is.
  assert.equal(rssGrowthPercent([80, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100], 0), 0);
  assert.equal(rssGrowthPercent([100, 100, 100, 105, 105, 105, 110, 110, 110, 115, 115, 115], 0), 15);
  assert.ok(Number.isNaN(rssGrowthPercent([100, 100, 100], 0)));
});

test('per day: a count over seconds scaled to 86,400 s', () => {
  assert.equal(perDay(36, 180), 17_280);
});

test('deliveries: lost, doubled, wrong counts and relayer answers, each epoch counted once per kind', () => {
  const ok = { expectedBatches: 2, receivedBatchIds: [2, 1], batchCountKey: '2', relayerBatchSizes: [2] };
  assert.deepEqual(
    tallyDeliveries([
      ok,
      { ...ok, receivedBatchIds: [1] },
      { ...ok, receivedBatchIds: [1, 2, 2, 2] },
      { ...ok, receivedBatchIds: [1, 2, 3], batchCountKey: '3' },
      { ...ok, batchCountKey: null, relayerBatchSizes: [] },
      { ...ok, relayerBatchSizes: [2, 2] },
      { ...ok, relayerBatchSizes: [2, 3] },
    ]),
    { epochs: 7, lost: 1, doubled: 2, wrongCount: 2, relayerWrong: 2, relayerRepeated: 1 },
  );
});

test("an epoch run's steps from its history: the timer, and each activity's last start and its completion", () => {
  const at = (s: number) => new Date(Date.UTC(2026, 10, 30, 12, 0, s)).toISOString();
  const scheduled = (id: number, name: string) => ({ eventId: String(id), eventType: 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED', eventTime: at(id), activityTaskScheduledEventAttributes: { activityType: { name } } });
  const step = (id: number, type: 'STARTED' | 'COMPLETED', of: number) => ({
    eventId: String(id),
    eventType: `EVENT_TYPE_ACTIVITY_TASK_${type}`,
    eventTime: at(id),
    [`activityTask${type === 'STARTED' ? 'Started' : 'Completed'}EventAttributes`]: { scheduledEventId: String(of) },
  });
  const events = [
    { eventId: '1', eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED', eventTime: at(1) },
    { eventId: '2', eventType: 'EVENT_TYPE_TIMER_FIRED', eventTime: at(2) },
    scheduled(3, 'prepareEpoch'),
    step(4, 'STARTED', 3),
    step(5, 'COMPLETED', 3),
    // A rebased window: the timer again, and prepareEpoch again (its last run counts).
    { eventId: '6', eventType: 'EVENT_TYPE_TIMER_FIRED', eventTime: at(6) },
    scheduled(7, 'prepareEpoch'),
    step(8, 'STARTED', 7),
    step(9, 'COMPLETED', 7),
    scheduled(10, 'submitEpoch'),
    step(11, 'STARTED', 10),
    step(12, 'COMPLETED', 10),
  ];
  const ms = (s: number) => Date.parse(at(s));
  assert.deepEqual(epochSteps(events), { timerFired: ms(2), prepareStarted: ms(8), prepareCompleted: ms(9), submitStarted: ms(11), submitCompleted: ms(12) });
  assert.deepEqual(epochSteps(events.slice(0, 3)), { timerFired: ms(2), prepareStarted: null, prepareCompleted: null, submitStarted: null, submitCompleted: null });
});

test('results.json keeps each section\'s latest run: a run replaces the sections it ran and keeps the others', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-report-')), 'results.json');
  const run = (sections: Record<string, number>, args: string[]) => {
    const report = new Report();
    for (const [name, value] of Object.entries(sections)) {
      report.begin(name);
      report.row({ case: `${name} case`, ms: value });
      report.target({ id: '1', name: `${name} target`, measured: value, bound: 10, unit: 'ms', kind: 'max' });
    }
    report.write(file, args);
    return JSON.parse(fs.readFileSync(file, 'utf8')) as { sections: Array<{ section: string; args: string[] }>; rows: Array<{ section: string; ms: number }>; targets: Array<{ section: string; measured: number; met: boolean }> };
  };
  run({ a: 1, b: 2 }, []);
  const after = run({ b: 20, c: 3 }, ['--only', 'b,c']);
  assert.deepEqual(after.rows.map((r) => [r.section, r.ms]), [['a', 1], ['b', 20], ['c', 3]]);
  assert.deepEqual(after.targets.map((t) => [t.section, t.measured, t.met]), [['a', 1, true], ['b', 20, false], ['c', 3, true]]);
  assert.deepEqual(after.sections.map((s) => [s.section, s.args.join(' ')]), [['a', ''], ['b', '--only b,c'], ['c', '--only b,c']]);
});
