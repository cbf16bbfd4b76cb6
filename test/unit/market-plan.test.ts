/**
 * The market's day logic (Market.startDay, dayAfter, plan, finalDueAtMs, rewardUpdatesStarted)
 * with hand-built events. Settings: 4 epochs in a 6 s day (DAY_SIZE 60000 = seconds × 10⁴, so
 * 1500 ms an epoch), periodic updates every 3rd epoch, the previous day's final update after
 * 2 buffer epochs, i.e. on the 3rd epoch of the new day or 4500 ms after the day change.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DayStarted, EpochReleased, MarketEvent, MarketParams, SnapshotBatchSubmitted } from '../../src/domain/types.js';
import type { MarketState } from '../../src/workflows/definitions.js';
import { Market, initialMarketState, type MarketPlan } from '../../src/workflows/market-state.js';

const MARKET = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const HASH = (n: number) => '0x' + n.toString(16).padStart(64, '0');

const PARAMS: MarketParams = {
  submissionWindowSeconds: 2,
  daySize: 60000,
  epochsInADay: 4,
  dailySnapshotQuota: '2',
  rewards: { epochInterval: 3, pastDaysBuffer: 3, dayTransitionBufferEpochs: 2 },
};
/** Params as older histories recorded them: no reward settings. */
const OLD_PARAMS: MarketParams = { submissionWindowSeconds: 2 };
/** (dayTransitionBufferEpochs + 1) epochs of 60000 / 10 / 4 = 1500 ms. */
const FINAL_DELAY_MS = 4500;

let block = 100;
function epoch(epochId: string): EpochReleased {
  block++;
  return { kind: 'EpochReleased', epochId, blockNumber: block, blockHash: HASH(block), blockTimestamp: 1_700_000_000 + block, logIndex: 0 };
}
function dayStarted(dayId: string): DayStarted {
  block++;
  return { kind: 'DayStarted', dayId, blockNumber: block, blockTimestamp: 1_700_000_000 + block, logIndex: 1 };
}
function batchSubmitted(epochId: string, batchCid: string): SnapshotBatchSubmitted {
  block++;
  return { kind: 'SnapshotBatchSubmitted', epochId, batchCid, blockNumber: block, logIndex: 2 };
}

const EMPTY: MarketPlan = { epochs: [], finalDays: [], periodic: [], attestor: [] };

function marketAt(day: string): Market {
  const market = new Market(initialMarketState(MARKET));
  market.startAt(1);
  market.startDay(day);
  return market;
}

/**
 * What the workflow does with a plan: start each epoch's batch preparation under its business
 * ID (the server refuses a second start: a duplicate release), then count the reward updates.
 */
function carryOut(market: Market, plan: MarketPlan, started: Set<string>): void {
  for (const { event } of plan.epochs) {
    const wasOpen = market.epochStarting(event.epochId);
    if (started.has(event.epochId)) market.duplicateRelease(event, wasOpen);
    else {
      started.add(event.epochId);
      market.epochStarted(event.epochId);
    }
  }
  market.rewardUpdatesStarted(plan);
}

/** A market at `day` driven like the workflow drives it. */
function driven(day: string, params: MarketParams = PARAMS) {
  const market = marketAt(day);
  const started = new Set<string>();
  return {
    market,
    step(events: MarketEvent[], nowMs: number): MarketPlan {
      const plan = market.plan(events, params, nowMs);
      carryOut(market, plan, started);
      return plan;
    },
  };
}

describe('startDay', () => {
  test('the day found at start has no start time and no pending final update', () => {
    const market = marketAt('5');
    assert.deepEqual(market.days, { day: '5', dayStartedAtMs: null, epochsInDay: 0, finalPending: null });
    assert.equal(market.finalDueAtMs(PARAMS), null);
  });

  test('plan and dayAfter need the day', () => {
    const market = new Market(initialMarketState(MARKET));
    assert.equal(market.days, undefined);
    assert.throws(() => market.plan([], PARAMS, 0), /day not initialised/);
    assert.throws(() => market.dayAfter([]), /day not initialised/);
  });
});

