import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { EpochReleased, FollowChainResult } from '../../src/domain/types.js';
import {
  batchPreparationWorkflowId,
  batchSubmissionWorkflowId,
  marketStateOf,
  marketWorkflowId,
  type EpochClosed,
  type MarketState,
  type MarketStatus,
} from '../../src/workflows/definitions.js';
import { Market, initialMarketState } from '../../src/workflows/market-state.js';

const MARKET = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const HASH = (n: number) => '0x' + n.toString(16).padStart(64, '0');

function release(epochId: string, blockNumber: number): EpochReleased {
  return { kind: 'EpochReleased', epochId, blockNumber, blockHash: HASH(blockNumber), blockTimestamp: 1_700_000_000 + blockNumber, logIndex: 0 };
}

function followResult(overrides: Partial<FollowChainResult>): FollowChainResult {
  return { events: [], cursor: { nextBlock: 1, parentHash: null }, head: 0, reorgs: 0, skippedLogs: 0, ...overrides };
}

const batched = (epochId: string): EpochClosed => ({
  epochId,
  outcome: { status: 'batched', result: { epochId, batchCount: 2, submissionCount: 10, malformedCount: 0, day: '3' } },
});
const failed = (epochId: string): EpochClosed => ({ epochId, outcome: { status: 'failed', error: 'boom' } });
const orphaned = (epochId: string): EpochClosed => ({ epochId, outcome: { status: 'orphaned', detail: 'block 9 left the chain' } });
const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);

/** Opens and starts an epoch, as the market workflow does around a child start. */
function start(market: Market, epochId: string): void {
  market.epochStarting(epochId);
  market.epochStarted(epochId);
}

describe('initialMarketState', () => {
  test('starts empty', () => {
    assert.deepEqual(initialMarketState(MARKET), {
      market: MARKET,
      cursor: null,
      head: null,
      lastEpochId: null,
      openEpochs: [],
      paused: false,
      stats: {
        epochsStarted: 0,
        duplicateReleases: 0,
        epochsBatched: 0,
        epochsFailed: 0,
        reorgs: 0,
        skippedLogs: 0,
        periodicRewardUpdates: 0,
        finalRewardUpdates: 0,
        epochsOrphaned: 0,
        rpcAnswersRejected: 0,
        reorgDepthMax: 0,
        eventsRecovered: 0,
      },
      follower: { stalled: null, rejecting: null, redis: null },
      violation: null,
      dayMismatch: null,
      orphanedEpochs: [],
      rereleases: [],
    });
  });

  test('each call gives an independent state', () => {
    const a = initialMarketState(MARKET);
    const b = initialMarketState(MARKET);
    start(new Market(a), '1');
    assert.deepEqual(b.openEpochs, []);
    assert.equal(b.stats.epochsStarted, 0);
  });
});

