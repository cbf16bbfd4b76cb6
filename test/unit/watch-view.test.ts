import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CAUGHT_UP_LAG, RATE_WINDOW_MS, SpeedTracker, etaSeconds, formatDuration, formatFrame, formatMarket, formatSpeed, marketView, speedsOf, type MarketView } from '../../src/cli/watch-view.js';

const M = '0x1111111111111111111111111111111111111111';
const T0 = 1_700_000_000_000;

/** A row as describeMarket gives it for a running market (summarize's fields, and the follower). */
const runningRow = {
  market: M,
  workflowId: `market/${M}`,
  workflow: 'RUNNING',
  state: 'following',
  health: 'ok',
  problems: [],
  nextBlock: 1201,
  head: 1202,
  headLag: 2,
  day: '3',
  lastEpochId: '41',
  openEpochs: ['40', '41'],
  epochsStarted: 41,
  duplicateReleases: 0,
  epochsBatched: 39,
  epochsFailed: 1,
  epochsOrphaned: 0,
  reorgs: 0,
  skippedLogs: 0,
  follower: { activity: 'followChain', attempt: 1 },
};

const view = (overrides: Partial<MarketView> = {}): MarketView => ({ ...marketView(runningRow), ...overrides });

describe('marketView', () => {
  test('reads the fields the live view shows, typed', () => {
    assert.deepEqual(marketView(runningRow), {
      market: M,
      workflow: 'RUNNING',
      state: 'following',
      health: 'ok',
      nextBlock: 1201,
      head: 1202,
      headLag: 2,
      day: '3',
      lastEpochId: '41',
      openEpochs: ['40', '41'],
      epochsBatched: 39,
      epochsFailed: 1,
      epochsOrphaned: 0,
      problems: [],
      error: null,
    });
  });

  test('a market never started has only its workflow status; mistyped fields are null', () => {
    assert.deepEqual(marketView({ market: M, workflowId: `market/${M}`, workflow: 'NOT STARTED', nextBlock: '12', problems: [{ kind: 7 }, null, { kind: 'day-mismatch', since: 'x', detail: 'd' }] }), {
      market: M,
      workflow: 'NOT STARTED',
      state: null,
      health: null,
      nextBlock: null,
      head: null,
      headLag: null,
      day: null,
      lastEpochId: null,
      openEpochs: [],
      epochsBatched: null,
      epochsFailed: null,
      epochsOrphaned: null,
      problems: [{ kind: 'day-mismatch', since: 'x', detail: 'd' }],
      error: null,
    });
  });
});

describe('speeds from successive cursor samples', () => {
  test('blocks per second of the cursor and of the head between the first and the last sample', () => {
    assert.deepEqual(
      speedsOf([
        { atMs: T0, nextBlock: 100, head: 5000 },
        { atMs: T0 + 1000, nextBlock: 400, head: 5001 },
        { atMs: T0 + 4000, nextBlock: 1300, head: 5002 },
      ]),
      { cursorPerSecond: 300, headPerSecond: 0.5 },
    );
  });

  test('no speed from one sample, nor from samples less than 1 s apart', () => {
    assert.equal(speedsOf([]), null);
    assert.equal(speedsOf([{ atMs: T0, nextBlock: 1, head: 2 }]), null);
    assert.equal(speedsOf([{ atMs: T0, nextBlock: 1, head: 2 }, { atMs: T0 + 999, nextBlock: 50, head: 60 }]), null);
  });

  test('the tracker keeps RATE_WINDOW_MS of samples per market', () => {
    const tracker = new SpeedTracker();
    assert.equal(tracker.add(M, { atMs: T0, nextBlock: 0, head: 1000 }), null);
    // 100 blocks/s for 10 s, then 10 blocks/s: the speed is over the last 10 s (900 + 10 blocks),
    // and 10 s later only the slow samples count.
    for (let s = 1; s <= 10; s++) tracker.add(M, { atMs: T0 + s * 1000, nextBlock: s * 100, head: 1000 });
    assert.deepEqual(tracker.add(M, { atMs: T0 + 11_000, nextBlock: 1010, head: 1000 }), { cursorPerSecond: 91, headPerSecond: 0 });
    let last = null;
    for (let s = 12; s <= 21; s++) last = tracker.add(M, { atMs: T0 + s * 1000, nextBlock: 1000 + (s - 10) * 10, head: 1000 });
    assert.equal(RATE_WINDOW_MS, 10_000);
    assert.deepEqual(last, { cursorPerSecond: 10, headPerSecond: 0 });
  });

  test('markets are tracked apart; a cursor that goes back (a rewind) starts again', () => {
    const tracker = new SpeedTracker();
    const other = '0x2222222222222222222222222222222222222222';
    tracker.add(M, { atMs: T0, nextBlock: 500, head: 600 });
    tracker.add(other, { atMs: T0, nextBlock: 10, head: 600 });
    assert.deepEqual(tracker.add(other, { atMs: T0 + 2000, nextBlock: 14, head: 602 }), { cursorPerSecond: 2, headPerSecond: 1 });
    assert.equal(tracker.add(M, { atMs: T0 + 2000, nextBlock: 100, head: 602 }), null);
    assert.deepEqual(tracker.add(M, { atMs: T0 + 3000, nextBlock: 150, head: 603 }), { cursorPerSecond: 50, headPerSecond: 1 });
  });

  test('a sample without a cursor or a head (the market stopped, no follower) forgets the market', () => {
    const tracker = new SpeedTracker();
    tracker.add(M, { atMs: T0, nextBlock: 1, head: 10 });
    assert.equal(tracker.add(M, { atMs: T0 + 1000, nextBlock: null, head: 10 }), null);
    assert.equal(tracker.add(M, { atMs: T0 + 2000, nextBlock: 5, head: 12 }), null);
  });
});

