/**
 * src/api/go-json.ts against Go's encoding/json. Every expected text and value below is what Go
 * answered for the same bytes (json.NewDecoder(…).Decode into upstream's SubmissionsRequest,
 * json.Unmarshal into its DiscardedSubmission* types), checked with a Go program against Go
 * 1.26's encoding/json (upstream builds with Go 1.23); they are pinned here so that the suite
 * needs no Go.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFirstValue, encodeGo, goInt, goString, goStruct, parseJson, quoteChar, unmarshal } from '../../src/api/go-json.js';
import { DiscardedSubmissionByProject, DiscardedSubmissionDetails, SubmissionsRequest } from '../../src/api/requests.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');
/** Raw bytes (latin1: each char one byte), for bodies that are not valid UTF-8. */
const raw = (text: string) => Buffer.from(text, 'latin1');

/** The error text Go answers for `body`, or undefined if it decodes. */
function decodeError(body: Uint8Array): string | undefined {
  const result = decodeFirstValue(body, SubmissionsRequest);
  return result.ok ? undefined : result.error;
}

function decoded(body: Uint8Array) {
  const result = decodeFirstValue(body, SubmissionsRequest);
  assert.ok(result.ok, `expected a value, got ${result.ok ? '' : result.error}`);
  return result.value;
}

const request = (fields: Partial<{ token: string; slotID: bigint; pastDays: bigint; dataMarketAddress: string }>) => ({ token: '', slotID: 0n, pastDays: 0n, dataMarketAddress: '', ...fields });

describe('decodeFirstValue: the syntax errors of json.Decoder.Decode', () => {
  const cases: Array<[body: Buffer, error: string]> = [
    [bytes(''), 'EOF'],
    [bytes('   '), 'EOF'],
    [bytes('{'), 'unexpected EOF'],
    [bytes('{"token":'), 'unexpected EOF'],
    [bytes('tru'), 'unexpected EOF'],
    [bytes('{"token":"a"'), 'unexpected EOF'],
    [bytes('"'), 'unexpected EOF'],
    [bytes('x'), "invalid character 'x' looking for beginning of value"],
    [bytes("{'a':1}"), "invalid character '\\'' looking for beginning of object key string"],
    [bytes('{"a" 1}'), "invalid character '1' after object key"],
    [bytes('{"a":1 "b":2}'), `invalid character '"' after object key:value pair`],
    [bytes('[1,2 3]'), "invalid character '3' after array element"],
    [bytes('{"a":01}'), "invalid character '1' after object key:value pair"],
    [bytes('{"a":1.}'), "invalid character '}' after decimal point in numeric literal"],
    [bytes('{"a":1e}'), "invalid character '}' in exponent of numeric literal"],
    [bytes('{"a":-}'), "invalid character '}' in numeric literal"],
    [bytes('{"a":"\\x"}'), "invalid character 'x' in string escape code"],
    [bytes('{"a":"\\u12g4"}'), "invalid character 'g' in \\u hexadecimal character escape"],
    [bytes('{"a":"\x01"}'), "invalid character '\\x01' in string literal"],
    [bytes('{"a":nul}'), "invalid character '}' in literal null (expecting 'l')"],
    [bytes('{"a":fals}'), "invalid character '}' in literal false (expecting 'e')"],
    [bytes('{"a":trUe}'), "invalid character 'U' in literal true (expecting 'u')"],
    [raw('{"a":\xff}'), "invalid character 'ÿ' looking for beginning of value"],
    [raw('{"a":\xad}'), "invalid character '\\u00ad' looking for beginning of value"],
    [raw('{"a":\x85}'), "invalid character '\\u0085' looking for beginning of value"],
    [raw('{"a":\xe9}'), "invalid character 'é' looking for beginning of value"],
    [bytes('\\'), "invalid character '\\\\' looking for beginning of value"],
    [bytes('\x7f'), "invalid character '\\x7f' looking for beginning of value"],
    [bytes('\t\x0b'), "invalid character '\\v' looking for beginning of value"],
    [bytes('['.repeat(10_001)), "invalid character '[' exceeded max depth"],
  ];
  for (const [body, error] of cases) {
    test(`${JSON.stringify(body.toString('latin1').slice(0, 20))} → ${error}`, () => assert.equal(decodeError(body), error));
  }
});

