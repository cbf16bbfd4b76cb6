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
import { HISTORIES_DIR, type HistoryFixture } from '../support/histories.js';

const workflowsPath = fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url));

function loadFixtures(): Array<{ file: string; fixture: HistoryFixture }> {
  const files = fs.readdirSync(HISTORIES_DIR, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json'));
  return files.sort().map((file) => ({ file, fixture: JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8')) as HistoryFixture }));
}

let bundle: WorkflowBundle;
const fixtures = loadFixtures();

before(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  bundle = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
});

test('fixtures cover every workflow type, a continue-as-new, a failed epoch, a day transition and both sides of a patch', () => {
  const types = new Set(fixtures.map((f) => f.fixture.workflowType));
  assert.deepEqual([...types].sort(), ['batchPreparationWorkflow', 'batchSubmissionWorkflow', 'finalRewardsWorkflow', 'marketWorkflow', 'periodicRewardsWorkflow']);
  const eventTypes = (f: HistoryFixture) => ((f.history as { events: Array<{ eventType: string }> }).events ?? []).map((e) => e.eventType);
  assert.ok(fixtures.some((f) => eventTypes(f.fixture).includes('EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW')), 'a continue-as-new');
  assert.ok(fixtures.some((f) => eventTypes(f.fixture).includes('EVENT_TYPE_WORKFLOW_EXECUTION_FAILED')), 'a failed epoch');
  const markets = fixtures.filter((f) => f.fixture.workflowType === 'marketWorkflow');
  const patchedRuns = markets.filter((f) => eventTypes(f.fixture).includes('EVENT_TYPE_MARKER_RECORDED'));
  assert.ok(patchedRuns.length > 0, 'market runs recorded with the days-and-rewards patch');
  assert.ok(patchedRuns.length < markets.length, 'market runs recorded before it, replayed on the old path');
  assert.ok(fixtures.some((f) => f.fixture.workflowId.endsWith('/day/1/final-rewards')), 'a day transition');
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