describe('Market', () => {
  test('cursor before startAt throws; startAt sets it with no parent hash', () => {
    const market = new Market(initialMarketState(MARKET));
    assert.throws(() => market.cursor, /not initialised/);
    market.startAt(1000);
    assert.deepEqual(market.cursor, { nextBlock: 1000, parentHash: null });
  });

  test('advance() moves cursor and head, accumulates reorgs and skipped logs, returns the events', () => {
    const market = new Market(initialMarketState(MARKET));
    market.startAt(100);
    const events = [release('7', 101), release('8', 105)];
    const returned = market.advance(followResult({ events, cursor: { nextBlock: 110, parentHash: HASH(109) }, head: 112, reorgs: 1, skippedLogs: 2 }), NOW);
    assert.deepEqual(returned, events);
    assert.deepEqual(market.cursor, { nextBlock: 110, parentHash: HASH(109) });
    assert.equal(market.state.head, 112);

    market.advance(followResult({ cursor: { nextBlock: 120, parentHash: HASH(119) }, head: 121, reorgs: 2, skippedLogs: 3 }), NOW);
    assert.deepEqual(market.cursor, { nextBlock: 120, parentHash: HASH(119) });
    assert.equal(market.state.head, 121);
    assert.equal(market.state.stats.reorgs, 3);
    assert.equal(market.state.stats.skippedLogs, 5);
    assert.equal(market.state.stats.epochsStarted, 0, 'advance() does not start epochs itself');
  });

  test('headLag: blocks between the head and the last scanned block', () => {
    const market = new Market(initialMarketState(MARKET));
    assert.equal(market.headLag(), null, 'no head, no cursor');
    market.startAt(95);
    assert.equal(market.headLag(), null, 'no head yet');
    // Blocks up to 94 scanned, head 100: 95..100 are behind = 6 blocks.
    market.advance(followResult({ cursor: { nextBlock: 95, parentHash: HASH(94) }, head: 100 }), NOW);
    assert.equal(market.headLag(), 6);
    // Everything up to the head scanned.
    market.advance(followResult({ cursor: { nextBlock: 101, parentHash: HASH(100) }, head: 100 }), NOW);
    assert.equal(market.headLag(), 0);
    // Head behind the cursor (a node lagging after failover): never negative.
    market.advance(followResult({ cursor: { nextBlock: 150, parentHash: HASH(149) }, head: 100 }), NOW);
    assert.equal(market.headLag(), 0);
  });

  test('epochStarting opens the epoch once and says whether it was open; epochStarted counts and notes the last epoch', () => {
    const market = new Market(initialMarketState(MARKET));
    assert.equal(market.epochStarting('5'), false);
    market.epochStarted('5');
    start(market, '6');
    assert.equal(market.state.stats.epochsStarted, 2);
    assert.deepEqual(market.state.openEpochs, ['5', '6']);
    assert.equal(market.state.lastEpochId, '6');
    assert.equal(market.epochStarting('6'), true);
    assert.deepEqual(market.state.openEpochs, ['5', '6'], 'an open epoch is not listed twice');
  });

  test('a close reported while the start is in flight leaves the epoch closed (openEpochs under any order)', () => {
    const market = new Market(initialMarketState(MARKET));
    market.epochStarting('23');
    market.epochClosed(batched('23'), 0); // the child's signal, handled before the start resolved
    market.epochStarted('23');
    assert.deepEqual(market.state.openEpochs, []);
    assert.equal(market.state.stats.epochsStarted, 1);
    assert.equal(market.state.stats.epochsBatched, 1);
  });

  test('lastEpochId compares numerically: "10" is after "9"', () => {
    const market = new Market(initialMarketState(MARKET));
    start(market, '9');
    start(market, '10');
    assert.equal(market.state.lastEpochId, '10');
    start(market, '9');
    assert.equal(market.state.lastEpochId, '10', 'an older epoch does not move lastEpochId back');
    start(market, '2');
    assert.equal(market.state.lastEpochId, '10');
  });

  test('lastEpochId is exact beyond 2^53', () => {
    const market = new Market(initialMarketState(MARKET));
    start(market, '9007199254740993');
    start(market, '9007199254740992');
    assert.equal(market.state.lastEpochId, '9007199254740993');
    start(market, '123456789012345678901234567890');
    assert.equal(market.state.lastEpochId, '123456789012345678901234567890');
  });

  test('duplicateRelease: counts, does not reopen, but notes a later epoch', () => {
    const market = new Market(initialMarketState(MARKET));
    start(market, '9');
    market.duplicateRelease(release('9', 50), market.epochStarting('9'));
    assert.equal(market.state.stats.duplicateReleases, 1);
    assert.equal(market.state.stats.epochsStarted, 1);
    assert.deepEqual(market.state.openEpochs, ['9']);
    assert.equal(market.state.lastEpochId, '9');

    // An epoch whose preparation ran before (not open here): not listed as open.
    market.duplicateRelease(release('11', 51), market.epochStarting('11'));
    assert.equal(market.state.stats.duplicateReleases, 2);
    assert.equal(market.state.lastEpochId, '11');
    assert.deepEqual(market.state.openEpochs, ['9']);

    market.duplicateRelease(release('10', 52), market.epochStarting('10'));
    assert.equal(market.state.lastEpochId, '11');
  });

  test('an orphaned epoch is counted and remembered: a later release starts it again (and forgets it)', () => {
    const market = new Market(initialMarketState(MARKET));
    start(market, '7');
    assert.equal(market.epochClosed(orphaned('7'), 0), null, 'no re-release seen: nothing to start now');
    assert.equal(market.state.stats.epochsOrphaned, 1);
    assert.deepEqual(market.state.openEpochs, []);
    assert.equal(market.isOrphaned('7'), true);
    start(market, '7');
    assert.equal(market.isOrphaned('7'), false);
    assert.equal(market.state.stats.epochsBatched, 0);
  });

  test('a re-release of an open epoch is kept; if the preparation ends orphaned, that release is returned to start from', () => {
    const market = new Market(initialMarketState(MARKET));
    start(market, '7');
    const again = release('7', 60);
    market.duplicateRelease(again, market.epochStarting('7'));
    assert.deepEqual(market.state.rereleases, [again]);
    assert.deepEqual(market.epochClosed(orphaned('7'), 0), again);
    assert.deepEqual(market.state.rereleases, []);
    assert.equal(market.isOrphaned('7'), true, 'so that the start from the re-release may reuse the ID');

    // Batched after a re-release: the re-release is dropped, nothing is started again.
    start(market, '8');
    market.duplicateRelease(release('8', 61), market.epochStarting('8'));
    assert.equal(market.epochClosed(batched('8'), 0), null);
    assert.deepEqual(market.state.rereleases, []);
  });

  test('orphaned epochs and re-releases are remembered up to 64 each, most recent last', () => {
    const market = new Market(initialMarketState(MARKET));
    for (let i = 1; i <= 70; i++) {
      start(market, String(i));
      market.duplicateRelease(release(String(i), 100 + i), market.epochStarting(String(i)));
    }
    assert.equal(market.state.rereleases!.length, 64);
    assert.equal(market.state.rereleases![0]!.epochId, '7');
    for (let i = 1; i <= 70; i++) market.epochClosed(orphaned(String(i)), 0);
    assert.equal(market.state.orphanedEpochs!.length, 64);
    assert.deepEqual(market.state.orphanedEpochs!.slice(-2), ['69', '70']);
  });

  test('epochClosed removes the epoch from openEpochs and counts batched and failed', () => {
    const market = new Market(initialMarketState(MARKET));
    for (const id of ['1', '2', '3', '4']) start(market, id);
    market.epochClosed(batched('2'), 0);
    assert.deepEqual(market.state.openEpochs, ['1', '3', '4']);
    market.epochClosed(failed('4'), 0);
    assert.deepEqual(market.state.openEpochs, ['1', '3']);
    market.epochClosed(batched('1'), 0);
    assert.deepEqual(market.state.openEpochs, ['3']);
    assert.equal(market.state.stats.epochsBatched, 2);
    assert.equal(market.state.stats.epochsFailed, 1);
    assert.equal(market.state.lastEpochId, '4', 'closing does not change lastEpochId');
  });

  test('closing an epoch that is not open leaves openEpochs as is', () => {
    const market = new Market(initialMarketState(MARKET));
    start(market, '1');
    market.epochClosed(batched('99'), 0);
    assert.deepEqual(market.state.openEpochs, ['1']);
  });

  test('the state object is the one passed in (mutated in place)', () => {
    const state = initialMarketState(MARKET);
    const market = new Market(state);
    start(market, '3');
    assert.equal(market.state, state);
    assert.deepEqual(state.openEpochs, ['3']);
  });

  test('the state survives JSON.stringify/parse unchanged', () => {
    const market = new Market(initialMarketState(MARKET));
    market.startAt(10);
    market.advance(followResult({ events: [release('1', 12)], cursor: { nextBlock: 20, parentHash: HASH(19) }, head: 25, reorgs: 1, skippedLogs: 1 }), NOW);
    start(market, '123456789012345678901234567890');
    start(market, '2');
    market.duplicateRelease(release('2', 13), market.epochStarting('2'));
    market.epochClosed(failed('2'), 0);
    start(market, '3');
    market.epochClosed(orphaned('3'), 0);
    market.advance(followResult({ cursor: { nextBlock: 20, parentHash: HASH(19) }, head: 25, violation: { kind: 'deep-reorg', atBlock: 20, detail: 'x' } }), NOW);
    market.state.paused = true;
    const copy = JSON.parse(JSON.stringify(market.state)) as MarketState;
    assert.deepEqual(copy, market.state);
    // And the copy works as a state: continue-as-new hands exactly this to the next run.
    const resumed = new Market(copy);
    assert.deepEqual(resumed.cursor, { nextBlock: 20, parentHash: HASH(19) });
    assert.equal(resumed.headLag(), 6);
  });

  test('a fresh state also survives JSON (null cursor and head stay null)', () => {
    const state = initialMarketState(MARKET);
    assert.deepEqual(JSON.parse(JSON.stringify(state)), state);
  });
});

