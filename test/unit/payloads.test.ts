import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareCodePoints, goJsonString, goJsonStrings } from '../../src/domain/gojson.js';
import { attestorMessage, batchSizeBody, finalizerMessage } from '../../src/domain/payloads.js';
import { updateRewardsBody } from '../../src/domain/rewards.js';
import { arrangeBatches, parseSubmissionKey, serializeBatch } from '../../src/domain/submissions.js';

// EIP-55 test vector from the EIP itself.
const MARKET = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const BIG = '123456789012345678901234567890';

describe('finalizerMessage', () => {
  test('exact bytes of the upstream finalizerQueue message', () => {
    const batch = '{"10":["k.42.10.1"],"2":["k.42.2.3","k.42.2.4"]}';
    assert.equal(
      finalizerMessage(MARKET, '42', 1, batch),
      '{"DataMarketAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","EpochID":42,"BatchID":1,"Batch":{"10":["k.42.10.1"],"2":["k.42.2.3","k.42.2.4"]}}',
    );
  });

  test('same bytes as Go-default JSON of the struct (field order DataMarketAddress, EpochID, BatchID, Batch)', () => {
    const batch = { projA: ['a.1'], projB: ['b.1', 'b.2'] };
    const expected = JSON.stringify({ DataMarketAddress: MARKET, EpochID: 7, BatchID: 3, Batch: batch });
    assert.equal(finalizerMessage(MARKET, '7', 3, JSON.stringify(batch)), expected);
  });

  test('epoch 0 is a valid epoch', () => {
    assert.equal(finalizerMessage(MARKET, '0', 1, '{}'), `{"DataMarketAddress":"${MARKET}","EpochID":0,"BatchID":1,"Batch":{}}`);
  });

  test('EpochID stays exact beyond 2^53 and is a bare JSON number', () => {
    const message = finalizerMessage(MARKET, BIG, 2, '{}');
    assert.equal(message, `{"DataMarketAddress":"${MARKET}","EpochID":${BIG},"BatchID":2,"Batch":{}}`);
    // A bare number, not a string, and not rounded (Number would give 1.2345678901234568e+29).
    assert.match(message, /"EpochID":123456789012345678901234567890,/);
    assert.equal(typeof (JSON.parse(message) as { EpochID: unknown }).EpochID, 'number');
  });

  for (const bad of ['01', '1.5', '-1', '', '0x10', ' 1', '1e3', 'abc']) {
    test(`non-canonical epoch id ${JSON.stringify(bad)} throws`, () => {
      assert.throws(() => finalizerMessage(MARKET, bad, 1, '{}'), RangeError);
    });
  }
});

describe('batchSizeBody', () => {
  test('exact bytes of the upstream /submitBatchSize body', () => {
    assert.equal(
      batchSizeBody(MARKET, '42', 3, 't'),
      '{"epochID":42,"batchSize":3,"authToken":"t","dataMarketAddress":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}',
    );
  });

  test('batch size 0 is sent as 0', () => {
    assert.equal(batchSizeBody(MARKET, '5', 0, 't'), `{"epochID":5,"batchSize":0,"authToken":"t","dataMarketAddress":"${MARKET}"}`);
  });

  test('epochID stays exact beyond 2^53', () => {
    assert.equal(batchSizeBody(MARKET, BIG, 1, 't'), `{"epochID":${BIG},"batchSize":1,"authToken":"t","dataMarketAddress":"${MARKET}"}`);
  });

  test('a token with quotes and backslashes is JSON-escaped', () => {
    const token = 'se"cr\\et';
    const body = batchSizeBody(MARKET, '1', 2, token);
    assert.equal(body, `{"epochID":1,"batchSize":2,"authToken":"se\\"cr\\\\et","dataMarketAddress":"${MARKET}"}`);
    assert.equal((JSON.parse(body) as { authToken: string }).authToken, token);
  });

  for (const bad of ['01', '1.5', '-1', '', '0x10']) {
    test(`non-canonical epoch id ${JSON.stringify(bad)} throws`, () => {
      assert.throws(() => batchSizeBody(MARKET, bad, 1, 't'), RangeError);
    });
  }
});

/**
 * The exact bytes Go's encoding/json (go1.26, json.Marshal) writes for the same values: the
 * upstream service's structs marshalled by a Go program, its output pinned here. Strings with
 * `<`, `>`, `&`, U+2028, U+2029, control characters, quotes, backslashes and non-ASCII
 * characters, map keys in Go's order (UTF-8 bytes).
 */
