/** The bench's counting of Temporal's cost from histories (bench/temporal-cost.ts), on hand-made histories. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { actionsOf, activityInSpan, attributeCost, meanCost, workflowTaskTrouble, workflowTasksCompleted, type EpochScope, type HistoryEvent, type RunHistory } from '../../bench/temporal-cost.js';

const M = '0x00000000000000000000000000000000000000aa';
const OTHER = '0x00000000000000000000000000000000000000bb';

/** A proto-JSON event: `EVENT_TYPE_<type>` with its attributes under the field Temporal names after the type. */
function ev(id: number, type: string, attributes: Record<string, unknown> = {}, eventTime?: string): HistoryEvent {
  const field = `${type.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())}EventAttributes`;
  return { eventId: String(id), eventType: `EVENT_TYPE_${type}`, ...(eventTime ? { eventTime } : {}), [field]: attributes };
}

/** An eventTime `s` seconds into a made-up day. */
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

/** A JSON payload as proto-JSON carries it. */
const payload = (value: unknown) => ({ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from(JSON.stringify(value)).toString('base64') });
const payloads = (value: unknown) => ({ payloads: [payload(value)] });

/** A workflow task: scheduled, started, completed, from event `id`. */
const task = (id: number) => [ev(id, 'WORKFLOW_TASK_SCHEDULED'), ev(id + 1, 'WORKFLOW_TASK_STARTED', { scheduledEventId: String(id) }), ev(id + 2, 'WORKFLOW_TASK_COMPLETED', { scheduledEventId: String(id), startedEventId: String(id + 1) })];

const epochWorkflowId = (market: string, epochId: string) => `market/${market}/epoch/${epochId}`;
function scopeOf(keys: string[]): EpochScope {
  return {
    epochs: new Set(keys),
    markets: [M, OTHER],
    epochOfWorkflow: (id) => {
      const m = /^market\/(0x[0-9a-fA-F]{40})\/epoch\/(\d+)(\/|$)/.exec(id);
      return m ? `${m[1]!.toLowerCase()}/${m[2]}` : null;
    },
  };
}