describe('Market: chain truth (counters, conditions, violations, the day from dayCounter)', () => {
  const withDay = (day: string) => {
    const market = new Market(initialMarketState(MARKET));
    market.startAt(100);
    market.startDay(day);
    return market;
  };

  test('advance() adds refused answers and recovered events, keeps the deepest reorg', () => {
    const market = withDay('1');
    market.advance(followResult({ rejectedAnswers: 3, reorgs: 1, reorgDepthMax: 45, recoveredEvents: 1 }), NOW);
    market.advance(followResult({ rejectedAnswers: 2, reorgs: 1, reorgDepthMax: 5 }), NOW);
    assert.equal(market.state.stats.rpcAnswersRejected, 5);
    assert.equal(market.state.stats.reorgs, 2);
    assert.equal(market.state.stats.reorgDepthMax, 45);
    assert.equal(market.state.stats.eventsRecovered, 1);
  });

  test('a result from before 0.3.0 (no new fields) changes no new counter or condition', () => {
    const market = withDay('1');
    market.advance(followResult({ rejectedAnswers: 1, conditions: { stalled: null, rejecting: { sinceMs: NOW, lastAtMs: NOW, count: 1, lastReason: 'x' } } }), NOW);
    market.advance(followResult({}), NOW + 1000);
    assert.equal(market.state.stats.rpcAnswersRejected, 1);
    assert.equal(market.state.follower?.rejecting?.count, 1, 'conditions are kept until a result reports them');
  });

  test('health and problems: ok; degraded with refused answers; failed when stalled or at a finality violation', () => {
    const market = withDay('1');
    assert.equal(market.health(), 'ok');
    assert.deepEqual(market.problems(), []);

    market.advance(followResult({ conditions: { stalled: null, rejecting: { sinceMs: NOW - 5000, lastAtMs: NOW - 1000, count: 2, lastReason: 'http://n1: head 5 is below block 30, seen before' } } }), NOW);
    assert.equal(market.health(), 'degraded');
    assert.deepEqual(market.problems(), [
      { kind: 'rpc-answers-rejected', since: new Date(NOW - 5000).toISOString(), detail: '2 answers refused; last: http://n1: head 5 is below block 30, seen before', count: 2 },
    ]);

    market.advance(followResult({ conditions: { stalled: { sinceMs: NOW - 90_000, lastError: 'RpcTransportError: ECONNREFUSED' }, rejecting: null } }), NOW);
    assert.equal(market.health(), 'failed');
    assert.deepEqual(market.problems(), [{ kind: 'follower-stalled', since: new Date(NOW - 90_000).toISOString(), detail: 'no progress; last error: RpcTransportError: ECONNREFUSED' }]);

    market.advance(followResult({ conditions: { stalled: null, rejecting: null }, violation: { kind: 'deep-reorg', atBlock: 500, detail: 'no block from 436 to 499 is the one recorded' } }), NOW + 1);
    assert.equal(market.health(), 'failed');
    assert.deepEqual(market.problems(), [{ kind: 'finality-violation', since: new Date(NOW + 1).toISOString(), detail: 'deep-reorg at block 500: no block from 436 to 499 is the one recorded' }]);
    assert.equal(market.halted(), true);
  });

  test('followerStopped: paused or halted, the follower conditions are cleared (they said nothing about a follower that does not run)', () => {
    const market = withDay('1');
    market.advance(followResult({ conditions: { stalled: { sinceMs: NOW, lastError: 'x' }, rejecting: { sinceMs: NOW, lastAtMs: NOW, count: 1, lastReason: 'y' }, redis: { sinceMs: NOW, lastError: 'z' } } }), NOW);
    assert.equal(market.health(), 'failed');
    market.followerStopped();
    assert.equal(market.health(), 'ok');
    assert.deepEqual(market.state.follower, { stalled: null, rejecting: null, redis: null });
  });

  test('resume clears a finality violation and a pause; rewind moves the cursor back and clears the violation', () => {
    const market = withDay('1');
    market.advance(followResult({ cursor: { nextBlock: 500, parentHash: HASH(499) }, violation: { kind: 'broken-chain', atBlock: 500, detail: 'x' } }), NOW);
    market.state.paused = true;
    market.resume();
    assert.equal(market.halted(), false);
    assert.equal(market.state.violation, null);

    market.advance(followResult({ cursor: { nextBlock: 500, parentHash: HASH(499), rescan: { nextBlock: 1, toBlock: 9, dueAtMs: 0 } }, violation: { kind: 'deep-reorg', atBlock: 500, detail: 'x' } }), NOW);
    market.assertCanRewind(400);
    market.rewind(400);
    assert.deepEqual(market.cursor, { nextBlock: 400, parentHash: null, rescan: null, forget: { upTo: 499 } }, 'the follower forgets what it recorded from 400 up to the old cursor');
    assert.equal(market.halted(), false);
  });

  test('assertCanRewind: a block number from 0 to the cursor', () => {
    const market = withDay('1');
    market.advance(followResult({ cursor: { nextBlock: 500, parentHash: HASH(499) } }), NOW);
    assert.doesNotThrow(() => market.assertCanRewind(0));
    assert.doesNotThrow(() => market.assertCanRewind(500));
    for (const bad of [501, -1, 1.5, '400', undefined, Number.MAX_SAFE_INTEGER + 1]) {
      assert.throws(() => market.assertCanRewind(bad), /toBlock must be a block number from 0 to the cursor 500/, JSON.stringify(bad));
    }
    assert.throws(() => new Market(initialMarketState(MARKET)).assertCanRewind(1), /no cursor/);
  });

  test('a raised dayCounter is a day start at the scanned block, like a DayStartedEvent', () => {
    const market = withDay('3');
    const events = market.advance(followResult({ cursor: { nextBlock: 201, parentHash: HASH(200) }, dayCounter: { day: '5', blockNumber: 200 } }), NOW);
    assert.deepEqual(events, [{ kind: 'DayStarted', dayId: '5', blockNumber: 200, logIndex: -1, source: 'dayCounter' }]);
    assert.equal(market.state.dayMismatch, null);
  });

  test('dayCounter equal to the day after the returned events adds nothing', () => {
    const market = withDay('3');
    const dayEvent = { kind: 'DayStarted' as const, dayId: '4', blockNumber: 150, blockHash: HASH(150), blockTimestamp: 1, logIndex: 0 };
    const events = market.advance(followResult({ events: [dayEvent], dayCounter: { day: '4', blockNumber: 200 } }), NOW);
    assert.deepEqual(events, [dayEvent]);
    assert.equal(market.health(), 'ok');
  });

  test('a lowered dayCounter is a day-mismatch problem; the day stays; it clears when dayCounter agrees again', () => {
    const market = withDay('5');
    assert.equal(market.followerDay(), '5');
    assert.deepEqual(market.advance(followResult({ dayCounter: { day: '3', blockNumber: 300 } }), NOW), []);
    assert.equal(market.days!.day, '5');
    assert.equal(market.health(), 'degraded');
    assert.deepEqual(market.problems(), [{ kind: 'day-mismatch', since: new Date(NOW).toISOString(), detail: "dayCounter is 3 at block 300, below the market's day 5" }]);
    // The follower now watches for dayCounter to move away from 3.
    assert.equal(market.followerDay(), '3');
    market.advance(followResult({ dayCounter: { day: '4', blockNumber: 310 } }), NOW + 5000);
    assert.equal(market.problems()[0]!.since, new Date(NOW).toISOString(), 'still the same problem');
    assert.equal(market.followerDay(), '4');
    assert.deepEqual(market.advance(followResult({ dayCounter: { day: '5', blockNumber: 320 } }), NOW + 9000), []);
    assert.equal(market.state.dayMismatch, null);
    assert.equal(market.health(), 'ok');
    assert.equal(market.followerDay(), '5');
  });
});

