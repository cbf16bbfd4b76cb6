/**
 * The read API through real HTTP on a loopback port, against a real redis-server and a real
 * Hardhat chain running our ProtocolState test contract (dayCounter, slotSubmissionCount): every
 * route's success and each of its error rules, with upstream's exact bodies and status codes;
 * request IDs, methods, content types, CORS, the OpenAPI document.
 */
import { request as httpRequest } from 'node:http';
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { protocolStateReader } from '../../src/api/main.js';
import { buildApiServer } from '../../src/api/server.js';
import { ChainClient } from '../../src/chain/rpc.js';
import { deployTestContracts, startHardhatNode, type HardhatNode, type TestChain } from '../../devstack/chain.js';
import { freePort } from '../../devstack/process.js';
import { startRedis, type RedisServer } from '../../devstack/redis.js';

const TOKEN = 'read-token-for-tests';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** Timestamps are shown in this zone (India, +05:30): a zone with minutes shows the offset is applied. */
const IST = () => 330;

let node: HardhatNode;
let redis: RedisServer;
let chain: TestChain;
let app: FastifyInstance;
let base: string;
/** The configured market (EIP-55) and its lower-case form (the keys' form). */
let M: string;
let m: string;
/** A second configured market, with nothing stored. */
let M2: string;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One HTTP request, any method and body (fetch cannot send a GET body). */
function send(path: string, body: string | undefined, opts: { method?: string; headers?: Record<string, string>; to?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${opts.to ?? base}${path}`, { method: opts.method ?? 'POST', headers: { ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...opts.headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const post = (path: string, body: Record<string, unknown>, opts: { query?: string; to?: string } = {}) => send(`${path}${opts.query ?? ''}`, JSON.stringify(body), { headers: { 'content-type': 'application/json' }, ...(opts.to ? { to: opts.to } : {}) });

/** A 200 whose body is upstream's envelope around exactly `response` (JSON text), with the request's own ID. */
function assertSuccess(answer: Answer, response: string): void {
  const id = answer.headers['x-request-id'];
  assert.equal(typeof id, 'string');
  assert.match(id as string, UUID);
  assert.deepEqual({ status: answer.status, text: answer.text }, { status: 200, text: `{"info":{"success":true,"response":${response}},"requestID":"${id as string}"}\n` });
  assert.equal(answer.headers['content-type'], 'application/json; charset=utf-8');
}

/** An error: upstream's status and plain text (and a request ID all the same). */
function assertRefused(answer: Answer, status: number, text: string): void {
  assert.deepEqual({ status: answer.status, text: answer.text }, { status, text: `${text}\n` });
  assert.equal(answer.headers['content-type'], 'text/plain; charset=utf-8');
  assert.match(answer.headers['x-request-id'] as string, UUID);
}

async function contract(fn: string, ...args: unknown[]): Promise<void> {
  const tx = (await chain.protocolState.getFunction(fn)(...args)) as { wait(): Promise<unknown> };
  await tx.wait();
}

async function serverWith(chainUrl: string, overrides: { publicUrl?: string } = {}): Promise<{ app: FastifyInstance; url: string }> {
  const server = await buildApiServer({
    redis: redis.client,
    chain: protocolStateReader(new ChainClient([chainUrl], { timeoutMs: 5000 }), chain.protocolStateAddress),
    authReadToken: TOKEN,
    dataMarkets: [M, M2],
    publicUrl: overrides.publicUrl,
    logger: pino({ level: 'silent' }),
    utcOffsetMinutes: IST,
  });
  await server.listen({ host: '127.0.0.1', port: 0 });
  const { port } = server.server.address() as { port: number };
  return { app: server, url: `http://127.0.0.1:${port}` };
}

before(async () => {
  [node, redis] = await Promise.all([startHardhatNode(), startRedis()]);
  chain = await deployTestContracts(node.url, 2);
  [M, M2] = chain.markets as [string, string];
  m = M.toLowerCase();
  ({ app, url: base } = await serverWith(node.url, { publicUrl: 'https://sequencer-api.example.test' }));
});

after(async () => {
  await app?.close();
  await Promise.all([node?.stop(), redis?.stop()]);
});

beforeEach(async () => {
  await redis.client.flushdb();
});

/** A body every route accepts up to its market check: only the market is wrong. */
const allValid = () => ({ token: TOKEN, slotID: 1, pastDays: 1, epochID: 1, day: 1, page: 1 });

const ROUTES = [
  '/totalSubmissions',
  '/eligibleNodesCount',
  '/eligibleNodesCountPastDays',
  '/batchCount',
  '/epochSubmissionDetails',
  '/eligibleSlotSubmissionCount',
  '/discardedSubmissionsByEpoch',
  '/discardedSubmissionsByDay',
  '/lastSimulatedSubmission',
  '/lastSnapshotSubmission',
  '/activeNodesCountByEpoch',
  '/snapshotterNodeVersion',
];

describe('rules every route shares', () => {
  test('a wrong or missing token: 401 Incorrect Token!, before any other check', async () => {
    for (const path of ROUTES) {
      assertRefused(await post(path, { ...allValid(), token: 'wrong', dataMarketAddress: M }), 401, 'Incorrect Token!');
      assertRefused(await post(path, {}), 401, 'Incorrect Token!');
    }
  });

  test('a market that is not configured: 400 Invalid Data Market Address!', async () => {
    for (const path of ROUTES) {
      assertRefused(await post(path, { ...allValid(), dataMarketAddress: '0x0000000000000000000000000000000000000001' }), 400, 'Invalid Data Market Address!');
      assertRefused(await post(path, { ...allValid(), dataMarketAddress: 'not an address' }), 400, 'Invalid Data Market Address!');
    }
  });

  test("a body Go's decoder refuses: 400 with its error text", async () => {
    for (const path of ROUTES) {
      assertRefused(await send(path, ''), 400, 'EOF');
      assertRefused(await send(path, '{"token":'), 400, 'unexpected EOF');
      assertRefused(await send(path, '{token}'), 400, "invalid character 't' looking for beginning of object key string");
      assertRefused(await send(path, '[]'), 400, `json: cannot unmarshal array into Go value of type service.${
        {
          '/totalSubmissions': 'SubmissionsRequest',
          '/eligibleNodesCount': 'EligibleNodesCountRequest',
          '/eligibleNodesCountPastDays': 'EligibleNodesPastDaysRequest',
          '/batchCount': 'EpochDataMarketRequest',
          '/epochSubmissionDetails': 'EpochDataMarketRequest',
          '/eligibleSlotSubmissionCount': 'EpochDataMarketDayRequest',
          '/discardedSubmissionsByEpoch': 'EpochDataMarketDayRequest',
          '/discardedSubmissionsByDay': 'DiscardedSubmissionsByDayRequest',
          '/lastSimulatedSubmission': 'SlotIDInDataMarketRequest',
          '/lastSnapshotSubmission': 'SlotIDInDataMarketRequest',
          '/activeNodesCountByEpoch': 'EpochDataMarketRequest',
          '/snapshotterNodeVersion': 'SnapshotterNodeVersionRequest',
        }[path]
      }`);
    }
    assertRefused(await post('/batchCount', { token: TOKEN, epochID: '5', dataMarketAddress: M }), 400, 'json: cannot unmarshal string into Go struct field EpochDataMarketRequest.epochID of type int');
    assertRefused(await post('/lastSimulatedSubmission', { token: TOKEN, snapshotterAddress: 7, slotID: 1, dataMarketAddress: M }), 400, 'json: cannot unmarshal number into Go struct field SlotIDInDataMarketRequest.snapshotterAddress of type string');
  });

  test('keys in any letter case, the market in any letter case, anything after the JSON value ignored', async () => {
    await redis.client.set(`BatchCountKey.${m}.9`, '4');
    assertSuccess(await send('/batchCount', `{"TOKEN":"${TOKEN}","epochid":9,"DataMarketAddress":"${m}"} and then some`), '{"totalBatches":4}');
  });
});

describe('/totalSubmissions', () => {
  test("newest first: the finalizer's eligible counts, the contract's where Redis has none (or no number), counted submissions or 0", async () => {
    await redis.client.set(`CurrentDayKey.${m}`, '3');
    await redis.client.mset(`EligibleSlotSubmissionsKey.${m}.3.7`, '80', `EligibleSlotSubmissionsKey.${m}.1.7`, 'garbage', `SlotSubmissionsKey.${m}.3.7`, '120', `SlotSubmissionsKey.${m}.2.7`, '200');
    await contract('setSlotSubmissionCount', M, 7, 2, 11);
    await contract('setSlotSubmissionCount', M, 7, 1, 5);
    await contract('setSlotSubmissionCount', M, 7, 3, 999); // not read: Redis has day 3
    assertSuccess(
      await post('/totalSubmissions', { token: TOKEN, slotID: 7, pastDays: 3, dataMarketAddress: M }),
      '[{"day":3,"eligibleSubmissions":80,"totalSubmissions":120},{"day":2,"eligibleSubmissions":11,"totalSubmissions":200},{"day":1,"eligibleSubmissions":5,"totalSubmissions":0}]',
    );
  });

  test("the current day is the contract's dayCounter when CurrentDayKey is missing or holds no day", async () => {
    await contract('setDayCounter', M, 2);
    assertSuccess(await post('/totalSubmissions', { token: TOKEN, slotID: 1, pastDays: 1, dataMarketAddress: M }), '[{"day":2,"eligibleSubmissions":0,"totalSubmissions":0}]');
    await redis.client.set(`CurrentDayKey.${m}`, 'not a day');
    assertRefused(await post('/totalSubmissions', { token: TOKEN, slotID: 1, pastDays: 3, dataMarketAddress: M }), 400, 'Past days cannot exceed the current day (2)');
  });

  test("upstream's checks in upstream's order", async () => {
    await redis.client.set(`CurrentDayKey.${m}`, '3');
    const body = { token: TOKEN, slotID: 7, pastDays: 3, dataMarketAddress: M };
    assertRefused(await post('/totalSubmissions', { ...body, pastDays: 0, slotID: 0 }), 400, 'Past days should be at least 1');
    assertRefused(await post('/totalSubmissions', { ...body, pastDays: -1 }), 400, 'Past days should be at least 1');
    assertRefused(await post('/totalSubmissions', { ...body, slotID: 0, dataMarketAddress: 'x' }), 400, 'Invalid slotID: 0');
    assertRefused(await post('/totalSubmissions', { ...body, slotID: 10_001 }), 400, 'Invalid slotID: 10001');
    assertRefused(await post('/totalSubmissions', { ...body, pastDays: 4 }), 400, 'Past days cannot exceed the current day (3)');
  });

  test('a count Redis cannot give is an error, not a 0', async () => {
    await redis.client.set(`CurrentDayKey.${m}`, '1');
    await redis.client.rpush(`SlotSubmissionsKey.${m}.1.7`, 'a list');
    assertRefused(await post('/totalSubmissions', { token: TOKEN, slotID: 7, pastDays: 1, dataMarketAddress: M }), 500, 'Internal Server Error: Failed to fetch total submissions');
  });
});

describe('/eligibleNodesCount and /eligibleNodesCountPastDays', () => {
  test('the count, and the slot IDs in order with ?includeSlotDetails=true', async () => {
    await redis.client.set(`CurrentDayKey.${m}`, '3');
    await redis.client.sadd(`EligibleNodeByDayKey.${m}.2`, '10', '2', '1');
    const body = { token: TOKEN, day: 2, dataMarketAddress: M };
    assertSuccess(await post('/eligibleNodesCount', body), '{"day":2,"eligibleNodesCount":3,"slotIDs":[]}');
    assertSuccess(await post('/eligibleNodesCount', body, { query: '?includeSlotDetails=true' }), '{"day":2,"eligibleNodesCount":3,"slotIDs":["1","2","10"]}');
    assertSuccess(await post('/eligibleNodesCount', body, { query: '?includeSlotDetails=false&includeSlotDetails=true' }), '{"day":2,"eligibleNodesCount":3,"slotIDs":[]}');
    assertSuccess(await post('/eligibleNodesCount', { ...body, day: 1 }, { query: '?includeSlotDetails=true' }), '{"day":1,"eligibleNodesCount":0,"slotIDs":[]}');
    assertSuccess(
      await post('/eligibleNodesCountPastDays', { token: TOKEN, pastDays: 3, dataMarketAddress: M }, { query: '?includeSlotDetails=true' }),
      '[{"day":3,"eligibleNodesCount":0,"slotIDs":[]},{"day":2,"eligibleNodesCount":3,"slotIDs":["1","2","10"]},{"day":1,"eligibleNodesCount":0,"slotIDs":[]}]',
    );
    assertSuccess(await post('/eligibleNodesCountPastDays', { token: TOKEN, pastDays: 2, dataMarketAddress: M }), '[{"day":3,"eligibleNodesCount":0,"slotIDs":[]},{"day":2,"eligibleNodesCount":3,"slotIDs":[]}]');
  });

  test('the day and pastDays rules', async () => {
    await redis.client.set(`CurrentDayKey.${m}`, '3');
    assertRefused(await post('/eligibleNodesCount', { token: TOKEN, day: 0, dataMarketAddress: M }), 400, 'Day must be greater than or equal to 1');
    assertRefused(await post('/eligibleNodesCount', { token: TOKEN, day: 4, dataMarketAddress: M }), 400, 'Day must not exceed the current day (3)');
    assertRefused(await post('/eligibleNodesCountPastDays', { token: TOKEN, pastDays: 0, dataMarketAddress: 'x' }), 400, 'Past days should be at least 1');
    assertRefused(await post('/eligibleNodesCountPastDays', { token: TOKEN, pastDays: 4, dataMarketAddress: M }), 400, 'Past days cannot exceed the current day (3)');
  });

  test('a set Redis cannot give is an error, not an empty list', async () => {
    await redis.client.set(`CurrentDayKey.${m}`, '3');
    await redis.client.set(`EligibleNodeByDayKey.${m}.2`, 'a string');
    assertRefused(await post('/eligibleNodesCount', { token: TOKEN, day: 2, dataMarketAddress: M }), 500, 'Internal Server Error: Failed to fetch eligible nodes');
    assertRefused(await post('/eligibleNodesCountPastDays', { token: TOKEN, pastDays: 2, dataMarketAddress: M }), 500, 'Internal Server Error: Failed to fetch eligible nodes');
  });
});

describe('/batchCount', () => {
  test("the epoch's batch count; none is upstream's 500", async () => {
    await redis.client.set(`BatchCountKey.${m}.42`, '3');
    assertSuccess(await post('/batchCount', { token: TOKEN, epochID: 42, dataMarketAddress: M }), '{"totalBatches":3}');
    assertRefused(await post('/batchCount', { token: TOKEN, epochID: 43, dataMarketAddress: M }), 500, 'Internal Server Error: Invalid batch count format');
    await redis.client.hset(`BatchCountKey.${m}.44`, 'a', 'hash');
    assertRefused(await post('/batchCount', { token: TOKEN, epochID: 44, dataMarketAddress: M }), 500, 'Internal Server Error: Failed to fetch batch count');
  });

  test('epochID 0 or below: 400 before the market is looked at', async () => {
    assertRefused(await post('/batchCount', { token: TOKEN, epochID: 0, dataMarketAddress: 'x' }), 400, 'EpochID is missing or invalid');
    assertRefused(await post('/batchCount', { token: TOKEN, epochID: -1, dataMarketAddress: M }), 400, 'EpochID is missing or invalid');
    assertRefused(await post('/batchCount', { token: TOKEN, dataMarketAddress: M }), 400, 'EpochID is missing or invalid');
  });
});

describe('/epochSubmissionDetails', () => {
  test('submissions by ID, zero fields left out, values protojson refuses skipped', async () => {
    await redis.client.hset(`EpochSubmissionsKey.${m}.42`, {
      'b-2': '{"request":{"slotId":7,"deadline":120,"snapshotCid":"bafy<b>","epochId":42,"projectId":"a:0xabc:NS"},"signature":"sig","header":"0xh","dataMarket":"0xdm","nodeVersion":"v1"}',
      'a-1': '{"request":{"slotId":"3","epochId":"42","projectId":"p"},"signature":"s2"}',
      'c-3': '{"request":{"slotId":1},"unknownField":true}',
      'd-4': '{"signature":"no request"}',
    });
    assertSuccess(
      await post('/epochSubmissionDetails', { token: TOKEN, epochID: 42, dataMarketAddress: M }),
      '{"submissions":[' +
        '{"submissionID":"a-1","submissionData":{"request":{"slotID":3,"epochID":42,"projectID":"p"},"signature":"s2"}},' +
        '{"submissionID":"b-2","submissionData":{"request":{"slotID":7,"deadline":120,"snapshotCID":"bafy\\u003cb\\u003e","epochID":42,"projectID":"a:0xabc:NS"},"signature":"sig","header":"0xh"}},' +
        '{"submissionID":"d-4","submissionData":{"request":{},"signature":"no request"}}]}',
    );
    assertSuccess(await post('/epochSubmissionDetails', { token: TOKEN, epochID: 43, dataMarketAddress: M }), '{"submissions":[]}');
    assertRefused(await post('/epochSubmissionDetails', { token: TOKEN, epochID: 0, dataMarketAddress: M }), 400, 'EpochID is missing or invalid');
  });
});

describe('/eligibleSlotSubmissionCount', () => {
  test('counts by slot ID, entries that are no numbers skipped; [] when none', async () => {
    await redis.client.hset(`EligibleSlotSubmissionByEpochKey.${m}.5.42`, { '10': '4', '2': '7', x: '1', '3': 'y' });
    const body = { token: TOKEN, day: 5, epochID: 42, dataMarketAddress: M };
    assertSuccess(await post('/eligibleSlotSubmissionCount', body), '{"eligibleSubmissionCounts":[{"slotID":2,"count":7},{"slotID":10,"count":4}]}');
    assertSuccess(await post('/eligibleSlotSubmissionCount', { ...body, epochID: 43 }), '{"eligibleSubmissionCounts":[]}');
    assertRefused(await post('/eligibleSlotSubmissionCount', { ...body, day: 0, epochID: 0 }), 400, 'Invalid day!');
    assertRefused(await post('/eligibleSlotSubmissionCount', { ...body, epochID: 0 }), 400, 'EpochID is missing or invalid');
    await redis.client.set(`EligibleSlotSubmissionByEpochKey.${m}.5.44`, 'a string');
    assertRefused(await post('/eligibleSlotSubmissionCount', { ...body, epochID: 44 }), 500, 'Internal Server Error: Failed to fetch eligible submission counts for epoch 44');
  });
});

describe('/discardedSubmissionsByEpoch', () => {
  test('the first 50 projects by ID, the same 50 every time; unreadable values skipped; [] when none', async () => {
    const fields: Record<string, string> = { 'p-unreadable': '{"discardedSubmissionCount":"x"}' };
    for (let i = 0; i < 52; i++) fields[`p${String(i).padStart(2, '0')}`] = `{"MostFrequentSnapshotCID":"cid${i}","DiscardedSubmissionCount":1,"DiscardedSubmissions":{"10":["x${i}"],"2":null}}`;
    await redis.client.hset(`DiscardedSubmissionKey.${m}.5.42`, fields);
    const expected = Array.from(
      { length: 50 },
      (_, i) => `{"projectID":"p${String(i).padStart(2, '0')}","details":{"mostFrequentSnapshotCID":"cid${i}","discardedSubmissionCount":1,"discardedSubmissions":{"10":["x${i}"],"2":[]}}}`,
    );
    const body = { token: TOKEN, day: 5, epochID: 42, dataMarketAddress: M };
    assertSuccess(await post('/discardedSubmissionsByEpoch', body), `{"projects":[${expected.join(',')}]}`);
    assertSuccess(await post('/discardedSubmissionsByEpoch', { ...body, epochID: 43 }), '{"projects":[]}');
    assertRefused(await post('/discardedSubmissionsByEpoch', { ...body, day: -3 }), 400, 'Invalid day!');
    assertRefused(await post('/discardedSubmissionsByEpoch', { ...body, epochID: 0 }), 400, 'EpochID is missing or invalid');
  });

  test("a map upstream left null is {}", async () => {
    await redis.client.hset(`DiscardedSubmissionKey.${m}.5.42`, 'p', '{"mostFrequentSnapshotCID":"c"}');
    assertSuccess(
      await post('/discardedSubmissionsByEpoch', { token: TOKEN, day: 5, epochID: 42, dataMarketAddress: M }),
      '{"projects":[{"projectID":"p","details":{"mostFrequentSnapshotCID":"c","discardedSubmissionCount":0,"discardedSubmissions":{}}}]}',
    );
  });
});

describe('/discardedSubmissionsByDay', () => {
  const project = (i: number) => `p${String(i).padStart(2, '0')}`;
  const details = (i: number) => `{"finalizedCID":"f${i}","discardedSubmissionCount":1,"discardedSubmissions":["d${i}"]}`;
  const answerOf = (i: number) => `{"projectID":"${project(i)}","details":${details(i)}}`;
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

  beforeEach(async () => {
    await redis.client.set(`CurrentDayKey.${m}`, '5');
    // 60 projects of slot 1, stored in reverse order: pages follow the IDs, not the storage.
    const bySlot = `{${range(0, 60)
      .reverse()
      .map((i) => `"${project(i)}":${details(i)}`)
      .join(',')},"p-gone":null}`;
    await redis.client.hset(`DiscardedSubmissionKey.${m}.5`, { '1': bySlot, '3': 'not JSON', '4': '{"p":{"finalizedCID":"c"}}' });
  });

  test('pages of 50 projects by ID; page below 1 is page 1; past the end empty', async () => {
    const body = { token: TOKEN, day: 5, slotID: 1, dataMarketAddress: M };
    const page = (items: number[], totalPages: number, currentPage: number) => `{"slotID":1,"discardedSubmissions":[${items.map(answerOf).join(',')}],"totalPages":${totalPages},"currentPage":${currentPage}}`;
    assertSuccess(await post('/discardedSubmissionsByDay', { ...body, page: 1 }), page(range(0, 50), 2, 1));
    assertSuccess(await post('/discardedSubmissionsByDay', { ...body, page: 2 }), page(range(50, 60), 2, 2));
    assertSuccess(await post('/discardedSubmissionsByDay', body), page(range(0, 50), 2, 1));
    assertSuccess(await post('/discardedSubmissionsByDay', { ...body, page: 3 }), page([], 2, 3));
  });

  test('a project without CIDs has []; a day with nothing discarded is an empty page 0 of 0 with the page as asked', async () => {
    assertSuccess(
      await post('/discardedSubmissionsByDay', { token: TOKEN, day: 5, slotID: 4, page: 1, dataMarketAddress: M }),
      '{"slotID":4,"discardedSubmissions":[{"projectID":"p","details":{"finalizedCID":"c","discardedSubmissionCount":0,"discardedSubmissions":[]}}],"totalPages":1,"currentPage":1}',
    );
    assertSuccess(await post('/discardedSubmissionsByDay', { token: TOKEN, day: 4, slotID: 1, page: 0, dataMarketAddress: M }), '{"slotID":1,"discardedSubmissions":[],"totalPages":0,"currentPage":0}');
  });

  test('errors: no entry for the slot 404, unreadable JSON 500, and the day and slot rules', async () => {
    const body = { token: TOKEN, day: 5, slotID: 1, page: 1, dataMarketAddress: M };
    assertRefused(await post('/discardedSubmissionsByDay', { ...body, slotID: 2 }), 404, 'No discarded submissions found for slotID 2');
    assertRefused(await post('/discardedSubmissionsByDay', { ...body, slotID: 3 }), 500, 'Internal Server Error: Failed to parse discarded submission details for slotID 3');
    assertRefused(await post('/discardedSubmissionsByDay', { ...body, day: 0, slotID: 0 }), 400, 'Day must be greater than or equal to 1');
    assertRefused(await post('/discardedSubmissionsByDay', { ...body, day: 6 }), 400, 'Day must not exceed the current day (5)');
    assertRefused(await post('/discardedSubmissionsByDay', { ...body, slotID: 0 }), 400, 'Invalid slotID: 0');
    await redis.client.set(`DiscardedSubmissionKey.${m}.3`, 'a string');
    assertRefused(await post('/discardedSubmissionsByDay', { ...body, day: 3 }), 500, 'Internal Server Error: Failed to fetch discarded submission details from Redis for day 3');
  });
});

describe('/lastSimulatedSubmission, /lastSnapshotSubmission, /snapshotterNodeVersion', () => {
  test("the time in the server's zone (RFC 3339) and the node version, v0.0.0 when unknown", async () => {
    await redis.client.mset(`LastSimulatedSubmissionKey.${m}.7`, '1700000000', `LastSnapshotSubmissionKey.${m}.7`, '1700000001', `snapshotter:${m}:7:node_version`, 'v1.2.0');
    await redis.client.set(`LastSnapshotSubmissionKey.${m}.8`, '0');
    const body = { token: TOKEN, slotID: 7, dataMarketAddress: M };
    assertSuccess(await post('/lastSimulatedSubmission', body), '{"timestamp":"2023-11-15T03:43:20+05:30","nodeVersion":"v1.2.0"}');
    assertSuccess(await post('/lastSnapshotSubmission', body), '{"timestamp":"2023-11-15T03:43:21+05:30","nodeVersion":"v1.2.0"}');
    assertSuccess(await post('/lastSnapshotSubmission', { ...body, slotID: 8 }), '{"timestamp":"1970-01-01T05:30:00+05:30","nodeVersion":"v0.0.0"}');
    assertSuccess(await post('/snapshotterNodeVersion', body), '"v1.2.0"');
  });

  test("upstream's errors", async () => {
    await redis.client.set(`LastSimulatedSubmissionKey.${m}.9`, 'yesterday');
    const body = { token: TOKEN, slotID: 7, dataMarketAddress: M };
    assertRefused(await post('/lastSimulatedSubmission', body), 500, 'Failed to fetch last simulated submission');
    assertRefused(await post('/lastSnapshotSubmission', body), 500, 'Failed to fetch last snapshot submission');
    assertRefused(await post('/lastSimulatedSubmission', { ...body, slotID: 9 }), 500, 'Failed to parse timestamp');
    assertRefused(await post('/snapshotterNodeVersion', body), 500, 'Failed to fetch snapshotter node version');
    for (const path of ['/lastSimulatedSubmission', '/lastSnapshotSubmission', '/snapshotterNodeVersion']) {
      assertRefused(await post(path, { ...body, slotID: 10_001 }), 400, 'Invalid slotID: 10001');
      assertRefused(await post(path, { ...body, slotID: 0, dataMarketAddress: 'x' }), 400, 'Invalid Data Market Address!');
    }
  });
});

describe('/activeNodesCountByEpoch', () => {
  test("the epoch's active slots; 0 when none", async () => {
    await redis.client.sadd(`ActiveSnapshottersForEpoch.${m}.42`, '1', '2', '3');
    assertSuccess(await post('/activeNodesCountByEpoch', { token: TOKEN, epochID: 42, dataMarketAddress: M }), '3');
    assertSuccess(await post('/activeNodesCountByEpoch', { token: TOKEN, epochID: 43, dataMarketAddress: M2 }), '0');
    assertRefused(await post('/activeNodesCountByEpoch', { token: TOKEN, epochID: 0, dataMarketAddress: M }), 400, 'EpochID is missing or invalid');
    await redis.client.set(`ActiveSnapshottersForEpoch.${m}.44`, 'a string');
    assertRefused(await post('/activeNodesCountByEpoch', { token: TOKEN, epochID: 44, dataMarketAddress: M }), 500, 'Internal Server Error: Failed to fetch epoch active nodes count');
  });
});

describe('a chain that does not answer', () => {
  let dead: { app: FastifyInstance; url: string };
  before(async () => {
    dead = await serverWith(`http://127.0.0.1:${await freePort()}`);
  });
  after(async () => {
    await dead.app.close();
  });

  test("no current day: upstream's 400; a missing eligible count: 500, never a 0", async () => {
    assertRefused(await post('/eligibleNodesCount', { token: TOKEN, day: 1, dataMarketAddress: M }, { to: dead.url }), 400, 'Failed to fetch current day');
    await redis.client.set(`CurrentDayKey.${m}`, '1');
    assertRefused(await post('/totalSubmissions', { token: TOKEN, slotID: 1, pastDays: 1, dataMarketAddress: M }, { to: dead.url }), 500, 'Internal Server Error: Failed to fetch eligible submissions');
    await redis.client.set(`EligibleSlotSubmissionsKey.${m}.1.1`, '6');
    assertSuccess(await post('/totalSubmissions', { token: TOKEN, slotID: 1, pastDays: 1, dataMarketAddress: M }, { to: dead.url }), '[{"day":1,"eligibleSubmissions":6,"totalSubmissions":0}]');
  });
});

describe('HTTP', () => {
  test('every method with a body answers as POST (upstream serves any method), whatever the Content-Type', async () => {
    await redis.client.set(`BatchCountKey.${m}.1`, '2');
    const body = JSON.stringify({ token: TOKEN, epochID: 1, dataMarketAddress: M });
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE']) assertSuccess(await send('/batchCount', body, { method }), '{"totalBatches":2}');
    assertSuccess(await send('/batchCount', body, { headers: { 'content-type': 'application/x-www-form-urlencoded' } }), '{"totalBatches":2}');
    assertSuccess(await send('/batchCount', body, { headers: { 'content-type': 'text/plain' } }), '{"totalBatches":2}');
    const head = await send('/batchCount', body, { method: 'HEAD' });
    assert.deepEqual([head.status, head.text], [200, '']);
    assertRefused(await send('/batchCount', undefined, { method: 'GET' }), 400, 'EOF');
    assertRefused(await send('/batchCount', '', { headers: { 'content-type': 'application/json' } }), 400, 'EOF');
  });

  test('each response has its own X-Request-ID, the envelope the same', async () => {
    const a = await post('/activeNodesCountByEpoch', { token: TOKEN, epochID: 1, dataMarketAddress: M });
    const b = await post('/activeNodesCountByEpoch', { token: TOKEN, epochID: 1, dataMarketAddress: M });
    assertSuccess(a, '0');
    assertSuccess(b, '0');
    assert.notEqual(a.headers['x-request-id'], b.headers['x-request-id']);
  });

  test('an unknown path: 404 page not found; a body over 1 MiB: 413', async () => {
    assertRefused(await post('/nothingHere', {}), 404, '404 page not found');
    assertRefused(await post('/totalSubmissions/', {}), 404, '404 page not found');
    assertRefused(await send('/batchCount', `{"token":"${'x'.repeat(1 << 20)}"}`), 413, 'Request body is too large');
  });

  test("CORS as upstream's gorilla handler", async () => {
    const origin = { origin: 'https://dashboard.example' };
    const preflight = await send('/totalSubmissions', undefined, { method: 'OPTIONS', headers: { ...origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    assert.deepEqual([preflight.status, preflight.text, preflight.headers['access-control-allow-origin'], preflight.headers['access-control-allow-headers']], [200, '', '*', 'Content-Type']);
    assert.match(preflight.headers['x-request-id'] as string, UUID);
    const refused = await send('/totalSubmissions', undefined, { method: 'OPTIONS', headers: { ...origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-secret' } });
    assert.deepEqual([refused.status, refused.text, refused.headers['access-control-allow-origin']], [403, '', undefined]);
    const bare = await send('/totalSubmissions', undefined, { method: 'OPTIONS' });
    assert.deepEqual([bare.status, bare.text, bare.headers['access-control-allow-origin']], [200, '', undefined]);
    const simple = await send('/batchCount', '{}', { headers: origin });
    assert.equal(simple.headers['access-control-allow-origin'], '*');
    assertRefused(simple, 401, 'Incorrect Token!');
  });

  test('the OpenAPI document at /swagger/doc.json (POST routes, API_HOST as the server) and Swagger UI at /swagger/', async () => {
    const doc = await send('/swagger/doc.json', undefined, { method: 'GET' });
    assert.equal(doc.status, 200);
    const spec = JSON.parse(doc.text) as { openapi: string; servers: unknown; paths: Record<string, Record<string, { requestBody: { content: Record<string, { schema: { title: string } }> } }>> };
    assert.equal(spec.openapi, '3.0.3');
    assert.deepEqual(spec.servers, [{ url: 'https://sequencer-api.example.test' }]);
    assert.deepEqual(Object.keys(spec.paths).sort(), [...ROUTES].sort());
    for (const path of ROUTES) assert.deepEqual(Object.keys(spec.paths[path]!), ['post'], path);
    assert.equal(spec.paths['/totalSubmissions']!.post!.requestBody.content['application/json']!.schema.title, 'SubmissionsRequest');
    const ui = await send('/swagger/', undefined, { method: 'GET' });
    assert.equal(ui.status, 200);
    assert.match(ui.text, /<div id="swagger-ui">/);
  });
});
