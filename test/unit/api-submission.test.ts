/**
 * src/api/submission.ts against protojson.Unmarshal into upstream's SnapshotSubmission: each
 * input was given to protobuf-go v1.34.2 (upstream's version) with the message built from
 * upstream's .proto; whether it read it, and what it read, are pinned here.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSnapshotSubmission, protoUint64, type SnapshotSubmission } from '../../src/api/submission.js';

const parse = (text: string) => parseSnapshotSubmission(Buffer.from(text, 'latin1'));
const EMPTY: SnapshotSubmission = { request: null, signature: '', header: '', dataMarket: '', nodeVersion: null };
const request = (fields: Partial<NonNullable<SnapshotSubmission['request']>>) => ({ slotId: 0n, deadline: 0n, snapshotCid: '', epochId: 0n, projectId: '', ...fields });

describe('parseSnapshotSubmission: what protojson reads', () => {
  test("the dequeuer's encoding/json of a submission", () => {
    assert.deepEqual(
      parse('{"request":{"slotId":7,"deadline":120,"snapshotCid":"bafy","epochId":42,"projectId":"a:0xabc:NS"},"signature":"sig","header":"0xh","dataMarket":"0xdm","nodeVersion":"v1"}'),
      {
        ok: true,
        value: { request: request({ slotId: 7n, deadline: 120n, snapshotCid: 'bafy', epochId: 42n, projectId: 'a:0xabc:NS' }), signature: 'sig', header: '0xh', dataMarket: '0xdm', nodeVersion: 'v1' },
      },
    );
  });

  test('uint64 as strings, integral fractions and exponents', () => {
    assert.deepEqual(parse('{"request":{"slotId":"7","deadline":"1.0","epochId":"1e2"}}'), { ok: true, value: { ...EMPTY, request: request({ slotId: 7n, deadline: 1n, epochId: 100n }) } });
    assert.deepEqual(parse('{"request":{"slotId":"0.05e2"}}'), { ok: true, value: { ...EMPTY, request: request({ slotId: 5n }) } });
    assert.deepEqual(parse('{"request":{"slotId":100e-2}}'), { ok: true, value: { ...EMPTY, request: request({ slotId: 1n }) } });
    assert.deepEqual(parse('{"request":{"slotId":18446744073709551615}}'), { ok: true, value: { ...EMPTY, request: request({ slotId: 18446744073709551615n }) } });
    for (const zero of ['-0', '"-0"', '0e99999999999']) assert.deepEqual(parse(`{"request":{"slotId":${zero}}}`), { ok: true, value: { ...EMPTY, request: request({}) } });
  });

  test('a string holding a number is read up to a delimiter, as protobuf reads one token', () => {
    assert.deepEqual(parse('{"request":{"slotId":"12 34"}}'), { ok: true, value: { ...EMPTY, request: request({ slotId: 12n }) } });
    assert.deepEqual(parse('{"request":{"slotId":"12,3"}}'), { ok: true, value: { ...EMPTY, request: request({ slotId: 12n }) } });
  });

  test('null leaves fields unset; {} is an empty submission', () => {
    assert.deepEqual(parse('{"request":null,"signature":null}'), { ok: true, value: EMPTY });
    assert.deepEqual(parse('{"nodeVersion":null}'), { ok: true, value: EMPTY });
    assert.deepEqual(parse('{}'), { ok: true, value: EMPTY });
  });

  test('refused: what protojson refuses', () => {
    const refused = [
      '{"request":{"slotId":1.5}}',
      '{"request":{"slotId":-1}}',
      '{"request":{"slotId":18446744073709551616}}',
      '{"request":{"slotId":" 12"}}',
      '{"request":{"slotId":"12abc"}}',
      '{"request":{"slotId":150e-2}}',
      '{"request":{"slotId":1e99999999999}}',
      '{"unknown":1}',
      '{"signature":"a","signature":"b"}',
      '{"Signature":"a"}',
      '{"request":{"slot_id":1}}',
      '{"signature":5}',
      '{"request":[]}',
      'null',
      '[]',
      '{"signature":"a"} x',
      '{"signature":"a\\ud800"}',
      '{"signature":"a\xff"}',
      '{"request":{"slotId":7},"request":{"epochId":1}}',
    ];
    for (const text of refused) assert.equal(parse(text).ok, false, text);
  });
});

describe('protoUint64', () => {
  test('integral values within 0..2^64-1 only', () => {
    assert.equal(protoUint64('0'), 0n);
    assert.equal(protoUint64('1.50e1'), 15n);
    assert.equal(protoUint64('1.5e0'), null);
    assert.equal(protoUint64('12345678901234567890'), 12345678901234567890n);
    assert.equal(protoUint64('1e20'), null);
    assert.equal(protoUint64('01'), null);
  });
});
