import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { batchSizeBody, finalizerMessage } from '../../src/domain/payloads.js';

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