describe('dayAfter', () => {
  test('the latest day of the DayStarted events, numerically; without one, the current day', () => {
    const market = marketAt('9');
    assert.equal(market.dayAfter([]), '9');
    assert.equal(market.dayAfter([epoch('1'), batchSubmitted('1', 'cid')]), '9');
    assert.equal(market.dayAfter([dayStarted('10')]), '10', '"10" is after "9"');
    assert.equal(market.dayAfter([dayStarted('11'), dayStarted('13'), dayStarted('12')]), '13');
    assert.equal(market.dayAfter([dayStarted('8'), dayStarted('9')]), '9', 'older days are ignored');
  });

  test('does not change the state', () => {
    const market = marketAt('5');
    market.dayAfter([dayStarted('6'), epoch('20')]);
    assert.deepEqual(market.days, { day: '5', dayStartedAtMs: null, epochsInDay: 0, finalPending: null });
  });
});

describe('plan: the day of each epoch', () => {
  test('epochs get the day they were released in: a DayStarted in the middle switches later epochs only', () => {
    const market = marketAt('5');
    const e10 = epoch('10');
    const e11 = epoch('11');
    const e12 = epoch('12');
    const e13 = epoch('13');
    const plan = market.plan([e10, e11, dayStarted('6'), e12, e13], PARAMS, 1000);
    assert.deepEqual(plan, {
      epochs: [
        { event: e10, day: '5' },
        { event: e11, day: '5' },
        { event: e12, day: '6' },
        { event: e13, day: '6' },
      ],
      finalDays: [],
      periodic: [{ epochId: '12', day: '6', skipPreviousDay: true }],
      attestor: [],
    });
    assert.deepEqual(market.days, { day: '6', dayStartedAtMs: 1000, epochsInDay: 2, finalPending: '5' });
  });

  test('a DayStarted after the last epoch leaves every epoch of the result in the old day', () => {
    const market = marketAt('5');
    const e7 = epoch('7');
    const plan = market.plan([e7, dayStarted('6')], PARAMS, 1000);
    assert.deepEqual(plan.epochs, [{ event: e7, day: '5' }]);
    assert.deepEqual(market.days, { day: '6', dayStartedAtMs: 1000, epochsInDay: 0, finalPending: '5' });
  });
});