describe('Market: Redis (outage, data loss)', () => {
  const SEEN = NOW - 60_000;

  function marketWithMarker(): Market {
    const market = new Market(initialMarketState(MARKET));
    market.startAt(100);
    assert.deepEqual(market.redisMarker(() => 'marker-1'), { id: 'marker-1', seenAtMs: null });
    assert.deepEqual(market.redisMarker(() => 'marker-2'), { id: 'marker-1', seenAtMs: null }, 'made once');
    market.advance(followResult({ redisMarkerSeenAtMs: SEEN }), NOW);
    assert.equal(market.state.redisMarker?.seenAtMs, SEEN);
    return market;
  }

  test('an outage is a redis-unavailable problem and the market fails while it lasts', () => {
    const market = new Market(initialMarketState(MARKET));
    market.advance(followResult({ conditions: { stalled: null, rejecting: null, redis: { sinceMs: NOW, lastError: 'connect ECONNREFUSED 127.0.0.1:6379' } } }), NOW);
    assert.deepEqual(market.problems(), [{ kind: 'redis-unavailable', since: new Date(NOW).toISOString(), detail: 'the worker cannot reach Redis: connect ECONNREFUSED 127.0.0.1:6379' }]);
    assert.equal(market.health(), 'failed');
    market.advance(followResult({ conditions: { stalled: null, rejecting: null, redis: null } }), NOW + 5000);
    assert.deepEqual(market.problems(), []);
    assert.equal(market.health(), 'ok');
  });

  test('a data loss names the open epochs and those closed after the marker was last seen; earlier closes are forgotten', () => {
    const market = marketWithMarker();
    for (const id of ['10', '11', '12', '13']) start(market, id);
    market.epochClosed(batched('10'), SEEN - 1000); // read Redis before the marker was last seen
    market.epochClosed(batched('11'), SEEN + 1000);
    market.epochClosed(batched('12'), SEEN + 2000);
    market.advance(followResult({ redisDataLost: { lastSeenMs: SEEN, detectedAtMs: NOW } }), NOW);
    assert.deepEqual(market.state.redisDataLost, { sinceMs: NOW, lastSeenMs: SEEN, epochs: ['11', '12', '13'] });
    const [problem, ...others] = market.problems();
    assert.deepEqual(others, []);
    assert.equal(problem!.kind, 'redis-data-lost');
    assert.equal(problem!.since, new Date(NOW).toISOString());
    assert.match(problem!.detail, new RegExp(`between ${new Date(SEEN).toISOString()} and ${new Date(NOW).toISOString()}`));
    assert.match(problem!.detail, /epochs 11, 12, 13 may have been counted and batched without some submissions; resume clears this/);
    assert.equal(market.health(), 'degraded', 'the market goes on');
    assert.equal(market.state.redisMarker?.seenAtMs, NOW, 'the follower wrote the marker again');
    assert.deepEqual(market.state.recentlyClosed, [], 'closes before the detection are named, not kept');
  });

  test('a second loss before resume adds its epochs to the first; resume clears the problem', () => {
    const market = marketWithMarker();
    start(market, '20');
    market.advance(followResult({ redisDataLost: { lastSeenMs: SEEN, detectedAtMs: NOW } }), NOW);
    market.epochClosed(batched('20'), NOW + 1000);
    start(market, '21');
    market.advance(followResult({ redisDataLost: { lastSeenMs: NOW + 500, detectedAtMs: NOW + 9000 } }), NOW + 9000);
    assert.deepEqual(market.state.redisDataLost, { sinceMs: NOW, lastSeenMs: SEEN, epochs: ['20', '21'] });
    market.resume();
    assert.deepEqual(market.problems(), []);
  });

  test('closes are remembered only while a marker is kept, and at most 256', () => {
    const none = new Market(initialMarketState(MARKET));
    start(none, '1');
    none.epochClosed(batched('1'), NOW);
    assert.equal(none.state.recentlyClosed, undefined, 'runs from before 0.4.0 keep no list before their first poll');
    const market = marketWithMarker();
    for (let i = 1; i <= 300; i++) market.epochClosed(batched(String(i)), SEEN + i);
    assert.equal(market.state.recentlyClosed?.length, 256);
    assert.equal(market.state.recentlyClosed?.[0]?.epochId, '45');
    market.advance(followResult({ redisMarkerSeenAtMs: SEEN + 290 }), NOW);
    assert.deepEqual(market.state.recentlyClosed?.map((c) => c.epochId), ['290', '291', '292', '293', '294', '295', '296', '297', '298', '299', '300']);
  });
});

