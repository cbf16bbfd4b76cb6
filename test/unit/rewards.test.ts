/**
 * The pure reward helpers: chunking (numeric slot order, no slot dropped), the exact
 * `/submitUpdateRewards` body of upstream-collector.md §7.2, the past days of the catch-up
 * (§6.3) and how long a number of epochs lasts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chunkRewards, epochsDurationMs, pastDays, updateRewardsBody } from '../../src/domain/rewards.js';

const MARKET = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';

describe('chunkRewards', () => {
  test('slots come in numeric order ("10" after "9"), each with its own count', () => {
    const chunks = chunkRewards(
      [
        ['10', '100'],
        ['9', '90'],
        ['2', '20'],
        ['100', '1000'],
        ['1', '10'],
      ],
      10,
    );
    assert.deepEqual(chunks, [{ slotIDs: ['1', '2', '9', '10', '100'], submissionsList: ['10', '20', '90', '100', '1000'] }]);
  });

  test('chunks hold chunkSize slots, the last one the rest', () => {
    const pairs: Array<[string, string]> = [
      ['5', '50'],
      ['3', '30'],
      ['1', '10'],
      ['4', '40'],
      ['2', '20'],
    ];
    assert.deepEqual(chunkRewards(pairs, 2), [
      { slotIDs: ['1', '2'], submissionsList: ['10', '20'] },
      { slotIDs: ['3', '4'], submissionsList: ['30', '40'] },
      { slotIDs: ['5'], submissionsList: ['50'] },
    ]);
    assert.deepEqual(chunkRewards(pairs, 5), [{ slotIDs: ['1', '2', '3', '4', '5'], submissionsList: ['10', '20', '30', '40', '50'] }]);
    assert.deepEqual(
      chunkRewards(pairs, 1).map((c) => c.slotIDs),
      [['1'], ['2'], ['3'], ['4'], ['5']],
    );
  });

  test('250 slots in chunks of 2: 125 chunks covering every slot exactly once (none dropped past 100 chunks)', () => {
    // Reverse order in, so the sort has work to do.
    const pairs = Array.from({ length: 250 }, (_, i) => [String(250 - i), String(3 * (250 - i))] as [string, string]);
    const chunks = chunkRewards(pairs, 2);
    assert.equal(chunks.length, 125);
    for (const [i, chunk] of chunks.entries()) {
      assert.deepEqual(chunk, { slotIDs: [String(2 * i + 1), String(2 * i + 2)], submissionsList: [String(3 * (2 * i + 1)), String(3 * (2 * i + 2))] });
    }
    const all = chunks.flatMap((c) => c.slotIDs);
    assert.equal(all.length, 250);
    assert.equal(new Set(all).size, 250);
    assert.equal(chunks.at(-1)!.slotIDs.at(-1), '250');
  });

  test('the input is not reordered in place', () => {
    const pairs: Array<[string, string]> = [
      ['2', '1'],
      ['1', '1'],
    ];
    chunkRewards(pairs, 1);
    assert.deepEqual(pairs, [
      ['2', '1'],
      ['1', '1'],
    ]);
  });

  test('no slots: no chunk; with alwaysOneChunk: one chunk of empty arrays', () => {
    assert.deepEqual(chunkRewards([], 2), []);
    assert.deepEqual(chunkRewards([], 2, false), []);
    assert.deepEqual(chunkRewards([], 2, true), [{ slotIDs: [], submissionsList: [] }]);
  });

  test('alwaysOneChunk adds nothing when there are slots', () => {
    assert.deepEqual(chunkRewards([['7', '1']], 2, true), [{ slotIDs: ['7'], submissionsList: ['1'] }]);
  });

  test('a chunk size that is not a positive integer throws', () => {
    for (const size of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => chunkRewards([['1', '1']], size), RangeError, `size ${size}`);
      assert.throws(() => chunkRewards([], size), RangeError, `size ${size}, no slots`);
    }
  });

  test('a slot or count that is not a canonical decimal throws', () => {
    for (const bad of ['', 'a', '-1', '1.5', '01', ' 1', '0x1', '1e3']) {
      assert.throws(() => chunkRewards([[bad, '1']], 2), RangeError, `slot ${JSON.stringify(bad)}`);
      assert.throws(() => chunkRewards([['1', bad]], 2), RangeError, `count ${JSON.stringify(bad)}`);
    }
    // '0' is canonical, both as slot and count.
    assert.deepEqual(chunkRewards([['0', '0']], 2), [{ slotIDs: ['0'], submissionsList: ['0'] }]);
  });
});

describe('updateRewardsBody', () => {
  test('is byte for byte the upstream body, in upstream field order', () => {
    assert.equal(
      updateRewardsBody(MARKET, { slotIDs: ['1', '2'], submissionsList: ['5', '7'] }, '3', 2, 't'),
      '{"dataMarketAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","slotIDs":[1,2],"submissionsList":[5,7],"day":3,"eligibleNodes":2,"authToken":"t"}',
    );
  });

  test('empty arrays are rendered as [], never null', () => {
    const body = updateRewardsBody(MARKET, { slotIDs: [], submissionsList: [] }, '12', 40, 't');
    assert.equal(body, '{"dataMarketAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","slotIDs":[],"submissionsList":[],"day":12,"eligibleNodes":40,"authToken":"t"}');
    assert.deepEqual(JSON.parse(body), { dataMarketAddress: MARKET, slotIDs: [], submissionsList: [], day: 12, eligibleNodes: 40, authToken: 't' });
  });

  test('a single slot and eligibleNodes 0 (periodic update)', () => {
    assert.equal(
      updateRewardsBody(MARKET, { slotIDs: ['250'], submissionsList: ['1250'] }, '1', 0, 't'),
      '{"dataMarketAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","slotIDs":[250],"submissionsList":[1250],"day":1,"eligibleNodes":0,"authToken":"t"}',
    );
  });

  test('the token is escaped as a JSON string', () => {
    const body = updateRewardsBody(MARKET, { slotIDs: ['1'], submissionsList: ['1'] }, '1', 1, 'a"b\\c\n\u00e9');
    assert.ok(body.endsWith(String.raw`,"authToken":"a\"b\\c\né"}`), body);
    assert.equal((JSON.parse(body) as { authToken: string }).authToken, 'a"b\\c\n\u00e9');
  });

  test('a day that is not a canonical decimal throws', () => {
    for (const day of ['', '03', '-1', '1.0', ' 3', '3 ', '0x3', 'three']) {
      assert.throws(() => updateRewardsBody(MARKET, { slotIDs: [], submissionsList: [] }, day, 0, 't'), RangeError, `day ${JSON.stringify(day)}`);
    }
  });

  test('a day beyond 2^53 stays exact', () => {
    const day = '9007199254740993'; // 2^53 + 1: a JS number would turn it into ...992
    const body = updateRewardsBody(MARKET, { slotIDs: ['1'], submissionsList: ['2'] }, day, 1, 't');
    assert.equal(body, '{"dataMarketAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","slotIDs":[1],"submissionsList":[2],"day":9007199254740993,"eligibleNodes":1,"authToken":"t"}');
  });
});

describe('pastDays', () => {
  test('day 5, buffer 3: days 4, 3, 2 (newest first)', () => {
    assert.deepEqual(pastDays('5', 3), ['4', '3', '2']);
  });

  test('never day 0: day 2 with buffer 5 gives only day 1; day 1 gives none', () => {
    assert.deepEqual(pastDays('2', 5), ['1']);
    assert.deepEqual(pastDays('1', 3), []);
    assert.deepEqual(pastDays('0', 3), []);
  });

  test('buffer 0 gives none; day 4 with buffer 3 stops at day 1', () => {
    assert.deepEqual(pastDays('9', 0), []);
    assert.deepEqual(pastDays('4', 3), ['3', '2', '1']);
  });

  test('numeric, exact beyond 2^53', () => {
    assert.deepEqual(pastDays('10', 2), ['9', '8']);
    assert.deepEqual(pastDays('9007199254740993', 2), ['9007199254740992', '9007199254740991']);
  });
});

describe('epochsDurationMs', () => {
  test('DAY_SIZE 864000000 (a day × 10⁴) over 720 epochs: an epoch lasts 120 s', () => {
    assert.equal(epochsDurationMs(1, 864_000_000, 720), 120_000);
    assert.equal(epochsDurationMs(6, 864_000_000, 720), 720_000);
    assert.equal(epochsDurationMs(720, 864_000_000, 720), 86_400_000);
  });

  test('a 6 s day (60000) over 4 epochs: 1500 ms an epoch, 4500 ms for 3', () => {
    assert.equal(epochsDurationMs(1, 60_000, 4), 1500);
    assert.equal(epochsDurationMs(3, 60_000, 4), 4500);
  });

  test('zero inputs give 0', () => {
    assert.equal(epochsDurationMs(0, 864_000_000, 720), 0);
    assert.equal(epochsDurationMs(6, 0, 720), 0);
    assert.equal(epochsDurationMs(6, 864_000_000, 0), 0);
    assert.equal(epochsDurationMs(0, 0, 0), 0);
  });
});
