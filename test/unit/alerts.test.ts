import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { alertBody, clearAlert, failedEpochsAlert, goTimeString, incidentChanges, incidentsOf, rateLimitDelayMs, startAlert, type MarketSnapshot } from '../../src/alerts/incidents.js';

const M = '0x0000000000000000000000000000000000000A11';
const snapshot = (over: Partial<MarketSnapshot> = {}): MarketSnapshot => ({ market: M, workflow: 'RUNNING', problems: [], epochsFailed: 0, ...over });
const opts = { rejectedAnswersThreshold: 20 };

describe('incidentsOf', () => {
  test('a healthy market has none', () => {
    assert.deepEqual(incidentsOf(snapshot(), opts), []);
  });

  test('each alertable problem is an incident keyed by market and kind, with its severity', () => {
    const incidents = incidentsOf(snapshot({ problems: [
      { kind: 'finality-violation', detail: 'deep-reorg at block 9' },
      { kind: 'day-mismatch', detail: 'dayCounter is 1' },
      { kind: 'redis-data-lost', detail: 'lost' },
    ] }), opts);
    assert.deepEqual(incidents, [
      { key: `${M}/finality-violation`, kind: 'finality-violation', severity: 'High', detail: 'deep-reorg at block 9' },
      { key: `${M}/day-mismatch`, kind: 'day-mismatch', severity: 'Medium', detail: 'dayCounter is 1' },
      { key: `${M}/redis-data-lost`, kind: 'redis-data-lost', severity: 'High', detail: 'lost' },
    ]);
  });

  test('rejected RPC answers only from the threshold on', () => {
    assert.deepEqual(incidentsOf(snapshot({ problems: [{ kind: 'rpc-answers-rejected', detail: '19 answers refused', count: 19 }] }), opts), []);
    assert.equal(incidentsOf(snapshot({ problems: [{ kind: 'rpc-answers-rejected', detail: '20 answers refused', count: 20 }] }), opts).length, 1);
  });

  test('open epochs retrying make one incident per market, naming each', () => {
    const [one, ...rest] = incidentsOf(snapshot({ problems: [{ kind: 'epoch-retrying', detail: 'epoch 5: a' }, { kind: 'epoch-retrying', detail: 'epoch 6: b' }] }), opts);
    assert.deepEqual(rest, []);
    assert.equal(one!.detail, 'epoch 5: a; epoch 6: b');
  });

  test('a market workflow that ended without stop is an incident; stopped or not started is not', () => {
    assert.equal(incidentsOf(snapshot({ workflow: 'TERMINATED' }), opts)[0]!.kind, 'market-not-running');
    assert.deepEqual(incidentsOf(snapshot({ workflow: 'COMPLETED' }), opts), []);
    assert.deepEqual(incidentsOf(snapshot({ workflow: 'NOT STARTED' }), opts), []);
  });
});

describe('incidentChanges', () => {
  const a = { key: 'm/a', kind: 'a', severity: 'High' as const, detail: 'A' };
  const b = { key: 'm/b', kind: 'b', severity: 'High' as const, detail: 'B' };
  test('starts what is new, clears what is gone, keeps what lasts (even with a new detail)', () => {
    assert.deepEqual(incidentChanges({ 'm/a': a }, [{ ...a, detail: 'A, later' }, b]), { started: [b], cleared: [] });
    assert.deepEqual(incidentChanges({ 'm/a': a, 'm/b': b }, [b]), { started: [], cleared: [a] });
  });
});

describe('the alert body (upstream reporting.go SequencerAlert)', () => {
  test("Go's time.Time.String() for UTC, fraction trimmed", () => {
    assert.equal(goTimeString(new Date('2026-11-30T12:34:56.780Z')), '2026-11-30 12:34:56.78 +0000 UTC');
    assert.equal(goTimeString(new Date('2026-11-30T12:34:56.000Z')), '2026-11-30 12:34:56 +0000 UTC');
  });

  test('fields in the struct order, escaped as encoding/json', () => {
    const body = alertBody(startAlert(M, { key: 'k', kind: 'follower-stalled', severity: 'High', detail: 'no progress; last error: <503> & more' }), new Date('2026-11-30T12:00:00.5Z'));
    assert.equal(body, `{"process_name":"seqflow: follower-stalled","error_msg":"${M}: no progress; last error: \\u003c503\\u003e \\u0026 more","timestamp":"2026-11-30 12:00:00.5 +0000 UTC","severity":"High"}`);
  });

  test('a clear is Low; failed epochs name the newest with their failure', () => {
    assert.deepEqual(clearAlert(M, { key: 'k', kind: 'redis-unavailable', severity: 'High', detail: 'x' }), { processName: 'seqflow: redis-unavailable', errorMsg: `${M}: resolved: redis-unavailable`, severity: 'Low' });
    assert.deepEqual(failedEpochsAlert(M, 2, 3, [{ epochId: '7', error: 'refused' }, { epochId: '8', error: 'refused too' }]), {
      processName: 'seqflow: epoch-failed',
      errorMsg: `${M}: 2 epochs failed (3 in all): epoch 7: refused; epoch 8: refused too`,
      severity: 'High',
    });
  });
});

describe('rateLimitDelayMs', () => {
  test('under the limit: at once', () => {
    assert.equal(rateLimitDelayMs([], 100_000, 2), 0);
    assert.equal(rateLimitDelayMs([90_000], 100_000, 2), 0);
  });

  test('at the limit: until the oldest of the last minute is a minute old', () => {
    assert.equal(rateLimitDelayMs([50_000, 90_000], 100_000, 2), 10_000);
    assert.equal(rateLimitDelayMs([90_000, 50_000, 95_000], 100_000, 3), 10_000, 'in any order');
  });

  test('sends older than a minute do not count', () => {
    assert.equal(rateLimitDelayMs([10_000, 20_000, 90_000], 100_000, 2), 0);
  });
});
