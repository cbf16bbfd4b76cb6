/**
 * The determinism guard: every recorded history in test/histories/ must replay against the
 * current workflow code. A change that would break runs in flight fails here.
 * To record new fixtures: see "Replay fixtures" in the README.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { HISTORIES_DIR, payloadsOf, type HistoryFixture } from '../support/histories.js';

const workflowsPath = fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url));

function loadFixtures(): Array<{ file: string; fixture: HistoryFixture }> {
  const files = fs.readdirSync(HISTORIES_DIR, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json'));
  return files.sort().map((file) => ({ file, fixture: JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8')) as HistoryFixture }));
}

/** The seqflow version a fixture was recorded with, from its folder (`<scenario>@<version>/`); compares as a string while every part is one digit. */
const versionOf = (file: string) => /@(\d+\.\d+\.\d+)\//.exec(file)![1]!;

/** The IDs of the patches a run's markers record, in order. */
const patchIdsOf = (f: HistoryFixture): string[] =>
  ((f.history as { events?: Array<{ markerRecordedEventAttributes?: { details?: { 'patch-data'?: { payloads?: Array<{ data: string }> } } } }> }).events ?? [])
    .flatMap((e) => e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads ?? [])
    .map((p) => (JSON.parse(Buffer.from(p.data, 'base64').toString()) as { id: string }).id);

let bundle: WorkflowBundle;
const fixtures = loadFixtures();

before(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  bundle = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
});

test('fixtures cover every workflow type, a continue-as-new, a failed epoch, a day transition and both sides of a patch', () => {
  const types = new Set(fixtures.map((f) => f.fixture.workflowType));
  assert.deepEqual([...types].sort(), ['batchPreparationWorkflow', 'batchSubmissionWorkflow', 'epochWorkflow', 'finalRewardsWorkflow', 'marketAlertsWorkflow', 'marketWorkflow', 'periodicRewardsWorkflow']);
  const eventTypes = (f: HistoryFixture) => ((f.history as { events: Array<{ eventType: string }> }).events ?? []).map((e) => e.eventType);
  assert.ok(fixtures.some((f) => eventTypes(f.fixture).includes('EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW')), 'a continue-as-new');
  assert.ok(fixtures.some((f) => eventTypes(f.fixture).includes('EVENT_TYPE_WORKFLOW_EXECUTION_FAILED')), 'a failed epoch');
  const markets = fixtures.filter((f) => f.fixture.workflowType === 'marketWorkflow');
  const patchedRuns = markets.filter((f) => eventTypes(f.fixture).includes('EVENT_TYPE_MARKER_RECORDED'));
  assert.ok(patchedRuns.length > 0, 'market runs recorded with the days-and-rewards patch');
  assert.ok(patchedRuns.length < markets.length, 'market runs recorded before it, replayed on the old path');
  assert.ok(fixtures.some((f) => f.fixture.workflowId.endsWith('/day/1/final-rewards')), 'a day transition');
});

test('fixtures cover the chain-truth paths of 0.3.0: orphaned and rebased epochs, a finality violation and its rewind, a day from dayCounter, a re-scan', () => {
  const json = (f: HistoryFixture) => JSON.stringify(payloadsOf(f.history));
  const of = (type: string) => fixtures.filter((f) => f.fixture.workflowType === type).map((f) => f.fixture);
  assert.ok(of('marketWorkflow').some((f) => patchIdsOf(f).includes('chain-truth')), 'market runs with the chain-truth patch');
  const windowed = of('batchPreparationWorkflow').filter((f) => patchIdsOf(f).includes('chain-time-window'));
  assert.ok(windowed.length > 0, 'preparations with the chain-time-window patch');
  assert.ok(windowed.some((f) => json(f).includes('"orphaned":true')), 'a preparation that ended orphaned');
  assert.ok(windowed.some((f) => json(f).includes('"kind":"rebased"')), 'a preparation rebased onto its moved release');
  assert.ok(of('batchPreparationWorkflow').some((f) => !patchIdsOf(f).includes('chain-time-window')), 'and ones from before it, replayed on the old path');
  const markets = of('marketWorkflow').map(json);
  assert.ok(markets.some((j) => j.includes('"violation":{"kind":"deep-reorg"')), 'a market halted at a deep reorg');
  assert.ok(markets.some((j) => j.includes('"violation":{"kind":"broken-chain"')), 'a market halted at a broken hash chain');
  assert.ok(markets.some((j) => j.includes('{"toBlock":')), 'a rewind by the operator');
  assert.ok(markets.some((j) => j.includes('"dayCounter":{"day":')), 'a day read from dayCounter');
  assert.ok(markets.some((j) => j.includes('"recovered":{')), 'a release found by the re-scan');
  assert.ok(of('marketWorkflow').some((f) => JSON.stringify(f.history).includes('"name":"watchHead"')), 'a paused or halted market watching the head');
});