describe('marketStateOf', () => {
  test('strips the status-only fields and keeps the rest', () => {
    const state: MarketState = {
      market: MARKET,
      cursor: { nextBlock: 500, parentHash: HASH(499) },
      head: 510,
      lastEpochId: '77',
      openEpochs: ['76', '77'],
      paused: true,
      stats: { epochsStarted: 10, duplicateReleases: 1, epochsBatched: 7, epochsFailed: 1, reorgs: 2, skippedLogs: 3 },
    };
    const status: MarketStatus = { ...structuredClone(state), headLag: 11, params: { submissionWindowSeconds: 30 }, stopping: true, runId: 'run-1', health: 'ok', problems: [] };
    const extracted = marketStateOf(status);
    assert.deepEqual(extracted, state);
    assert.deepEqual(Object.keys(extracted).sort(), ['cursor', 'head', 'lastEpochId', 'market', 'openEpochs', 'paused', 'stats']);
  });
});

describe('workflow IDs', () => {
  test('market workflow', () => {
    assert.equal(marketWorkflowId(MARKET), 'market/0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed');
  });

  test('batch preparation of an epoch', () => {
    assert.equal(batchPreparationWorkflowId(MARKET, '42'), 'market/0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed/epoch/42');
  });

  test('batch submission of an epoch', () => {
    assert.equal(batchSubmissionWorkflowId(MARKET, '42'), 'market/0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed/epoch/42/submit');
  });

  test('distinct epochs and markets give distinct IDs', () => {
    const other = '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359';
    const ids = [
      marketWorkflowId(MARKET),
      marketWorkflowId(other),
      batchPreparationWorkflowId(MARKET, '1'),
      batchPreparationWorkflowId(MARKET, '10'),
      batchPreparationWorkflowId(other, '1'),
      batchSubmissionWorkflowId(MARKET, '1'),
    ];
    assert.equal(new Set(ids).size, ids.length);
  });
});