describe('plan: the previous day\'s final update', () => {
  test('planned exactly when the 3rd (buffer + 1) epoch of the new day arrives, once', () => {
    const { market, step } = driven('5');
    assert.deepEqual(step([dayStarted('6')], 1000), EMPTY);
    const finals: string[][] = [];
    const inDay: number[] = [];
    for (const [i, id] of ['20', '22', '23', '25', '26'].entries()) {
      finals.push(step([epoch(id)], 1100 + i * 100).finalDays);
      inDay.push(market.days!.epochsInDay);
    }
    assert.deepEqual(finals, [[], [], ['5'], [], []]);
    assert.deepEqual(inDay, [1, 2, 3, 4, 5]);
    assert.equal(market.days!.finalPending, null);
    assert.equal(market.finalDueAtMs(PARAMS), null, 'nothing pending, nothing due by time');
    assert.equal(market.state.stats.finalRewardUpdates, 1);
  });

  test('all in one result: the final is planned once, at the 3rd epoch', () => {
    const market = marketAt('5');
    const plan = market.plan([dayStarted('6'), epoch('20'), epoch('22'), epoch('23'), epoch('25')], PARAMS, 1000);
    assert.deepEqual(plan.finalDays, ['5']);
    assert.deepEqual(market.days, { day: '6', dayStartedAtMs: 1000, epochsInDay: 4, finalPending: null });
  });

  test('epochs of the day found at start plan no final update (nothing is pending)', () => {
    const { market, step } = driven('5');
    for (let id = 20; id < 28; id++) assert.deepEqual(step([epoch(String(id))], 1000 + id).finalDays, []);
    assert.equal(market.days!.epochsInDay, 8);
    assert.equal(market.state.stats.finalRewardUpdates, 0);
  });

  test('two DayStarted in a row: the older pending day is due at once', () => {
    const market = marketAt('5');
    const plan = market.plan([dayStarted('6'), dayStarted('7')], PARAMS, 2000);
    assert.deepEqual(plan, { ...EMPTY, finalDays: ['5'] });
    assert.deepEqual(market.days, { day: '7', dayStartedAtMs: 2000, epochsInDay: 0, finalPending: '6' });
  });

  test('two DayStarted in a row across results, with an epoch between: the older day is due at the second', () => {
    const { market, step } = driven('5');
    assert.deepEqual(step([dayStarted('6'), epoch('20')], 1000).finalDays, []);
    assert.deepEqual(step([dayStarted('7')], 2000).finalDays, ['5']);
    assert.deepEqual(market.days, { day: '7', dayStartedAtMs: 2000, epochsInDay: 0, finalPending: '6' });
    // Day 6's own final follows the usual rule in day 7.
    assert.deepEqual(step([epoch('21'), epoch('22')], 2100).finalDays, []);
    assert.deepEqual(step([epoch('23')], 2200).finalDays, ['6']);
    assert.equal(market.state.stats.finalRewardUpdates, 2);
  });

  test('a DayStarted for a day not after the current one is ignored', () => {
    const market = marketAt('9');
    assert.deepEqual(market.plan([dayStarted('9'), dayStarted('8'), dayStarted('1')], PARAMS, 1000), EMPTY);
    assert.deepEqual(market.days, { day: '9', dayStartedAtMs: null, epochsInDay: 0, finalPending: null });

    // "10" is after "9" numerically; seeing it again later (a rescan) changes nothing.
    market.plan([dayStarted('10'), epoch('40')], PARAMS, 2000);
    assert.deepEqual(market.days, { day: '10', dayStartedAtMs: 2000, epochsInDay: 1, finalPending: '9' });
    const again = market.plan([dayStarted('10'), dayStarted('9')], PARAMS, 3000);
    assert.deepEqual(again, EMPTY);
    assert.deepEqual(market.days, { day: '10', dayStartedAtMs: 2000, epochsInDay: 1, finalPending: '9' });
  });
});

describe('plan: periodic updates', () => {
  test('at epochId % 3 == 0, in the current day; skipPreviousDay while the previous day\'s final is pending, false after', () => {
    const { market, step } = driven('5');
    const periodic: MarketPlan['periodic'] = [];
    // Day 5 (found at start): 18 is an interval epoch, nothing is pending.
    periodic.push(...step([epoch('17'), epoch('18')], 1000).periodic);
    // Day 6: 20 (1st), 21 (2nd, interval, final of day 5 pending), 22 (3rd: the final), 23, 24 (interval).
    periodic.push(...step([dayStarted('6'), epoch('20')], 1100).periodic);
    periodic.push(...step([epoch('21')], 1200).periodic);
    const third = step([epoch('22')], 1300);
    assert.deepEqual(third, { epochs: third.epochs, finalDays: ['5'], periodic: [], attestor: [] });
    periodic.push(...step([epoch('23'), epoch('24')], 1400).periodic);
    // Day 7: 26 (1st), 27 (2nd, interval, final of day 6 pending).
    periodic.push(...step([dayStarted('7'), epoch('26'), epoch('27')], 1500).periodic);
    assert.deepEqual(periodic, [
      { epochId: '18', day: '5', skipPreviousDay: false },
      { epochId: '21', day: '6', skipPreviousDay: true },
      { epochId: '24', day: '6', skipPreviousDay: false },
      { epochId: '27', day: '7', skipPreviousDay: true },
    ]);
    assert.equal(market.state.stats.periodicRewardUpdates, 4);
  });

  test('after the final went out by time, the next interval epoch skips nothing', () => {
    const { step } = driven('5');
    step([dayStarted('6')], 10_000);
    assert.deepEqual(step([], 14_500).finalDays, ['5']);
    assert.deepEqual(step([epoch('30')], 15_000).periodic, [{ epochId: '30', day: '6', skipPreviousDay: false }]);
  });

  test('an interval epoch before the final is planned skips the previous day', () => {
    const { step } = driven('5');
    const plan = step([dayStarted('6'), epoch('29'), epoch('30'), epoch('31')], 1000);
    assert.deepEqual(plan.periodic, [{ epochId: '30', day: '6', skipPreviousDay: true }]);
    assert.deepEqual(plan.finalDays, ['5']);
  });

  test('the interval test is exact on epoch ids beyond 2^53', () => {
    const market = marketAt('5');
    // 2^53 + 1 = 9007199254740993 = 3 × 3002399751580331; as a JS number it would read ...992 (not a multiple of 3).
    const plan = market.plan([epoch('9007199254740993'), epoch('9007199254740994')], PARAMS, 1000);
    assert.deepEqual(plan.periodic, [{ epochId: '9007199254740993', day: '5', skipPreviousDay: false }]);
  });
});

