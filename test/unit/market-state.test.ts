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

describe('initialMarketState', () => {
  test('starts empty', () => {
    assert.deepEqual(initialMarketState(MARKET), {
      market: MARKET,
      cursor: null,
      head: null,
      lastEpochId: null,
      openEpochs: [],
      paused: false,
      stats: { epochsStarted: 0, duplicateReleases: 0, epochsBatched: 0, epochsFailed: 0, reorgs: 0, skippedLogs: 0, periodicRewardUpdates: 0, finalRewardUpdates: 0 },
    });
  });

  test('each call gives an independent state', () => {
    const a = initialMarketState(MARKET);
    const b = initialMarketState(MARKET);
    new Market(a).epochStarted('1');
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
    const returned = market.advance(followResult({ events, cursor: { nextBlock: 110, parentHash: HASH(109) }, head: 112, reorgs: 1, skippedLogs: 2 }));
    assert.deepEqual(returned, events);
    assert.deepEqual(market.cursor, { nextBlock: 110, parentHash: HASH(109) });
    assert.equal(market.state.head, 112);

    market.advance(followResult({ cursor: { nextBlock: 120, parentHash: HASH(119) }, head: 121, reorgs: 2, skippedLogs: 3 }));
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
    market.advance(followResult({ cursor: { nextBlock: 95, parentHash: HASH(94) }, head: 100 }));
    assert.equal(market.headLag(), 6);
    // Everything up to the head scanned.
    market.advance(followResult({ cursor: { nextBlock: 101, parentHash: HASH(100) }, head: 100 }));
    assert.equal(market.headLag(), 0);
    // Head behind the cursor (a node lagging after failover): never negative.
    market.advance(followResult({ cursor: { nextBlock: 150, parentHash: HASH(149) }, head: 100 }));
    assert.equal(market.headLag(), 0);
  });

  test('epochStarted: counts, opens the epoch once, notes the last epoch', () => {
    const market = new Market(initialMarketState(MARKET));
    market.epochStarted('5');
    market.epochStarted('6');
    assert.equal(market.state.stats.epochsStarted, 2);
    assert.deepEqual(market.state.openEpochs, ['5', '6']);
    assert.equal(market.state.lastEpochId, '6');
    market.epochStarted('6');
    assert.deepEqual(market.state.openEpochs, ['5', '6'], 'an open epoch is not listed twice');
  });

  test('lastEpochId compares numerically: "10" is after "9"', () => {
    const market = new Market(initialMarketState(MARKET));
    market.epochStarted('9');
    market.epochStarted('10');
    assert.equal(market.state.lastEpochId, '10');
    market.epochStarted('9');
    assert.equal(market.state.lastEpochId, '10', 'an older epoch does not move lastEpochId back');
    market.epochStarted('2');
    assert.equal(market.state.lastEpochId, '10');
  });

  test('lastEpochId is exact beyond 2^53', () => {
    const market = new Market(initialMarketState(MARKET));
    market.epochStarted('9007199254740993');
    market.epochStarted('9007199254740992');
    assert.equal(market.state.lastEpochId, '9007199254740993');
    market.epochStarted('123456789012345678901234567890');
    assert.equal(market.state.lastEpochId, '123456789012345678901234567890');
  });

  test('duplicateRelease: counts, does not reopen, but notes a later epoch', () => {
    const market = new Market(initialMarketState(MARKET));
    market.epochStarted('9');
    market.duplicateRelease('9');
    assert.equal(market.state.stats.duplicateReleases, 1);
    assert.equal(market.state.stats.epochsStarted, 1);
    assert.deepEqual(market.state.openEpochs, ['9']);
    assert.equal(market.state.lastEpochId, '9');

    market.duplicateRelease('11');
    assert.equal(market.state.stats.duplicateReleases, 2);
    assert.equal(market.state.lastEpochId, '11');
    assert.deepEqual(market.state.openEpochs, ['9']);

    market.duplicateRelease('10');
    assert.equal(market.state.lastEpochId, '11');
  });

  test('epochClosed removes the epoch from openEpochs and counts batched and failed', () => {
    const market = new Market(initialMarketState(MARKET));
    for (const id of ['1', '2', '3', '4']) market.epochStarted(id);
    market.epochClosed(batched('2'));
    assert.deepEqual(market.state.openEpochs, ['1', '3', '4']);
    market.epochClosed(failed('4'));
    assert.deepEqual(market.state.openEpochs, ['1', '3']);
    market.epochClosed(batched('1'));
    assert.deepEqual(market.state.openEpochs, ['3']);
    assert.equal(market.state.stats.epochsBatched, 2);
    assert.equal(market.state.stats.epochsFailed, 1);
    assert.equal(market.state.lastEpochId, '4', 'closing does not change lastEpochId');
  });

  test('closing an epoch that is not open leaves openEpochs as is', () => {
    const market = new Market(initialMarketState(MARKET));
    market.epochStarted('1');
    market.epochClosed(batched('99'));
    assert.deepEqual(market.state.openEpochs, ['1']);
  });

  test('the state object is the one passed in (mutated in place)', () => {
    const state = initialMarketState(MARKET);
    const market = new Market(state);
    market.epochStarted('3');
    assert.equal(market.state, state);
    assert.deepEqual(state.openEpochs, ['3']);
  });

  test('the state survives JSON.stringify/parse unchanged', () => {
    const market = new Market(initialMarketState(MARKET));
    market.startAt(10);
    market.advance(followResult({ events: [release('1', 12)], cursor: { nextBlock: 20, parentHash: HASH(19) }, head: 25, reorgs: 1, skippedLogs: 1 }));
    market.epochStarted('123456789012345678901234567890');
    market.epochStarted('2');
    market.duplicateRelease('2');
    market.epochClosed(failed('2'));
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
    const status: MarketStatus = { ...structuredClone(state), headLag: 11, params: { submissionWindowSeconds: 30 }, stopping: true, runId: 'run-1' };
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
