import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { arrangeBatches, countBySlot, parseSubmissionKey, serializeBatch, submissionKeyParser, type Batch, type SubmissionKey } from '../../src/domain/submissions.js';

const MARKET = '0x0c2e22fe7526fac7e28e8ffd9d3ab01b1ae6d8b6';
const EPOCH = '42';

/** A well-formed key of MARKET and EPOCH, built independently of the parser. */
const sk = (projectId: string, slotId: string): SubmissionKey => ({ key: `${MARKET}.${EPOCH}.${projectId}.${slotId}`, projectId, slotId });

function rejected(key: string, reason: RegExp): void {
  const parsed = parseSubmissionKey(key, MARKET, EPOCH);
  assert.equal(parsed.ok, false, `expected ${key} to be rejected`);
  if (parsed.ok) return;
  assert.equal(parsed.key, key);
  assert.match(parsed.reason, reason);
}

describe('parseSubmissionKey', () => {
  test('a valid key gives its project and slot', () => {
    const key = `${MARKET}.42.aave_v3:0xabc:UNISWAPV2.17`;
    assert.deepEqual(parseSubmissionKey(key, MARKET, EPOCH), {
      ok: true,
      value: { key, projectId: 'aave_v3:0xabc:UNISWAPV2', slotId: '17' },
    });
  });

  test('slot 0 is a valid slot', () => {
    const key = `${MARKET}.42.p.0`;
    assert.deepEqual(parseSubmissionKey(key, MARKET, EPOCH), { ok: true, value: { key, projectId: 'p', slotId: '0' } });
  });

  test('3 parts are rejected', () => rejected(`${MARKET}.42.p`, /4 dot-separated parts, got 3/));

  test('5 parts (a project id containing a dot) are rejected', () => rejected(`${MARKET}.42.p.q.7`, /4 dot-separated parts, got 5/));

  test('a key of another market is rejected', () => rejected('0x1111111111111111111111111111111111111111.42.p.7', /market/));

  test('the market must match exactly (checksum case is another market)', () =>
    rejected(`0x0C2E22FE7526FAC7E28E8FFD9D3AB01B1AE6D8B6.42.p.7`, /market/));

  test('a key of another epoch is rejected', () => rejected(`${MARKET}.43.p.7`, /epoch 43/));

  test('epoch "042" is not epoch "42"', () => rejected(`${MARKET}.042.p.7`, /epoch 042/));

  test('an empty project id is rejected', () => rejected(`${MARKET}.42..7`, /empty project/));

  test('a non-numeric slot is rejected', () => rejected(`${MARKET}.42.p.abc`, /slot id "abc"/));

  test('a negative slot is rejected', () => rejected(`${MARKET}.42.p.-1`, /slot id "-1"/));

  test('a slot with a leading zero is rejected', () => rejected(`${MARKET}.42.p.07`, /slot id "07"/));

  test('an empty slot is rejected', () => rejected(`${MARKET}.42.p.`, /slot id ""/));
});

test('submissionKeyParser answers as parseSubmissionKey, well-formed or not', () => {
  const parse = submissionKeyParser(MARKET, EPOCH);
  const cases = [
    `${MARKET}.42.aave_v3:0xabc:UNISWAPV2.17`,
    `${MARKET}.42.p.0`,
    `${MARKET}.42.p`,
    `${MARKET}.42.p.q.7`,
    `${MARKET}.42..7`,
    `${MARKET}.42.p.`,
    `${MARKET}.42.p.07`,
    `${MARKET}.42.p.-1`,
    `${MARKET}.420.p.7`,
    `${MARKET}.4.p.7`,
    `${MARKET}.042.p.7`,
    `${MARKET}0.42.p.7`,
    `${MARKET.toUpperCase()}.42.p.7`,
    `${MARKET}.42.p.7.`,
    '',
    '.',
  ];
  for (const key of cases) assert.deepEqual(parse(key), parseSubmissionKey(key, MARKET, EPOCH), key);
});