describe('plan: epochs found by the re-scan', () => {
  test('a recovered release is batched in the day at its block, and an interval epoch gets its periodic update, without advancing the day', () => {
    const { market, step } = driven('5');
    step([epoch('4'), epoch('5')], 1000);
    assert.equal(market.days!.epochsInDay, 2);
    // Epoch 3 (an interval epoch: 3 % 3 == 0) was missed by the first answer and found later, released on day 4.
    const recovered: EpochReleased = { ...epoch('3'), recovered: { day: '4' } };
    const plan = step([recovered], 2000);
    assert.deepEqual(plan.epochs, [{ event: recovered, day: '4' }]);
    assert.deepEqual(plan.periodic, [{ epochId: '3', day: '4', skipPreviousDay: false }]);
    assert.equal(market.days!.epochsInDay, 2, 'an old epoch does not count in the current day');
    assert.equal(market.state.lastEpochId, '5');
  });

  test('without the day at its block (a node without that state), the market\'s day', () => {
    const { step } = driven('5');
    step([epoch('7')], 1000);
    const recovered: EpochReleased = { ...epoch('6'), recovered: { day: null } };
    const plan = step([recovered], 2000);
    assert.deepEqual(plan.epochs, [{ event: recovered, day: '5' }]);
    assert.deepEqual(plan.periodic, [{ epochId: '6', day: '5', skipPreviousDay: false }]);
  });
});

describe('plan: repeated epochs', () => {
  test('a rescanned or re-released epoch is planned again for batch preparation but advances nothing', () => {
    const { market, step } = driven('5');
    const e20 = epoch('20');
    const e21 = epoch('21');
    assert.deepEqual(step([dayStarted('6'), e20, e21], 1000).periodic, [{ epochId: '21', day: '6', skipPreviousDay: true }]);
    assert.equal(market.days!.epochsInDay, 2);

    // A rescan brings 20 and 21 again, and 21 is also re-released in a later block.
    const e21again = epoch('21');
    const plan = step([e20, e21, e21again], 1100);
    assert.deepEqual(plan, {
      epochs: [
        { event: e20, day: '6' },
        { event: e21, day: '6' },
        { event: e21again, day: '6' },
      ],
      finalDays: [],
      periodic: [],
      attestor: [],
    });
    assert.deepEqual(market.days, { day: '6', dayStartedAtMs: 1000, epochsInDay: 2, finalPending: '5' });
    assert.equal(market.state.stats.duplicateReleases, 3);
    assert.equal(market.state.stats.periodicRewardUpdates, 1);

    // The next new epoch is the 3rd of the day.
    assert.deepEqual(step([epoch('22')], 1200).finalDays, ['5']);
  });

  test('a duplicate inside one result counts once', () => {
    const market = marketAt('5');
    const plan = market.plan([dayStarted('6'), epoch('30'), epoch('30'), epoch('31'), epoch('30')], PARAMS, 1000);
    assert.equal(plan.epochs.length, 4);
    assert.deepEqual(plan.periodic, [{ epochId: '30', day: '6', skipPreviousDay: true }]);
    assert.deepEqual(plan.finalDays, []);
    assert.equal(market.days!.epochsInDay, 2);
  });

  test('epoch ids compare numerically: 10 is new after 9', () => {
    const { market, step } = driven('5');
    step([dayStarted('6'), epoch('8'), epoch('9')], 1000);
    assert.deepEqual(step([epoch('10')], 1100).finalDays, ['5']);
    assert.equal(market.days!.epochsInDay, 3);
  });
});