describe('decodeFirstValue: values into the request struct', () => {
  test('the first value is read and what follows it is ignored', () => {
    assert.deepEqual(decoded(bytes('{"token":"t","slotID":5,"pastDays":2,"dataMarketAddress":"0xA"} trailing garbage')), request({ token: 't', slotID: 5n, pastDays: 2n, dataMarketAddress: '0xA' }));
    assert.deepEqual(decoded(bytes('{"slotID":1}{"slotID":2}')), request({ slotID: 1n }));
  });

  test('keys match fields case-insensitively, the last matching key wins, unknown keys are skipped', () => {
    assert.deepEqual(decoded(bytes('{"TOKEN":"t","SlotId":5,"pastdays":2}')), request({ token: 't', slotID: 5n, pastDays: 2n }));
    assert.deepEqual(decoded(bytes('{"token":"t","slotid":5,"slotID":6}')), request({ token: 't', slotID: 6n }));
    assert.deepEqual(decoded(bytes('{"slotID":6,"slotid":5}')), request({ slotID: 5n }));
    assert.deepEqual(decoded(bytes('{"extra":{"deep":[1,{"x":2}]},"slotID":3}')), request({ slotID: 3n }));
  });

  test("Go's folding: ſ is s and the Kelvin sign is k, İ is nothing", () => {
    assert.deepEqual(decoded(bytes('{"\u017flotID":7,"to\u212aen":"k"}')), request({ token: 'k', slotID: 7n }));
    assert.deepEqual(decoded(bytes('{"\u0130d":1,"slot\u0130D":1}')), request({}));
  });

  test('null, {} and a top-level null leave every field zero', () => {
    assert.deepEqual(decoded(bytes('{"slotID":null,"token":null}')), request({}));
    assert.deepEqual(decoded(bytes('{}')), request({}));
    assert.deepEqual(decoded(bytes('null')), request({}));
  });

  test('int fields take integer literals within int64 only', () => {
    assert.deepEqual(decoded(bytes('{"slotID":9223372036854775807}')), request({ slotID: 9223372036854775807n }));
    assert.deepEqual(decoded(bytes('{"slotID":-9223372036854775808}')), request({ slotID: -9223372036854775808n }));
    assert.deepEqual(decoded(bytes('{"slotID":-0}')), request({}));
    const typeError = (what: string) => `json: cannot unmarshal ${what} into Go struct field SubmissionsRequest.slotID of type int`;
    assert.equal(decodeError(bytes('{"slotID":"5"}')), typeError('string'));
    assert.equal(decodeError(bytes('{"slotID":5.0}')), typeError('number 5.0'));
    assert.equal(decodeError(bytes('{"slotID":1e2}')), typeError('number 1e2'));
    assert.equal(decodeError(bytes('{"slotID":9223372036854775808}')), typeError('number 9223372036854775808'));
    assert.equal(decodeError(bytes('{"slotID":12345678901234567890123}')), typeError('number 12345678901234567890123'));
    assert.equal(decodeError(bytes('{"slotID":true}')), typeError('bool'));
    assert.equal(decodeError(bytes('{"slotID":{"a":1}}')), typeError('object'));
    assert.equal(decodeError(bytes('{"slotID":[1]}')), typeError('array'));
  });

  test('string fields: the first type error is the one reported', () => {
    const typeError = (what: string) => `json: cannot unmarshal ${what} into Go struct field SubmissionsRequest.token of type string`;
    assert.equal(decodeError(bytes('{"token":5}')), typeError('number'));
    assert.equal(decodeError(bytes('{"token":5,"slotID":"x"}')), typeError('number'));
    assert.equal(decodeError(bytes('{"token":{},"slotID":[]}')), typeError('object'));
  });

  test('a value that is no object names the Go type', () => {
    const typeError = (what: string) => `json: cannot unmarshal ${what} into Go value of type service.SubmissionsRequest`;
    assert.equal(decodeError(bytes('[1]')), typeError('array'));
    assert.equal(decodeError(bytes('"str"')), typeError('string'));
    assert.equal(decodeError(bytes('5')), typeError('number'));
    assert.equal(decodeError(bytes('5x')), typeError('number'));
    assert.equal(decodeError(bytes('true')), typeError('bool'));
    assert.equal(decodeError(bytes(`${'['.repeat(10_000)}${']'.repeat(10_000)}`)), typeError('array'));
  });

  test('strings: escapes, lone surrogates and invalid UTF-8 bytes become U+FFFD each', () => {
    assert.deepEqual(decoded(bytes('{"token":"\\"\\\\\\/\\b\\f\\n\\r\\t"}')), request({ token: '"\\/\b\f\n\r\t' }));
    assert.deepEqual(decoded(bytes('{"token":"a\\ud800b","dataMarketAddress":"\\ud83d\\ude00\\udc00x"}')), request({ token: 'a\ufffdb', dataMarketAddress: '\u{1f600}\ufffdx' }));
    assert.deepEqual(decoded(raw('{"token":"a\xffb\xe2\x82c"}')), request({ token: 'a\ufffdb\ufffd\ufffdc' }));
    assert.deepEqual(decoded(bytes('{"token":"é€😀"}')), request({ token: 'é€😀' }));
  });
});