test('actions: starts, children, each activity attempt, timers, upserts but TemporalChangeVersion, signals once, updates, local activities per workflow task', () => {
  const events = [
    ev(1, 'WORKFLOW_EXECUTION_STARTED'),
    ...task(2),
    ev(5, 'MARKER_RECORDED', { markerName: 'core_patch', workflowTaskCompletedEventId: '4' }),
    ev(6, 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES', { workflowTaskCompletedEventId: '4', searchAttributes: { indexedFields: { TemporalChangeVersion: payload(['p']) } } }),
    ev(7, 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES', { workflowTaskCompletedEventId: '4', searchAttributes: { indexedFields: { SeqflowStatus: payload('waiting') } } }),
    ev(8, 'TIMER_STARTED', { workflowTaskCompletedEventId: '4' }),
    ev(9, 'ACTIVITY_TASK_SCHEDULED', { workflowTaskCompletedEventId: '4' }),
    ev(10, 'TIMER_FIRED', { startedEventId: '8' }),
    ev(11, 'ACTIVITY_TASK_STARTED', { scheduledEventId: '9', attempt: 3 }),
    ev(12, 'ACTIVITY_TASK_COMPLETED', { scheduledEventId: '9', startedEventId: '11' }),
    ...task(13),
    ev(16, 'MARKER_RECORDED', { markerName: 'core_local_activity', workflowTaskCompletedEventId: '15' }),
    ev(17, 'MARKER_RECORDED', { markerName: 'core_local_activity', workflowTaskCompletedEventId: '15' }),
    ev(18, 'SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED', { workflowTaskCompletedEventId: '15' }),
    ev(19, 'START_CHILD_WORKFLOW_EXECUTION_INITIATED', { workflowTaskCompletedEventId: '15' }),
    ev(20, 'WORKFLOW_EXECUTION_SIGNALED', { signalName: 'fromAWorkflow', externalWorkflowExecution: { workflowId: 'w' } }),
    ev(21, 'WORKFLOW_EXECUTION_SIGNALED', { signalName: 'fromAClient' }),
    ev(22, 'WORKFLOW_EXECUTION_UPDATE_ACCEPTED'),
    ...task(23),
    ev(26, 'MARKER_RECORDED', { markerName: 'core_local_activity', workflowTaskCompletedEventId: '25' }),
    ev(27, 'WORKFLOW_EXECUTION_COMPLETED', { workflowTaskCompletedEventId: '25' }),
  ];
  const counted = actionsOf(events);
  const byEvent = Object.fromEntries(counted.flatMap((a, i) => (a ? [[events[i]!.eventId, `${a.kind} ${a.n}`]] : [])));
  assert.deepEqual(byEvent, {
    '1': 'workflow started 1',
    '7': 'search attributes 1',
    '8': 'timer 1',
    '11': 'activity 3',
    '16': 'local activities 1',
    '18': 'signal 1',
    '19': 'child workflow started 1',
    '21': 'signal 1',
    '22': 'update 1',
    '26': 'local activities 1',
  });
});

/** A market run that finds epoch 7's release, reads parameters, starts its preparation, polls again and hears it close; then an unrelated signal. */
function marketRun(): RunHistory {
  const epoch7 = epochWorkflowId(M, '7');
  const events = [
    ev(1, 'WORKFLOW_EXECUTION_STARTED', { input: payloads({ market: M, state: { failedEpochs: [{ epochId: '7' }] } }) }),
    ...task(2),
    ev(5, 'ACTIVITY_TASK_SCHEDULED', { workflowTaskCompletedEventId: '4', input: payloads({ market: M, cursor: { nextBlock: 10 } }) }),
    ev(6, 'ACTIVITY_TASK_STARTED', { scheduledEventId: '5', attempt: 1 }),
    ev(7, 'ACTIVITY_TASK_COMPLETED', { scheduledEventId: '5', startedEventId: '6', result: payloads({ events: [{ kind: 'EpochReleased', epochId: '7' }] }) }),
    ...task(8),
    ev(11, 'ACTIVITY_TASK_SCHEDULED', { workflowTaskCompletedEventId: '10', input: payloads({ market: M, day: '1' }) }),
    ev(12, 'ACTIVITY_TASK_STARTED', { scheduledEventId: '11', attempt: 1 }),
    ev(13, 'ACTIVITY_TASK_COMPLETED', { scheduledEventId: '11', startedEventId: '12', result: payloads({ submissionWindowSeconds: 5 }) }),
    ...task(14),
    ev(17, 'START_CHILD_WORKFLOW_EXECUTION_INITIATED', { workflowTaskCompletedEventId: '16', workflowId: epoch7 }),
    ev(18, 'CHILD_WORKFLOW_EXECUTION_STARTED', { initiatedEventId: '17', workflowExecution: { workflowId: epoch7 } }),
    ...task(19),
    ev(22, 'ACTIVITY_TASK_SCHEDULED', { workflowTaskCompletedEventId: '21', input: payloads({ market: M, cursor: { nextBlock: 12 } }) }),
    ev(23, 'WORKFLOW_EXECUTION_SIGNALED', { signalName: 'epochClosed', input: payloads({ epochId: '7', outcome: { status: 'batched' } }), externalWorkflowExecution: { workflowId: epoch7 } }),
    ...task(24),
    ev(27, 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES', { workflowTaskCompletedEventId: '26', searchAttributes: { indexedFields: { SeqflowStatus: payload('following') } } }),
    ev(28, 'WORKFLOW_EXECUTION_SIGNALED', { signalName: 'refreshParams' }),
    ...task(29),
  ];
  return { workflowId: `market/${M}`, workflowType: 'marketWorkflow', events };
}

const preparation = (market: string, epochId: string): RunHistory => ({
  workflowId: epochWorkflowId(market, epochId),
  workflowType: 'batchPreparationWorkflow',
  events: [ev(1, 'WORKFLOW_EXECUTION_STARTED'), ...task(2), ev(5, 'TIMER_STARTED', { workflowTaskCompletedEventId: '4' })],
});

test('an epoch costs its own workflows and the market events it names or sets off; the rest of the market is background', () => {
  const key = `${M}/7`;
  const { perEpoch, background } = attributeCost([marketRun(), preparation(M, '7'), preparation(M, '8')], scopeOf([key]));
  const cost = perEpoch.get(key)!;
  // Market events 5..27 (the poll that found it, its tasks, the parameter read, the child, the next poll, the close and its command), and the preparation's 5.
  assert.deepEqual(cost.eventsByWorkflowType, { marketWorkflow: 23, batchPreparationWorkflow: 5 });
  assert.equal(cost.events, 28);
  // Two activity runs, the child, the upsert; the preparation's start and timer. The signal was sent by a workflow: counted there.
  assert.deepEqual(cost.actionsByKind, { activity: 2, 'child workflow started': 1, 'search attributes': 1, 'workflow started': 1, timer: 1 });
  assert.equal(cost.actions, 6);
  // The run's start (its state names epoch 7, but lifecycle events name nothing), its first task, the client's signal and its task. Epoch 8 is out of scope.
  assert.equal(background.events, 8);
  assert.deepEqual(background.actionsByKind, { 'workflow started': 1, signal: 1 });
});

test('events naming two epochs, or begun while two are open, are shared equally', () => {
  const [a, b] = [`${M}/1`, `${M}/2`];
  const run: RunHistory = {
    workflowId: `market/${M}`,
    workflowType: 'marketWorkflow',
    events: [
      ev(1, 'WORKFLOW_EXECUTION_STARTED'),
      ev(2, 'WORKFLOW_EXECUTION_SIGNALED', { input: payloads({ epochs: [{ epochId: '1' }, { epochId: 2 }] }) }),
      ...task(3),
      ev(6, 'TIMER_STARTED', { workflowTaskCompletedEventId: '5' }),
    ],
  };
  const { perEpoch, background } = attributeCost([run], scopeOf([a, b]));
  // The signal (1 event, 1 action) and the task it set off (3) with its timer (1 event, 1 action): halves.
  assert.deepEqual([perEpoch.get(a)!.events, perEpoch.get(b)!.events], [2.5, 2.5]);
  assert.deepEqual([perEpoch.get(a)!.actions, perEpoch.get(b)!.actions], [1, 1]);
  assert.equal(background.events, 1);
  assert.deepEqual(meanCost(perEpoch.values(), 2).eventsByWorkflowType, { marketWorkflow: 2.5 });
});

test('a run of no market: an epochId goes to the market its object or an enclosing one names, else to every market with that epoch', () => {
  const run: RunHistory = {
    workflowId: 'follower/0xprotocolstate',
    workflowType: 'followerWorkflow',
    events: [
      ev(1, 'ACTIVITY_TASK_SCHEDULED', { workflowTaskCompletedEventId: '0' }),
      ev(2, 'ACTIVITY_TASK_COMPLETED', { scheduledEventId: '1', result: payloads({ byMarket: [{ market: OTHER.toUpperCase().replace('0X', '0x'), releases: [{ epochId: '3' }] }] }) }),
      ev(3, 'ACTIVITY_TASK_SCHEDULED', { workflowTaskCompletedEventId: '0' }),
      ev(4, 'ACTIVITY_TASK_COMPLETED', { scheduledEventId: '3', result: payloads({ epochId: '3' }) }),
    ],
  };
  const { perEpoch } = attributeCost([run], scopeOf([`${M}/3`, `${OTHER}/3`]));
  assert.equal(perEpoch.get(`${OTHER}/3`)!.events, 2 + 1);
  assert.equal(perEpoch.get(`${M}/3`)!.events, 1);
});

test("a market's epochIds are its own, and what an epoch out of scope names is neither another epoch's nor background", () => {
  const other: RunHistory = { workflowId: `market/${OTHER}`, workflowType: 'marketWorkflow', events: [ev(1, 'WORKFLOW_EXECUTION_SIGNALED', { input: payloads({ epochId: '3' }) })] };
  const { perEpoch, background } = attributeCost([other, marketRun()], scopeOf([`${M}/3`]));
  assert.equal(perEpoch.get(`${M}/3`)!.events, 0);
  // The market run's events that name or follow epoch 7 (out of scope) are left out.
  assert.equal(background.events, 8);
});

test('activity in a span: events by their time, activities scheduled with their retries, local activity markers', () => {
  const run: RunHistory = {
    workflowId: `market/${M}`,
    workflowType: 'marketWorkflow',
    events: [
      ev(1, 'ACTIVITY_TASK_SCHEDULED', {}, at(1)),
      ev(2, 'ACTIVITY_TASK_SCHEDULED', {}, at(10)),
      ev(3, 'ACTIVITY_TASK_STARTED', { scheduledEventId: '2', attempt: 2 }, at(12)),
      ev(4, 'ACTIVITY_TASK_COMPLETED', { scheduledEventId: '2' }, at(13)),
      ev(5, 'MARKER_RECORDED', { markerName: 'core_local_activity', workflowTaskCompletedEventId: '4' }, at(14)),
      ev(6, 'TIMER_STARTED', {}, at(30)),
    ],
  };
  assert.deepEqual(activityInSpan([run], Date.parse(at(9)), Date.parse(at(20))), { events: 4, actions: 3, activityRuns: 3 });
  assert.equal(activityInSpan([run], Date.parse(at(10)), Date.parse(at(20))).events, 3, 'from excluded');
});

test('workflow tasks completed in a span, in time order across runs', () => {
  const run = (id: string, seconds: number[]): RunHistory => ({ workflowId: id, workflowType: 't', events: seconds.map((s, i) => ev(i + 1, 'WORKFLOW_TASK_COMPLETED', {}, at(s))) });
  assert.deepEqual(
    workflowTasksCompleted([run('a', [1, 30, 61]), run('b', [45])], Date.parse(at(2)), Date.parse(at(61))).map((ms) => (ms - Date.parse(at(0))) / 1000),
    [30, 45, 61],
  );
});

test('workflow task trouble: timeouts and failures counted, the wait runs from the first scheduling to the completion', () => {
  const moved: RunHistory = {
    workflowId: 'market',
    workflowType: 'marketWorkflow',
    // [event type after WORKFLOW_, second]: a task completed, then one timed out, its retry failed, the next completed.
    events: (
      [
        ['EXECUTION_STARTED', 0],
        ['TASK_SCHEDULED', 0],
        ['TASK_STARTED', 1],
        ['TASK_COMPLETED', 2],
        ['TASK_SCHEDULED', 10],
        ['TASK_STARTED', 11],
        ['TASK_TIMED_OUT', 21],
        ['TASK_SCHEDULED', 21],
        ['TASK_STARTED', 22],
        ['TASK_FAILED', 23],
        ['TASK_SCHEDULED', 24],
        ['TASK_STARTED', 25],
        ['TASK_COMPLETED', 40],
      ] as const
    ).map(([type, s], i) => ev(i + 1, `WORKFLOW_${type}`, {}, at(s))),
  };
  const calm: RunHistory = { workflowId: 'other', workflowType: 'marketWorkflow', events: [ev(1, 'WORKFLOW_EXECUTION_STARTED', {}, at(0)), ...task(2).map((e, i) => ({ ...e, eventTime: at(i) }))] };
  assert.deepEqual(workflowTaskTrouble([moved, calm]), { timedOut: 1, failed: 1, longestMs: 30_000, longestHistory: 13 });
  assert.deepEqual(workflowTaskTrouble([calm]), { timedOut: 0, failed: 0, longestMs: 2000, longestHistory: 4 });
});
