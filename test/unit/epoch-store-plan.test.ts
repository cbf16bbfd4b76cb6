/**
 * The pure parts of storing an epoch in bounded steps: how header sets are read, how an epoch's
 * writes are cut into chunks and its pushes into scripts, the arrangement's order when project
 * ids hold any character, and the finalizer message around a batch that a script reads from Redis.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareCodePoints } from '../../src/domain/gojson.js';
import { finalizerMessage, finalizerMessageFrame } from '../../src/domain/payloads.js';
import { arrangeBatches, planChunks, planHeaderReads, planPushes, type ChunkLimits, type SubmissionKey } from '../../src/domain/submissions.js';

describe('planHeaderReads', () => {
  test('small sets are packed into round trips of at most the bound; larger ones are scanned', () => {
    assert.deepEqual(planHeaderReads([400, 500, 200, 2500, 1000, 0, 1000, 1], 1000), {
      whole: [[0, 1], [2], [4], [6], [7]],
      scanned: [3],
    });
  });

  test('a set of exactly the bound is read whole, alone', () => {
    assert.deepEqual(planHeaderReads([1000, 1000], 1000), { whole: [[0], [1]], scanned: [] });
  });

  test('no sets, or only empty ones: nothing to read', () => {
    assert.deepEqual(planHeaderReads([], 1000), { whole: [], scanned: [] });
    assert.deepEqual(planHeaderReads([0, 0], 1000), { whole: [], scanned: [] });
  });

  test('every non-empty set is read exactly once, and no round trip of whole sets exceeds the bound', () => {
    const sizes = Array.from({ length: 300 }, (_, i) => (i * 7919) % 1500);
    const { whole, scanned } = planHeaderReads(sizes, 700);
    const read = [...whole.flat(), ...scanned].sort((a, b) => a - b);
    assert.deepEqual(read, sizes.flatMap((size, i) => (size > 0 ? [i] : [])));
    for (const trip of whole) assert.ok(trip.reduce((sum, i) => sum + sizes[i]!, 0) <= 700, `round trip ${trip.join(',')}`);
    for (const i of scanned) assert.ok(sizes[i]! > 700);
  });

  for (const bad of [0, -1, 1.5]) test(`a bound of ${bad} throws RangeError`, () => assert.throws(() => planHeaderReads([1], bad), RangeError));
});

describe('planChunks', () => {
  const limits: ChunkLimits = { bytes: 100, batches: 3, slots: 2 };
  const slots = (n: number) => Array.from({ length: n }, (_, i) => [String(i + 1), i + 10] as [string, number]);

  test('batches cut by bytes and by count, slots by count, both from the first chunk on', () => {
    assert.deepEqual(planChunks([40, 40, 40, 10, 10, 10, 10], slots(5), limits), [
      { firstBatch: 1, batchCount: 2, slots: [['1', 10], ['2', 11]] },
      { firstBatch: 3, batchCount: 3, slots: [['3', 12], ['4', 13]] },
      { firstBatch: 6, batchCount: 2, slots: [['5', 14]] },
    ]);
  });

  test('more slots than batches need: the last chunks carry slots only', () => {
    assert.deepEqual(planChunks([10], slots(5), limits), [
      { firstBatch: 1, batchCount: 1, slots: [['1', 10], ['2', 11]] },
      { firstBatch: 2, batchCount: 0, slots: [['3', 12], ['4', 13]] },
      { firstBatch: 2, batchCount: 0, slots: [['5', 14]] },
    ]);
  });

  test('a batch over the byte bound makes a chunk of its own', () => {
    assert.deepEqual(
      planChunks([30, 250, 30], [], limits).map((c) => [c.firstBatch, c.batchCount]),
      [[1, 1], [2, 1], [3, 1]],
    );
  });

  test('an epoch without submissions is one empty chunk (it still writes the batch count and the guard)', () => {
    assert.deepEqual(planChunks([], [], limits), [{ firstBatch: 1, batchCount: 0, slots: [] }]);
  });

  test('every batch and every slot increment is in exactly one chunk, in order, each chunk within its bounds', () => {
    const bytes = Array.from({ length: 500 }, (_, i) => 1 + ((i * 104729) % 180));
    const increments = slots(333);
    const chunks = planChunks(bytes, increments, { bytes: 400, batches: 7, slots: 11 });
    let next = 1;
    for (const chunk of chunks) {
      assert.equal(chunk.firstBatch, next);
      next += chunk.batchCount;
      const size = bytes.slice(chunk.firstBatch - 1, next - 1).reduce((a, b) => a + b, 0);
      assert.ok(chunk.batchCount <= 7 && (chunk.batchCount <= 1 || size <= 400), `chunk at ${chunk.firstBatch}: ${chunk.batchCount} batches, ${size} bytes`);
      assert.ok(chunk.slots.length <= 11);
    }
    assert.equal(next, bytes.length + 1);
    assert.deepEqual(chunks.flatMap((c) => c.slots), increments);
  });

  for (const bad of [{ bytes: 0 }, { batches: -1 }, { slots: 0.5 }]) {
    test(`limits ${JSON.stringify(bad)} throw RangeError`, () => assert.throws(() => planChunks([1], [], { ...limits, ...bad }), RangeError));
  }
});

describe('planPushes', () => {
  test('consecutive batches up to the byte budget together, a batch over it alone, at most `batches` a script', () => {
    assert.deepEqual(planPushes([60, 60, 10, 200, 50, 50, 50], 130, 10), [[0, 3], [3, 4], [4, 6], [6, 7]]);
    assert.deepEqual(planPushes([1, 1, 1, 1, 1], 1000, 2), [[0, 2], [2, 4], [4, 5]]);
  });

  test('every batch in exactly one script, in order, whatever the sizes', () => {
    const sizes = Array.from({ length: 97 }, (_, i) => (i * 7919) % 300);
    const ranges = planPushes(sizes, 500, 8);
    assert.deepEqual(ranges.flatMap(([s, e]) => Array.from({ length: e - s }, (_, i) => s + i)), sizes.map((_, i) => i));
    for (const [s, e] of ranges) assert.ok(e - s === 1 || sizes.slice(s, e).reduce((a, b) => a + b, 0) <= 500, `range ${s}..${e} over the budget`);
  });

  test('no batches, no scripts; a budget or limit that is no positive integer is refused', () => {
    assert.deepEqual(planPushes([], 100, 10), []);
    assert.throws(() => planPushes([1], 0, 10), RangeError);
    assert.throws(() => planPushes([1], 100, 1.5), RangeError);
  });
});

describe('arrangeBatches order with any characters', () => {
  const MARKET = '0x0c2e22fe7526fac7e28e8ffd9d3ab01b1ae6d8b6';
  const sk = (projectId: string, slotId: string): SubmissionKey => ({ key: `${MARKET}.1.${projectId}.${slotId}`, projectId, slotId });

  test('a project id beyond U+FFFF sorts after U+E000..U+FFFF, as in UTF-8 (UTF-16 units would put it first)', () => {
    const projects = ['\u{1F600}x', '\uFF21', 'a', '\uE000'];
    const batches = arrangeBatches(projects.map((p) => sk(p, '1')), 10);
    assert.deepEqual(batches[0]!.map(([p]) => p), ['a', '\uE000', '\uFF21', '\u{1F600}x']);
  });

  test('the same order as compareCodePoints, with and without surrogates among the projects and keys', () => {
    const alphabet = ['a', 'B', '0', '_', ':', '\u00e9', '\uE000', '\uFFFF', '\u{10000}', '\u{1F600}'];
    for (const withSurrogates of [false, true]) {
      const letters = withSurrogates ? alphabet : alphabet.slice(0, 8);
      const word = (seed: number) => Array.from({ length: 1 + (seed % 4) }, (_, i) => letters[(seed * 31 + i * 17) % letters.length]).join('');
      const keys = Array.from({ length: 400 }, (_, i) => sk(word(i), String(i % 7)));
      const projects = arrangeBatches(keys, 1000)[0]!;
      const expected = [...new Set(keys.map((k) => k.projectId))].sort(compareCodePoints);
      assert.deepEqual(projects.map(([p]) => p), expected);
      for (const [p, ks] of projects) assert.deepEqual(ks, [...new Set(keys.filter((k) => k.projectId === p).map((k) => k.key))].sort(compareCodePoints));
    }
  });
});

test('finalizerMessageFrame: head + batch + tail is finalizerMessage, byte for byte', () => {
  const market = '0x0C2E22fE7526FAC7e28E8fFD9d3aB01B1Ae6d8B6';
  const batch = '{"p<&>\\u2028":["k"]}';
  const { head, tail } = finalizerMessageFrame(market, '4711', 12);
  assert.equal(`${head}${batch}${tail}`, finalizerMessage(market, '4711', 12, batch));
  assert.equal(head, `{"DataMarketAddress":"${market}","EpochID":4711,"BatchID":12,"Batch":`);
  assert.throws(() => finalizerMessageFrame(market, '04711', 12), RangeError);
});