describe('plan: the final update by time', () => {
  test('with no events: due at dayStartedAtMs + 3 epochs of 1500 ms, planned once', () => {
    const { market, step } = driven('5');
    step([dayStarted('6')], 10_000);
    assert.equal(market.finalDueAtMs(PARAMS), 10_000 + FINAL_DELAY_MS);
    assert.equal(market.finalDueAtMs(PARAMS), 14_500);
    assert.deepEqual(step([], 14_499), EMPTY);
    assert.equal(market.days!.finalPending, '5');
    assert.deepEqual(step([], 14_500), { ...EMPTY, finalDays: ['5'] });
    assert.equal(market.finalDueAtMs(PARAMS), null);
    assert.deepEqual(step([], 20_000), EMPTY);
    assert.deepEqual(step([epoch('20'), epoch('21'), epoch('22'), epoch('23')], 21_000).finalDays, [], 'the buffer epochs do not plan it again');
    assert.equal(market.state.stats.finalRewardUpdates, 1);
  });

  test('epochs before the time do not move it; the final goes out late after the time even with epochs in the result', () => {
    const { market, step } = driven('5');
    step([dayStarted('6'), epoch('20')], 10_000);
    step([epoch('22')], 11_000);
    assert.equal(market.finalDueAtMs(PARAMS), 14_500);
    const plan = step([epoch('23')], 20_000); // the 3rd epoch, well after the time: once
    assert.deepEqual(plan.finalDays, ['5']);
  });

  test('time has passed: an epoch result plans the final even before the buffer epochs', () => {
    const { step } = driven('5');
    step([dayStarted('6')], 10_000);
    const plan = step([epoch('20')], 15_000);
    assert.deepEqual(plan.finalDays, ['5']);
  });

  test('the time runs from when the day change was seen, not from the block time', () => {
    const { market, step } = driven('5');
    step([dayStarted('6')], 123_456);
    assert.equal(market.days!.dayStartedAtMs, 123_456);
    assert.equal(market.finalDueAtMs(PARAMS), 127_956);
  });

  test('no time-based due date without daySize or epochsInADay in the params', () => {
    const market = marketAt('5');
    market.plan([dayStarted('6')], PARAMS, 1000);
    assert.equal(market.finalDueAtMs({ ...PARAMS, daySize: undefined }), null);
    assert.equal(market.finalDueAtMs({ ...PARAMS, epochsInADay: undefined }), null);
    assert.equal(market.finalDueAtMs({ ...PARAMS, epochsInADay: 0 }), null);
    assert.deepEqual(market.plan([], { ...PARAMS, daySize: undefined }, 1_000_000).finalDays, []);
  });
});

describe('plan: params without rewards (older histories)', () => {
  test('days are tracked, but no periodic or final update is ever planned', () => {
    const { market, step } = driven('5', OLD_PARAMS);
    const plans = [
      step([dayStarted('6'), ...['18', '19', '20', '21', '22', '23', '24'].map(epoch)], 1000),
      step([], 1_000_000),
    ];
    assert.deepEqual(plans.flatMap((p) => p.periodic), []);
    assert.deepEqual(plans.flatMap((p) => p.finalDays), []);
    assert.deepEqual(
      plans[0]!.epochs.map((e) => e.day),
      ['6', '6', '6', '6', '6', '6', '6'],
    );
    assert.equal(market.finalDueAtMs(OLD_PARAMS), null);
    assert.equal(market.state.stats.periodicRewardUpdates, 0);
    assert.equal(market.state.stats.finalRewardUpdates, 0);
  });

  // src/workflows/market-state.ts plan(): the DayStarted branch calls finalDue() whether or not
  // params.rewards is set, so [DayStarted 6, 7, 8] from day 5 plans finalDays ['5', '6'].
  test('not even when two days start in a row', () => {
    const market = marketAt('5');
    const plan = market.plan([dayStarted('6'), dayStarted('7'), dayStarted('8')], OLD_PARAMS, 1000);
    assert.deepEqual(plan.finalDays, []);
  });
});