test('fixtures cover the Redis paths of 0.4.0: a market marker, a data loss reported and cleared by resume', () => {
  const markets = fixtures.filter((f) => f.fixture.workflowType === 'marketWorkflow').map((f) => f.fixture);
  const json = (f: HistoryFixture) => JSON.stringify(payloadsOf(f.history));
  const updates = (f: HistoryFixture) =>
    ((f.history as { events: Array<{ workflowExecutionUpdateAcceptedEventAttributes?: { acceptedRequest?: { input?: { name?: string } } } }> }).events ?? [])
      .map((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name)
      .filter((name) => name !== undefined);
  assert.ok(markets.some((f) => json(f).includes('"redisMarker":{')), 'a market run with a Redis marker');
  const lost = markets.filter((f) => json(f).includes('"redisDataLost":{'));
  assert.ok(lost.length > 0, 'a market run that saw Redis lose its data');
  assert.ok(lost.some((f) => updates(f).includes('resume')), 'and was resumed by the operator');
  assert.ok(markets.some((f) => !json(f).includes('"redisMarker":{')), 'and market runs from before 0.4.0, replayed with it');
});

test('fixtures cover the search attributes of 0.5.0: every workflow type with the search-attributes patch and its upserts, and runs from before it', () => {
  type Event = {
    eventType: string;
    upsertWorkflowSearchAttributesEventAttributes?: { searchAttributes?: { indexedFields?: Record<string, { data: string }> } };
  };
  const events = (f: HistoryFixture) => (f.history as { events?: Event[] }).events ?? [];
  const patchedRun = (f: HistoryFixture) => patchIdsOf(f).includes('search-attributes');
  /** The SeqflowStatus values the run upserted, in order. */
  const statuses = (f: HistoryFixture) =>
    events(f).flatMap((e) => {
      const field = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.SeqflowStatus;
      return field ? [JSON.parse(Buffer.from(field.data, 'base64').toString()) as string] : [];
    });
  // The search scenario's runs, whose statuses are known exactly (other 0.5.0 scenarios carry the patch too).
  const current = fixtures.filter((f) => f.file.startsWith('search@0.5.0/') && patchedRun(f.fixture)).map((f) => f.fixture);
  const upserted = (type: string) => current.filter((f) => f.workflowType === type).map(statuses);
  assert.deepEqual(upserted('marketWorkflow').sort(), [['paused', 'stopped'], ['stopped']]);
  assert.deepEqual(upserted('batchPreparationWorkflow').sort(), [['submitting', 'batched'], ['submitting', 'failed'], ['submitting', 'failed'], ['submitting', 'failed']]);
  assert.deepEqual(upserted('batchSubmissionWorkflow').sort(), [['send-failed'], ['send-failed'], ['send-failed'], ['sent']]);
  assert.deepEqual(upserted('periodicRewardsWorkflow'), [['sent']]);
  assert.deepEqual(upserted('finalRewardsWorkflow'), [['sent']]);
  assert.ok(fixtures.filter((f) => f.file.startsWith('alerts@0.5.0/')).every((f) => patchedRun(f.fixture) || f.fixture.workflowType === 'marketAlertsWorkflow'), 'the alerts scenario ran with the patch');
  const before = fixtures.filter((f) => versionOf(f.file) < '0.5.0').map((f) => f.fixture);
  assert.ok(before.length > 0 && !before.some(patchedRun), 'runs from before 0.5.0, replayed without the patch');
});

test('fixtures cover the epoch workflow of 0.6.0: markets with the epoch-workflow patch start it; batched, failed and orphaned epochs; markets from before start the old one', () => {
  const startedTypes = (f: HistoryFixture) =>
    ((f.history as { events: Array<{ startChildWorkflowExecutionInitiatedEventAttributes?: { workflowType?: { name: string } } }> }).events ?? []).flatMap((e) => {
      const type = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name;
      return type === 'epochWorkflow' || type === 'batchPreparationWorkflow' ? [type] : [];
    });
  const markets = fixtures.filter((f) => f.fixture.workflowType === 'marketWorkflow');
  const current = markets.filter((f) => patchIdsOf(f.fixture).includes('epoch-workflow')).map((f) => startedTypes(f.fixture));
  assert.ok(current.some((types) => types.length > 0) && current.every((types) => types.every((t) => t === 'epochWorkflow')), 'markets with the patch start epochWorkflow only');
  const older = markets.filter((f) => versionOf(f.file) < '0.6.0').map((f) => startedTypes(f.fixture));
  assert.ok(older.some((types) => types.length > 0) && older.every((types) => types.every((t) => t === 'batchPreparationWorkflow')), 'markets from before it, replayed starting the old one');
  const epochs = fixtures.filter((f) => f.fixture.workflowType === 'epochWorkflow').map((f) => JSON.stringify(payloadsOf(f.fixture.history)));
  assert.ok(epochs.some((j) => j.includes('"batchCount":')), 'a batched epoch');
  assert.ok(epochs.some((j) => j.includes('"orphaned":true')), 'an orphaned epoch');
  assert.ok(fixtures.some((f) => f.fixture.workflowType === 'epochWorkflow' && JSON.stringify(f.fixture.history).includes('EVENT_TYPE_WORKFLOW_EXECUTION_FAILED')), 'a failed epoch');
  assert.ok(!fixtures.some((f) => versionOf(f.file) >= '0.6.0' && f.fixture.workflowType === 'batchSubmissionWorkflow'), 'and no submission child since');
});

test('fixtures cover the bounded market runs of 0.7.0: market runs from it carry the bounded-market-run patch, runs from before replay without it', () => {
  const markets = fixtures.filter((f) => f.fixture.workflowType === 'marketWorkflow');
  const current = markets.filter((f) => versionOf(f.file) >= '0.7.0');
  assert.ok(current.length > 0 && current.every((f) => patchIdsOf(f.fixture).includes('bounded-market-run')), 'market runs of 0.7.0, each with the patch');
  const older = markets.filter((f) => versionOf(f.file) < '0.7.0');
  assert.ok(older.length > 0 && !older.some((f) => patchIdsOf(f.fixture).includes('bounded-market-run')), 'and runs from before it, replayed without');
});

test('fixtures cover the sending with the preparation of 0.8.0: epoch runs from it carry the send-with-preparation patch and run submitEpoch only after a failed send; runs from before always run it', () => {
  const scheduled = (f: HistoryFixture) =>
    ((f.history as { events: Array<{ activityTaskScheduledEventAttributes?: { activityType?: { name: string } } }> }).events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
  const batched = fixtures.filter((f) => f.fixture.workflowType === 'epochWorkflow' && JSON.stringify(payloadsOf(f.fixture.history)).includes('"batchCount":'));
  const current = batched.filter((f) => versionOf(f.file) >= '0.8.0');
  assert.ok(current.length > 0 && current.every((f) => patchIdsOf(f.fixture).includes('send-with-preparation')), 'batched epoch runs of 0.8.0, each with the patch');
  const sentWith = current.filter((f) => !scheduled(f.fixture).includes('submitEpoch'));
  assert.ok(sentWith.length > 0 && sentWith.every((f) => JSON.stringify(payloadsOf(f.fixture.history)).includes('"sent":true')), 'epochs sent by prepareEpoch, without submitEpoch');
  const sentAfter = current.filter((f) => scheduled(f.fixture).includes('submitEpoch'));
  assert.ok(sentAfter.length > 0 && sentAfter.every((f) => JSON.stringify(payloadsOf(f.fixture.history)).includes('"sent":false')), 'and epochs whose send failed there, sent by submitEpoch');
  const older = batched.filter((f) => versionOf(f.file) < '0.8.0');
  assert.ok(older.length > 0 && older.every((f) => !patchIdsOf(f.fixture).includes('send-with-preparation') && scheduled(f.fixture).includes('submitEpoch')), 'runs from before it, replayed with submitEpoch');
});

for (const { file, fixture } of fixtures) {
  test(`replays ${file}`, async () => {
    await Worker.runReplayHistory({ workflowBundle: bundle, replayName: file }, fixture.history, fixture.workflowId);
  });
}

test('replay does catch a history the code cannot reproduce', async () => {
  const submission = fixtures.find((f) => f.fixture.workflowType === 'batchSubmissionWorkflow');
  assert.ok(submission, 'a batch submission fixture');
  // Same events, but started as another workflow type: its commands cannot match.
  const history = structuredClone(submission.fixture.history) as { events: Array<Record<string, { workflowType?: { name: string } }>> };
  const started = history.events[0]!.workflowExecutionStartedEventAttributes!;
  started.workflowType = { name: 'batchPreparationWorkflow' };
  await assert.rejects(Worker.runReplayHistory({ workflowBundle: bundle }, history, submission.fixture.workflowId), /Nondeterminism|DeterminismViolation|ReplayError|failed/i);
});