describe('unmarshal: stored values into upstream types', () => {
  test('DiscardedSubmissionDetails as the finalizer writes it (Go field names, matched case-insensitively)', () => {
    const result = unmarshal(bytes('{"MostFrequentSnapshotCID":"cid0","DiscardedSubmissionCount":2,"DiscardedSubmissions":{"2":["c1"],"10":["c2","c3"]}}'), DiscardedSubmissionDetails);
    assert.deepEqual(result, {
      ok: true,
      value: { mostFrequentSnapshotCID: 'cid0', discardedSubmissionCount: 2n, discardedSubmissions: new Map([['2', ['c1']], ['10', ['c2', 'c3']]]) },
    });
  });

  test('null maps and slices stay null; a repeated map field merges into the map', () => {
    assert.deepEqual(unmarshal(bytes('{"mostFrequentSnapshotCID":"c","discardedSubmissions":null}'), DiscardedSubmissionDetails), {
      ok: true,
      value: { mostFrequentSnapshotCID: 'c', discardedSubmissionCount: 0n, discardedSubmissions: null },
    });
    assert.deepEqual(unmarshal(bytes('{"discardedSubmissions":{"1":null,"2":[]}}'), DiscardedSubmissionDetails), {
      ok: true,
      value: { mostFrequentSnapshotCID: '', discardedSubmissionCount: 0n, discardedSubmissions: new Map([['1', null], ['2', []]]) },
    });
    assert.deepEqual(unmarshal(bytes('{"discardedSubmissions":{"1":["a"]},"discardedSubmissions":{"2":["b"]}}'), DiscardedSubmissionDetails), {
      ok: true,
      value: { mostFrequentSnapshotCID: '', discardedSubmissionCount: 0n, discardedSubmissions: new Map([['1', ['a']], ['2', ['b']]]) },
    });
  });

  test('type errors name the innermost struct and the field path (map keys are not in it)', () => {
    assert.deepEqual(unmarshal(bytes('{"discardedSubmissionCount":"2"}'), DiscardedSubmissionDetails), {
      ok: false,
      error: 'json: cannot unmarshal string into Go struct field DiscardedSubmissionDetails.discardedSubmissionCount of type int',
    });
    assert.deepEqual(unmarshal(bytes('{"discardedSubmissions":{"1":[5]}}'), DiscardedSubmissionDetails), {
      ok: false,
      error: 'json: cannot unmarshal number into Go struct field DiscardedSubmissionDetails.discardedSubmissions of type string',
    });
    assert.deepEqual(unmarshal(bytes('{"p1":{"discardedSubmissionCount":1.5}}'), DiscardedSubmissionByProject), {
      ok: false,
      error: 'json: cannot unmarshal number 1.5 into Go struct field DiscardedSubmissionByProjectDetails.discardedSubmissionCount of type int',
    });
    assert.deepEqual(unmarshal(bytes('[]'), DiscardedSubmissionByProject), {
      ok: false,
      error: 'json: cannot unmarshal array into Go value of type service.DiscardedSubmissionByProject',
    });
  });

  test('the whole text is one value: trailing data, nothing, a cut-off literal', () => {
    assert.deepEqual(unmarshal(bytes('{"a":1} x'), DiscardedSubmissionDetails), { ok: false, error: "invalid character 'x' after top-level value" });
    assert.equal(unmarshal(bytes('{"a":1}  '), DiscardedSubmissionDetails).ok, true);
    assert.deepEqual(unmarshal(bytes(''), DiscardedSubmissionDetails), { ok: false, error: 'unexpected end of JSON input' });
    assert.deepEqual(unmarshal(bytes('tru'), DiscardedSubmissionDetails), { ok: false, error: "invalid character ' ' in literal true (expecting 'e')" });
  });

  test('map of pointers: null entries are null, {} a zero struct, a null map is null', () => {
    const result = unmarshal(bytes('{"p1":{"finalizedCID":"c","discardedSubmissionCount":1,"discardedSubmissions":["x"]},"p2":null,"p3":{}}'), DiscardedSubmissionByProject);
    assert.deepEqual(result, {
      ok: true,
      value: new Map([
        ['p1', { finalizedCID: 'c', discardedSubmissionCount: 1n, discardedSubmissions: ['x'] }],
        ['p2', null],
        ['p3', { finalizedCID: '', discardedSubmissionCount: 0n, discardedSubmissions: null }],
      ]),
    });
    assert.deepEqual(unmarshal(bytes('null'), DiscardedSubmissionByProject), { ok: true, value: null });
    assert.deepEqual(unmarshal(bytes('{}'), DiscardedSubmissionByProject), { ok: true, value: new Map() });
  });
});