describe('arrangeBatches', () => {
  test('projects sorted, keys sorted, BATCH_SIZE projects per batch', () => {
    const input = [sk('c', '3'), sk('a', '9'), sk('b', '1'), sk('a', '2'), sk('d', '5'), sk('e', '4')];
    assert.deepEqual(arrangeBatches(input, 2), [
      [
        ['a', [`${MARKET}.42.a.2`, `${MARKET}.42.a.9`]],
        ['b', [`${MARKET}.42.b.1`]],
      ],
      [
        ['c', [`${MARKET}.42.c.3`]],
        ['d', [`${MARKET}.42.d.5`]],
      ],
      [['e', [`${MARKET}.42.e.4`]]],
    ]);
  });

  test('order is byte-wise, like Go map keys: "10" before "2", "B" before "a"', () => {
    const input = [sk('2', '1'), sk('a', '1'), sk('10', '1'), sk('B', '1')];
    const projects = arrangeBatches(input, 10)[0]!.map(([p]) => p);
    assert.deepEqual(projects, ['10', '2', 'B', 'a']);
  });

  test('keys within a project are sorted byte-wise ("10" before "9")', () => {
    const batches = arrangeBatches([sk('p', '9'), sk('p', '10'), sk('p', '100')], 1);
    assert.deepEqual(batches, [[['p', [`${MARKET}.42.p.10`, `${MARKET}.42.p.100`, `${MARKET}.42.p.9`]]]]);
  });

  test('a project with many keys is never split across batches', () => {
    const many = Array.from({ length: 250 }, (_, i) => sk('big', String(i)));
    const batches = arrangeBatches([sk('a', '1'), ...many, sk('z', '1')], 2);
    assert.equal(batches.length, 2);
    assert.deepEqual(
      batches.map((b) => b.map(([p, keys]) => [p, keys.length])),
      [
        [
          ['a', 1],
          ['big', 250],
        ],
        [['z', 1]],
      ],
    );
    const bigKeys = batches[0]![1]![1];
    assert.equal(new Set(bigKeys).size, 250);
  });

  test('duplicate keys are removed', () => {
    const batches = arrangeBatches([sk('p', '1'), sk('p', '1'), sk('q', '2'), sk('p', '1'), sk('q', '2')], 5);
    assert.deepEqual(batches, [
      [
        ['p', [`${MARKET}.42.p.1`]],
        ['q', [`${MARKET}.42.q.2`]],
      ],
    ]);
  });

  test('deterministic: every shuffle of the input gives identical output', () => {
    const input: SubmissionKey[] = [];
    for (let p = 0; p < 23; p++) for (let s = 0; s < (p % 4) + 1; s++) input.push(sk(`project${p}`, String(s * 7 + p)));
    const reference = JSON.stringify(arrangeBatches(input, 4));
    // Deterministic pseudo-random shuffles (Fisher–Yates with a small LCG), so a failure reproduces.
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 20; round++) {
      const shuffled = [...input];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      assert.equal(JSON.stringify(arrangeBatches(shuffled, 4)), reference);
    }
    const reversed = [...input].reverse();
    assert.equal(JSON.stringify(arrangeBatches(reversed, 4)), reference);
  });

  test('every input key appears exactly once in the output', () => {
    const input = [sk('x', '1'), sk('y', '2'), sk('x', '3'), sk('w', '4'), sk('v', '5')];
    const out = arrangeBatches(input, 2).flatMap((b) => b.flatMap(([, keys]) => keys));
    assert.deepEqual([...out].sort(), input.map((k) => k.key).sort());
  });

  test('batch size 1: one project per batch', () => {
    const batches = arrangeBatches([sk('b', '1'), sk('a', '1'), sk('a', '2')], 1);
    assert.deepEqual(batches, [[['a', [`${MARKET}.42.a.1`, `${MARKET}.42.a.2`]]], [['b', [`${MARKET}.42.b.1`]]]]);
  });

  test('a batch size larger than the project count gives one batch', () => {
    assert.equal(arrangeBatches([sk('a', '1'), sk('b', '1')], 1000).length, 1);
  });

  test('exactly BATCH_SIZE projects gives one full batch, not an empty second one', () => {
    const batches = arrangeBatches([sk('a', '1'), sk('b', '1'), sk('c', '1')], 3);
    assert.equal(batches.length, 1);
    assert.equal(batches[0]!.length, 3);
  });

  test('empty input gives no batches', () => {
    assert.deepEqual(arrangeBatches([], 3), []);
  });

  for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    test(`batch size ${bad} throws RangeError`, () => {
      assert.throws(() => arrangeBatches([sk('a', '1')], bad), RangeError);
    });
  }
});

describe('countBySlot', () => {
  test('counts submissions per slot across projects', () => {
    const counts = countBySlot([sk('a', '1'), sk('b', '1'), sk('c', '2'), sk('a', '3'), sk('d', '1')]);
    assert.deepEqual(
      [...counts].sort(([a], [b]) => Number(a) - Number(b)),
      [
        ['1', 3],
        ['2', 1],
        ['3', 1],
      ],
    );
  });

  test('slot ids are kept as strings ("10" and "1" distinct)', () => {
    const counts = countBySlot([sk('a', '10'), sk('b', '1')]);
    assert.equal(counts.get('10'), 1);
    assert.equal(counts.get('1'), 1);
    assert.equal(counts.size, 2);
  });

  test('no keys, no counts', () => {
    assert.equal(countBySlot([]).size, 0);
  });
});

describe('serializeBatch', () => {
  test('exact JSON of a batch', () => {
    const batch: Batch = [
      ['a', ['m.1.a.1', 'm.1.a.2']],
      ['b', ['m.1.b.3']],
    ];
    assert.equal(serializeBatch(batch), '{"a":["m.1.a.1","m.1.a.2"],"b":["m.1.b.3"]}');
  });

  test('keeps the given order even for integer-like project ids', () => {
    // A JS object would reorder these to "2","10"; the serialized batch must not.
    const batch: Batch = [
      ['10', ['k10']],
      ['2', ['k2']],
      ['1', ['k1']],
    ];
    assert.equal(serializeBatch(batch), '{"10":["k10"],"2":["k2"],"1":["k1"]}');
  });

  test('the output of arrangeBatches serializes in byte-wise project order', () => {
    const [batch] = arrangeBatches([sk('2', '5'), sk('10', '6')], 5);
    assert.equal(serializeBatch(batch!), `{"10":["${MARKET}.42.10.6"],"2":["${MARKET}.42.2.5"]}`);
  });

  test('is valid JSON that round-trips to the same mapping', () => {
    const batch: Batch = [
      ['10', ['x.1.10.1', 'x.1.10.2']],
      ['2', ['x.1.2.3']],
      ['proj:0xAbC', ['x.1.proj:0xAbC.4']],
    ];
    const parsed = JSON.parse(serializeBatch(batch)) as Record<string, string[]>;
    assert.deepEqual(new Map(Object.entries(parsed)), new Map(batch));
  });

  test('special characters are escaped as Go escapes them (U+2028 too)', () => {
    const project = 'we"ird\\pro\nject\u2028';
    const key = 'k"ey\t';
    const text = serializeBatch([[project, [key]]]);
    assert.equal(text, '{"we\\"ird\\\\pro\\nject\\u2028":["k\\"ey\\t"]}');
    assert.deepEqual(JSON.parse(text), { [project]: [key] });
  });

  test('an empty batch is an empty object', () => {
    assert.equal(serializeBatch([]), '{}');
  });
});