describe('plan: attestor pushes', () => {
  test('SnapshotBatchSubmitted goes to attestor, in chain order, and touches neither epochs nor days', () => {
    const market = marketAt('5');
    const e11 = epoch('11');
    const plan = market.plan([batchSubmitted('10', 'bafyA'), e11, batchSubmitted('10', 'bafyB'), batchSubmitted('11', 'bafyA')], PARAMS, 1000);
    assert.deepEqual(plan, {
      epochs: [{ event: e11, day: '5' }],
      finalDays: [],
      periodic: [],
      attestor: [
        { epochId: '10', batchCid: 'bafyA' },
        { epochId: '10', batchCid: 'bafyB' },
        { epochId: '11', batchCid: 'bafyA' },
      ],
    });
    assert.equal(market.days!.epochsInDay, 1);
  });

  test('also planned with params without rewards', () => {
    const market = marketAt('5');
    assert.deepEqual(market.plan([batchSubmitted('3', 'c')], OLD_PARAMS, 0).attestor, [{ epochId: '3', batchCid: 'c' }]);
  });
});

describe('rewardUpdatesStarted', () => {
  test('adds the plan\'s periodic and final updates to the stats', () => {
    const market = marketAt('5');
    market.rewardUpdatesStarted({ ...EMPTY, periodic: [{ epochId: '3', day: '5', skipPreviousDay: false }], finalDays: ['4'] });
    market.rewardUpdatesStarted({
      ...EMPTY,
      periodic: [
        { epochId: '6', day: '5', skipPreviousDay: false },
        { epochId: '9', day: '5', skipPreviousDay: false },
      ],
      finalDays: ['3', '4'],
    });
    market.rewardUpdatesStarted(EMPTY);
    assert.equal(market.state.stats.periodicRewardUpdates, 3);
    assert.equal(market.state.stats.finalRewardUpdates, 3);
  });

  test('a state from before reward stats starts counting from 0', () => {
    const state = initialMarketState(MARKET);
    delete state.stats.periodicRewardUpdates;
    delete state.stats.finalRewardUpdates;
    const market = new Market(state);
    market.rewardUpdatesStarted({ ...EMPTY, periodic: [{ epochId: '3', day: '5', skipPreviousDay: false }] });
    assert.equal(state.stats.periodicRewardUpdates, 1);
    assert.equal(state.stats.finalRewardUpdates, 0);
  });
});

describe('JSON safety', () => {
  test('the state survives a JSON round trip, and a market built from it plans the same', () => {
    const { market, step } = driven('5');
    step([epoch('17'), epoch('18'), dayStarted('6'), epoch('19')], 1000);
    const copy = JSON.parse(JSON.stringify(market.state)) as MarketState;
    assert.deepEqual(copy, market.state);
    assert.deepEqual(copy.days, { day: '6', dayStartedAtMs: 1000, epochsInDay: 1, finalPending: '5' });

    const next = [epoch('20'), epoch('21'), batchSubmitted('19', 'cid')];
    const restored = new Market(copy);
    assert.deepEqual(restored.plan(next, PARAMS, 2000), market.plan(next, PARAMS, 2000));
    assert.deepEqual(restored.state, market.state);
    assert.deepEqual(JSON.parse(JSON.stringify(market.state)), market.state);
  });
});

describe('periodic update on the epoch that starts the previous day\'s final update', () => {
  test('leaves the previous day to that final update (no past-day catch-up for it)', () => {
    const { step } = driven('5');
    step([epoch('6')], 0);
    // Day 6 starts at epoch 7; its third epoch (9) starts day 5's final and is also periodic.
    step([dayStarted('6'), epoch('7'), epoch('8')], 1000);
    const plan = step([epoch('9')], 2000);
    assert.deepEqual(plan.finalDays, ['5']);
    assert.deepEqual(plan.periodic, [{ epochId: '9', day: '6', skipPreviousDay: true }]);
  });
});