describe('parseJson', () => {
  test('keeps repeated keys in order and flags strings protojson would refuse', () => {
    assert.deepEqual(parseJson(bytes('{"a":1,"a":"x\\udc00"}')), {
      ok: true,
      value: {
        t: 'object',
        entries: [
          [{ value: 'a', valid: true }, { t: 'number', literal: '1' }],
          [{ value: 'a', valid: true }, { t: 'string', text: { value: 'x\ufffd', valid: false } }],
        ],
      },
    });
  });
});

describe('quoteChar', () => {
  test('as strconv.Quote shows a byte, in single quotes', () => {
    assert.deepEqual([0x27, 0x22, 0x5c, 0x0a, 0x00, 0x41, 0x7f, 0x80, 0xa0, 0xa1, 0xad, 0xff].map(quoteChar), [
      "'\\''",
      `'"'`,
      "'\\\\'",
      "'\\n'",
      "'\\x00'",
      "'A'",
      "'\\x7f'",
      "'\\u0080'",
      "'\\u00a0'",
      "'¡'",
      "'\\u00ad'",
      "'ÿ'",
    ]);
  });
});

describe('encodeGo', () => {
  test("struct fields in order, map keys sorted, HTML-safe escaping, bigints exact", () => {
    const value = {
      b: 'x<y>&z',
      a: new Map([
        ['10', ['c2']],
        ['2', []],
      ]),
      n: 18446744073709551615n,
      list: [1, true, null, 'é'],
    };
    assert.equal(encodeGo(value), '{"b":"x\\u003cy\\u003e\\u0026z","a":{"10":["c2"],"2":[]},"n":18446744073709551615,"list":[1,true,null,"é"]}');
  });

  test('refuses a number that is no safe integer', () => {
    assert.throws(() => encodeGo(1.5), /no integer/);
  });

  test('a struct type decodes what it encodes', () => {
    const t = goStruct('x.T', { name: goString, count: goInt });
    assert.deepEqual(decodeFirstValue(bytes(encodeGo({ name: 'a"b', count: 3n })), t), { ok: true, value: { name: 'a"b', count: 3n } });
  });
});