describe('ETA of a catch-up', () => {
  test('the lag over the speed at which the gap closes (own speed minus the head speed)', () => {
    assert.equal(etaSeconds(10_000, { cursorPerSecond: 101, headPerSecond: 1 }), 100);
  });

  test('none while caught up (lag at most CAUGHT_UP_LAG) or without speeds', () => {
    assert.equal(etaSeconds(CAUGHT_UP_LAG, { cursorPerSecond: 50, headPerSecond: 1 }), null);
    assert.equal(etaSeconds(null, { cursorPerSecond: 50, headPerSecond: 1 }), null);
    assert.equal(etaSeconds(5000, null), null);
  });

  test('Infinity when the gap does not close', () => {
    assert.equal(etaSeconds(5000, { cursorPerSecond: 1, headPerSecond: 1 }), Infinity);
    assert.equal(etaSeconds(5000, { cursorPerSecond: 0, headPerSecond: 0.5 }), Infinity);
  });
});

describe('formatting', () => {
  test('durations', () => {
    assert.deepEqual([0, 44.6, 59, 60, 185, 3599, 3600, 7620, 86_399, 86_400, 273_600].map(formatDuration), ['0s', '45s', '59s', '1m00s', '3m05s', '59m59s', '1h00m', '2h07m', '23h59m', '1d00h', '3d04h']);
  });

  test('speeds', () => {
    assert.deepEqual([0, 1.25, 99.94, 100, 16_384.4].map(formatSpeed), ['0.0 blocks/s', '1.3 blocks/s', '99.9 blocks/s', '100 blocks/s', '16384 blocks/s']);
  });

  test('a market following the head: state, health, block / head, lag, speed; no ETA', () => {
    assert.deepEqual(formatMarket(view(), { cursorPerSecond: 0.5, headPerSecond: 0.5 }), [
      `${M}  following  ok`,
      '  block 1200 / head 1202   lag 2   0.5 blocks/s',
      '  epoch 41 (day 3)   open 2: 40, 41   batched 39   failed 1   orphaned 0',
    ]);
  });

  test('a market catching up: its ETA; one that does not gain on the head says so', () => {
    const catchingUp = view({ nextBlock: 2001, head: 12_000, headLag: 10_000 });
    assert.equal(formatMarket(catchingUp, { cursorPerSecond: 101, headPerSecond: 1 })[1], '  block 2000 / head 12000   lag 10000   101 blocks/s   ETA 1m40s');
    assert.equal(formatMarket(catchingUp, { cursorPerSecond: 1, headPerSecond: 1 })[1], '  block 2000 / head 12000   lag 10000   1.0 blocks/s   ETA - (not gaining on the head)');
    assert.equal(formatMarket(catchingUp, null)[1], '  block 2000 / head 12000   lag 10000   - blocks/s');
  });

  test('problems and a status that could not be read each get a line; many open epochs are cut', () => {
    const lines = formatMarket(
      view({
        health: 'failed',
        openEpochs: ['1', '2', '3', '4', '5', '6', '7'],
        problems: [{ kind: 'follower-stalled', since: '2026-01-01T00:00:00.000Z', detail: 'no progress for 60 s' }],
        error: 'status query failed (is a worker running?): Failed to query Workflow',
      }),
      null,
    );
    assert.deepEqual(lines.slice(2), [
      '  epoch 41 (day 3)   open 7: …, 3, 4, 5, 6, 7   batched 39   failed 1   orphaned 0',
      '  problem: follower-stalled since 2026-01-01T00:00:00.000Z: no progress for 60 s',
      '  error: status query failed (is a worker running?): Failed to query Workflow',
    ]);
  });

  test('a stopped market: no speed, no ETA; a market never started: its workflow status', () => {
    const stopped = view({ workflow: 'COMPLETED', state: 'stopped', nextBlock: 101, head: 5000, headLag: 4900 });
    assert.deepEqual(formatMarket(stopped, { cursorPerSecond: 0, headPerSecond: 0 }).slice(0, 2), [`${M}  stopped  ok`, '  block 100 / head 5000   lag 4900']);
    assert.deepEqual(formatMarket(marketView({ market: M, workflowId: `market/${M}`, workflow: 'NOT STARTED' }), null), [`${M}  not started`]);
    assert.deepEqual(formatMarket(marketView({ market: M, workflowId: `market/${M}`, workflow: 'RUNNING', state: 'waiting for a worker' }), null), [`${M}  waiting for a worker`]);
  });

  test('a frame: a title with the sample time, an optional note, then the markets apart', () => {
    const other = marketView({ market: '0x2222222222222222222222222222222222222222', workflowId: 'x', workflow: 'NOT STARTED' });
    assert.equal(
      formatFrame(new Date(T0 + 123), [{ view: view(), speeds: null }, { view: other, speeds: null }], 'cannot read the status now'),
      [
        'seqflow status --watch   2023-11-14T22:13:20Z   (Ctrl-C to quit)',
        'cannot read the status now',
        '',
        `${M}  following  ok`,
        '  block 1200 / head 1202   lag 2   - blocks/s',
        '  epoch 41 (day 3)   open 2: 40, 41   batched 39   failed 1   orphaned 0',
        '',
        '0x2222222222222222222222222222222222222222  not started',
      ].join('\n'),
    );
  });
});
