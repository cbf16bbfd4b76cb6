/**
 * The pure parts of the read API: the envelope, days, pagination, orders, Go's number parsing
 * and time text (expected texts from Go's time.Unix(…).In(zone).Format(time.RFC3339)), the token,
 * market and slot checks, gorilla's CORS decisions, and the request schemas.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareSlotIds, daysBack, errorBody, goAtoi, goBigInt64, paginate, rfc3339, successBody } from '../../src/api/answers.js';
import { canonicalHeaderKey, corsDecision, type CorsRequest } from '../../src/api/cors.js';
import { bodySchemaOf, configuredMarket, slotProblem, SubmissionsRequest, tokenMatches } from '../../src/api/requests.js';

describe('envelope', () => {
  test("upstream's success and error bodies, newline included", () => {
    assert.equal(
      successBody({ totalBatches: 3n }, '5fd98091-1939-4225-a752-43ef7f1b48e1'),
      '{"info":{"success":true,"response":{"totalBatches":3}},"requestID":"5fd98091-1939-4225-a752-43ef7f1b48e1"}\n',
    );
    assert.equal(successBody([], 'id'), '{"info":{"success":true,"response":[]},"requestID":"id"}\n');
    assert.equal(successBody('v1.2.3', 'id'), '{"info":{"success":true,"response":"v1.2.3"},"requestID":"id"}\n');
    assert.equal(errorBody('Incorrect Token!'), 'Incorrect Token!\n');
  });
});

describe('daysBack', () => {
  test('newest first, the current day included', () => {
    assert.deepEqual(daysBack(5n, 3n), [5n, 4n, 3n]);
    assert.deepEqual(daysBack(5n, 5n), [5n, 4n, 3n, 2n, 1n]);
    assert.deepEqual(daysBack(1n, 1n), [1n]);
  });
});

describe('paginate', () => {
  const items = Array.from({ length: 120 }, (_, i) => i);
  test('pages of 50; the last one partial', () => {
    assert.deepEqual(paginate(items, 1n), { items: items.slice(0, 50), totalPages: 3n, currentPage: 1n });
    assert.deepEqual(paginate(items, 3n), { items: items.slice(100, 120), totalPages: 3n, currentPage: 3n });
  });
  test('a page below 1 is page 1; a page past the end is empty', () => {
    assert.deepEqual(paginate(items, 0n), { items: items.slice(0, 50), totalPages: 3n, currentPage: 1n });
    assert.deepEqual(paginate(items, -7n), { items: items.slice(0, 50), totalPages: 3n, currentPage: 1n });
    assert.deepEqual(paginate(items, 4n), { items: [], totalPages: 3n, currentPage: 4n });
    assert.deepEqual(paginate(items, 9223372036854775807n), { items: [], totalPages: 3n, currentPage: 9223372036854775807n });
  });
  test('nothing: no pages', () => {
    assert.deepEqual(paginate([], 1n), { items: [], totalPages: 0n, currentPage: 1n });
  });
  test('exactly full pages', () => {
    assert.deepEqual(paginate(items.slice(0, 100), 2n), { items: items.slice(50, 100), totalPages: 2n, currentPage: 2n });
  });
});

describe('compareSlotIds', () => {
  test('by value, then anything else, ties by code points', () => {
    assert.deepEqual(['10', 'b', '2', '01', '1', 'a', '100'].sort(compareSlotIds), ['01', '1', '2', '10', '100', 'a', 'b']);
  });
});

describe("Go's number parsing", () => {
  test('strconv.Atoi: a sign and digits within int64', () => {
    assert.equal(goAtoi('42'), 42n);
    assert.equal(goAtoi('+7'), 7n);
    assert.equal(goAtoi('-007'), -7n);
    assert.equal(goAtoi('9223372036854775807'), 9223372036854775807n);
    for (const bad of ['', ' 1', '1.0', '1e2', '0x10', '9223372036854775808', '1_000']) assert.equal(goAtoi(bad), null, bad);
  });
  test('big.Int SetString then Int64: any size, the low 64 bits', () => {
    assert.equal(goBigInt64('120'), 120n);
    assert.equal(goBigInt64('18446744073709551617'), 1n);
    assert.equal(goBigInt64('9223372036854775808'), -9223372036854775808n);
    for (const bad of ['', 'abc', '1.5', ' 1']) assert.equal(goBigInt64(bad), null, bad);
  });
});

describe('rfc3339', () => {
  const zone = (minutes: number) => () => minutes;
  const cases: Array<[seconds: bigint, offsetMinutes: number, text: string]> = [
    [0n, 0, '1970-01-01T00:00:00Z'],
    [0n, 330, '1970-01-01T05:30:00+05:30'],
    [0n, -210, '1969-12-31T20:30:00-03:30'],
    [1_700_000_000n, 0, '2023-11-14T22:13:20Z'],
    [1_700_000_000n, 330, '2023-11-15T03:43:20+05:30'],
    [1_700_000_000n, -210, '2023-11-14T18:43:20-03:30'],
    [-1n, 0, '1969-12-31T23:59:59Z'],
    [-1n, 330, '1970-01-01T05:29:59+05:30'],
    [253_402_300_800n, 0, '10000-01-01T00:00:00Z'],
    [253_402_300_800n, -210, '9999-12-31T20:30:00-03:30'],
    [-62_167_219_200n, 0, '0000-01-01T00:00:00Z'],
    [-62_167_219_200n, -210, '-0001-12-31T20:30:00-03:30'],
    [-62_167_219_201n, 0, '-0001-12-31T23:59:59Z'],
    [1_000_000_000_000n, 0, '33658-09-27T01:46:40Z'],
    [1_000_000_000_000n, 330, '33658-09-27T07:16:40+05:30'],
  ];
  for (const [seconds, offset, text] of cases) {
    test(`${seconds} at ${offset} min → ${text}`, () => assert.equal(rfc3339(seconds, zone(offset)), text));
  }
  test('the zone is asked for the instant itself (ms)', () => {
    const asked: number[] = [];
    rfc3339(1_700_000_000n, (ms) => {
      asked.push(ms);
      return 0;
    });
    assert.deepEqual(asked, [1_700_000_000_000]);
  });
});

describe('checks', () => {
  test('tokenMatches: equal strings only, whatever their lengths', () => {
    assert.equal(tokenMatches('secret', 'secret'), true);
    assert.equal(tokenMatches('secreT', 'secret'), false);
    assert.equal(tokenMatches('', 'secret'), false);
    assert.equal(tokenMatches('secret-and-more', 'secret'), false);
    assert.equal(tokenMatches('é', 'é'), true);
  });

  test('configuredMarket: a configured market in any letter case, as configured (EIP-55)', () => {
    const markets = ['0x0C2E22fe7526fAeF28E7A58c84f8723dEFcE200c'];
    assert.equal(configuredMarket(markets, '0x0c2e22fe7526faef28e7a58c84f8723defce200c'), markets[0]);
    assert.equal(configuredMarket(markets, '0x0C2E22FE7526FAEF28E7A58C84F8723DEFCE200C'), markets[0]);
    assert.equal(configuredMarket(markets, '0x0C2E22fe7526fAeF28E7A58c84f8723dEFcE200d'), null);
    assert.equal(configuredMarket(markets, ''), null);
  });

  test("slotProblem: upstream's 1..10000 and its text", () => {
    assert.equal(slotProblem(1n), null);
    assert.equal(slotProblem(10_000n), null);
    assert.equal(slotProblem(0n), 'Invalid slotID: 0');
    assert.equal(slotProblem(10_001n), 'Invalid slotID: 10001');
    assert.equal(slotProblem(-9223372036854775808n), 'Invalid slotID: -9223372036854775808');
  });
});

describe('CORS (gorilla/handlers v1.5.2 as upstream configures it)', () => {
  const request = (fields: Partial<CorsRequest>): CorsRequest => ({ method: 'POST', origin: undefined, requestMethod: undefined, requestHeaders: undefined, ...fields });

  test('no Origin: nothing added; OPTIONS answered 200 at once', () => {
    assert.deepEqual(corsDecision(request({})), { headers: {}, answerStatus: null });
    assert.deepEqual(corsDecision(request({ origin: '' })), { headers: {}, answerStatus: null });
    assert.deepEqual(corsDecision(request({ method: 'OPTIONS' })), { headers: {}, answerStatus: 200 });
  });

  test('a request with an Origin: Access-Control-Allow-Origin *, then the route', () => {
    assert.deepEqual(corsDecision(request({ origin: 'https://app.example' })), { headers: { 'Access-Control-Allow-Origin': '*' }, answerStatus: null });
  });

  test('preflights', () => {
    const preflight = (requestMethod: string | undefined, requestHeaders?: string) => corsDecision(request({ method: 'OPTIONS', origin: 'https://app.example', requestMethod, requestHeaders }));
    assert.deepEqual(preflight(undefined), { headers: {}, answerStatus: 400 });
    assert.deepEqual(preflight('PATCH'), { headers: {}, answerStatus: 405 });
    assert.deepEqual(preflight('post'), { headers: {}, answerStatus: 405 });
    assert.deepEqual(preflight('POST'), { headers: { 'Access-Control-Allow-Origin': '*' }, answerStatus: 200 });
    assert.deepEqual(preflight('POST', 'content-type, accept,x-request-id'), {
      headers: { 'Access-Control-Allow-Headers': 'Content-Type,X-Request-Id', 'Access-Control-Allow-Origin': '*' },
      answerStatus: 200,
    });
    assert.deepEqual(preflight('DELETE', 'Authorization'), {
      headers: { 'Access-Control-Allow-Headers': 'Authorization', 'Access-Control-Allow-Methods': 'DELETE', 'Access-Control-Allow-Origin': '*' },
      answerStatus: 200,
    });
    assert.deepEqual(preflight('POST', 'content-type,x-custom'), { headers: {}, answerStatus: 403 });
  });

  test("canonicalHeaderKey: Go's canonical form; a name with a non-token byte unchanged", () => {
    assert.equal(canonicalHeaderKey('content-type'), 'Content-Type');
    assert.equal(canonicalHeaderKey('X-REQUEST-ID'), 'X-Request-Id');
    assert.equal(canonicalHeaderKey('x request'), 'x request');
    assert.equal(canonicalHeaderKey(''), '');
  });
});

describe('request schemas', () => {
  test("the OpenAPI body of a route: the struct's fields, their types and upstream's bounds", () => {
    assert.deepEqual(bodySchemaOf(SubmissionsRequest), {
      type: 'object',
      title: 'SubmissionsRequest',
      properties: {
        token: { type: 'string', description: 'AUTH_READ_TOKEN' },
        slotID: { type: 'integer', format: 'int64', description: 'snapshotter slot', minimum: 1, maximum: 10000 },
        pastDays: { type: 'integer', format: 'int64', description: 'how many days back from the current day, the current day included', minimum: 1 },
        dataMarketAddress: { type: 'string', description: 'a configured data market (any letter case)' },
      },
    });
  });
});