describe("byte-identical to Go's encoding/json", () => {
  const lower = MARKET.toLowerCase();
  const projects = ['agg<&>:0x1:NS', 'ctl\b\f\n\r\t\x01\x1f\x7f:0x2', 'uni\u00e9\u4e2d\u{1F600}:0x3', '\ue000z', '\u{1F600}a', 'q"b\\s/', 'k\u2028\u2029'];

  test('a finalizerQueue message of a batch of such projects', () => {
    const keys = projects.map((p, i) => parseSubmissionKey(`${lower}.42.${p}.${i + 1}`, lower, '42')).map((k) => (k.ok ? k.value : assert.fail(k.reason)));
    const [batch] = arrangeBatches(keys, 100);
    const k = (p: string, slot: number) => `"${lower}.42.${p}.${slot}"`;
    assert.equal(
      finalizerMessage(MARKET, '42', 1, serializeBatch(batch!)),
      `{"DataMarketAddress":"${MARKET}","EpochID":42,"BatchID":1,"Batch":{` +
        `"agg\\u003c\\u0026\\u003e:0x1:NS":[${k('agg\\u003c\\u0026\\u003e:0x1:NS', 1)}],` +
        `"ctl\\b\\f\\n\\r\\t\\u0001\\u001f\x7f:0x2":[${k('ctl\\b\\f\\n\\r\\t\\u0001\\u001f\x7f:0x2', 2)}],` +
        `"k\\u2028\\u2029":[${k('k\\u2028\\u2029', 7)}],` +
        `"q\\"b\\\\s/":[${k('q\\"b\\\\s/', 6)}],` +
        `"uni\u00e9\u4e2d\u{1F600}:0x3":[${k('uni\u00e9\u4e2d\u{1F600}:0x3', 3)}],` +
        `"\ue000z":[${k('\ue000z', 4)}],` +
        `"\u{1F600}a":[${k('\u{1F600}a', 5)}]}}`,
    );
  });

  test('an attestorQueue message', () => {
    assert.equal(attestorMessage(MARKET, 'bafy<&>\u2028\u2029', '7'), `{"DataMarketAddress":"${MARKET}","BatchCID":"bafy\\u003c\\u0026\\u003e\\u2028\\u2029","EpochID":7}`);
  });

  test('the /submitBatchSize and /submitUpdateRewards bodies', () => {
    assert.equal(batchSizeBody(MARKET, '42', 3, 't<o>k&n\u2028'), `{"epochID":42,"batchSize":3,"authToken":"t\\u003co\\u003ek\\u0026n\\u2028","dataMarketAddress":"${MARKET}"}`);
    assert.equal(
      updateRewardsBody(MARKET, { slotIDs: ['1', '2'], submissionsList: ['5', '6'] }, '3', 2, 't<o>k&n'),
      `{"dataMarketAddress":"${MARKET}","slotIDs":[1,2],"submissionsList":[5,6],"day":3,"eligibleNodes":2,"authToken":"t\\u003co\\u003ek\\u0026n"}`,
    );
  });

  test('the issue\'s example: agg<&>:0x1:NS', () => {
    assert.equal(goJsonString('agg<&>:0x1:NS'), '"agg\\u003c\\u0026\\u003e:0x1:NS"');
  });

  test('a lone surrogate (invalid UTF-8 for Go) becomes \\ufffd; a surrogate pair is one character', () => {
    assert.equal(goJsonString('a\ud800b'), '"a\\ufffdb"');
    assert.equal(goJsonString('a\udc00'), '"a\\ufffd"');
    assert.equal(goJsonString('\u{1F600}'), '"\u{1F600}"');
  });

  test('goJsonStrings is each value\'s literal, comma-separated, plain or not (a surrogate split across two values stays two \\ufffd)', () => {
    for (const values of [[], ['a'], ['a', 'b.c', ''], ['a<b', 'plain', 'q"'], ['x\ud83d', '\ude00y'], ['\u2028', 'z']]) {
      assert.equal(goJsonStrings(values), values.map(goJsonString).join(','), JSON.stringify(values));
    }
    assert.equal(goJsonStrings(['x\ud83d', '\ude00y']), '"x\\ufffd","\\ufffdy"');
  });

  test('compareCodePoints orders like UTF-8 bytes (U+E000 before U+1F600), unlike UTF-16 units', () => {
    assert.deepEqual(['\u{1F600}a', '\ue000z', 'b', 'a'].sort(compareCodePoints), ['a', 'b', '\ue000z', '\u{1F600}a']);
    assert.ok('\u{1F600}a' < '\ue000z', 'JavaScript compares UTF-16 units the other way');
    assert.equal(compareCodePoints('ab', 'ab'), 0);
    assert.ok(compareCodePoints('ab', 'abc') < 0);
  });
});
