/**
 * submitBatchSize against the relayer stand-in (a real HTTP server) and a real Redis: the
 * exact body, the once-only guard, and which failures Temporal may retry.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { ethers } from 'ethers';
import { createRelayerActivities, RELAYER_REJECTED } from '../../src/activities/relayer.js';
import * as keys from '../../src/domain/keys.js';
import { freePort } from '../../devstack/process.js';
import { startRedis, type RedisServer } from '../../devstack/redis.js';
import { startRelayer, type RelayerStandIn } from '../../devstack/relayer.js';
import { runActivity, startActivity, failure } from '../support/activity-env.js';

const TOKEN = 'relayer-token-\u00e9"quoted"';
const A = ethers.getAddress('0x' + '5e'.repeat(20));
const a = A.toLowerCase();
const PATH = '/submitBatchSize';

let redis: RedisServer | undefined;
let relayer: RelayerStandIn | undefined;
/** An HTTP server that reads requests and never answers. */
let silent: http.Server | undefined;
let silentUrl: string;

const activitiesFor = (url: string, opts: { authToken?: string; timeoutMs?: number } = {}) =>
  createRelayerActivities({ redis: redis!.client, relayer: { url, authToken: opts.authToken ?? TOKEN, timeoutMs: opts.timeoutMs ?? 5000 } });
const guard = (epochId: string) => redis!.client.get(keys.batchSizeSent(a, epochId));
const sentFor = (epochId: string) => relayer!.requests.filter((r) => r.path === PATH && r.json.epochID === Number(epochId));


before(async () => {
  [redis, relayer] = await Promise.all([startRedis(), startRelayer(TOKEN)]);
  silent = http.createServer((req) => req.resume());
  await new Promise<void>((resolve) => silent!.listen(0, '127.0.0.1', resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
});

after(async () => {
  silent?.closeAllConnections();
  await new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve()));
  await Promise.all([relayer?.stop(), redis?.stop()]);
});

test('submitBatchSize posts the exact body, once: a second call sends nothing', async () => {
  const { submitBatchSize } = activitiesFor(relayer!.url);
  assert.deepEqual(await runActivity(submitBatchSize, { market: A, epochId: '101', batchCount: 3 }), { sentNow: true });
  const sent = sentFor('101');
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.status, 200);
  assert.equal(sent[0]!.body, `{"epochID":101,"batchSize":3,"authToken":${JSON.stringify(TOKEN)},"dataMarketAddress":"${A}"}`);
  assert.equal(await guard('101'), '3');
  const ttl = await redis!.client.ttl(keys.batchSizeSent(a, '101'));
  assert.ok(ttl > 0 && ttl <= keys.GUARD_TTL_SECONDS);

  assert.deepEqual(await runActivity(submitBatchSize, { market: A, epochId: '101', batchCount: 3 }), { sentNow: false });
  assert.equal(sentFor('101').length, 1);
});

test('0 batches is reported too, and a large epoch id stays an exact JSON number', async () => {
  const { submitBatchSize } = activitiesFor(relayer!.url);
  const big = '123456789012345678901234567890';
  assert.deepEqual(await runActivity(submitBatchSize, { market: A, epochId: big, batchCount: 0 }), { sentNow: true });
  const last = relayer!.requests.at(-1)!;
  assert.equal(last.body, `{"epochID":${big},"batchSize":0,"authToken":${JSON.stringify(TOKEN)},"dataMarketAddress":"${A}"}`);
  assert.equal(await guard(big), '0');
});

test('500, 408 and 429 are retryable failures and leave the guard unset; the retry then succeeds', async () => {
  const { submitBatchSize } = activitiesFor(relayer!.url);
  const input = { market: A, epochId: '102', batchCount: 2 };
  relayer!.failNext(PATH, [500, 408, 429]);
  for (const status of [500, 408, 429]) {
    await assert.rejects(runActivity(submitBatchSize, input), failure({ nonRetryable: false, type: 'RelayerUnavailable', message: new RegExp(`HTTP ${status}`) }));
    assert.equal(await guard('102'), null, `guard after ${status}`);
  }
  assert.deepEqual(await runActivity(submitBatchSize, input), { sentNow: true });
  assert.deepEqual(sentFor('102').map((r) => r.status), [500, 408, 429, 200]);
  assert.equal(new Set(sentFor('102').map((r) => r.body)).size, 1, 'every attempt sends the same body');
  assert.equal(await guard('102'), '2');
});

test('400, 401 and 422 are the relayer refusing: non-retryable RelayerRejected with its answer', async () => {
  const { submitBatchSize } = activitiesFor(relayer!.url);
  relayer!.failNext(PATH, [400, 422]);
  for (const status of [400, 422]) {
    await assert.rejects(
      runActivity(submitBatchSize, { market: A, epochId: '103', batchCount: 1 }),
      failure({ nonRetryable: true, type: RELAYER_REJECTED, message: new RegExp(`HTTP ${status}: \\{"message": ?"Invalid request payload!"\\}`) }),
    );
  }
  const wrongToken = activitiesFor(relayer!.url, { authToken: 'not-the-token' });
  await assert.rejects(
    runActivity(wrongToken.submitBatchSize, { market: A, epochId: '103', batchCount: 1 }),
    failure({ nonRetryable: true, type: RELAYER_REJECTED, message: /HTTP 401: \{"message": ?"Unauthorized"\}/ }),
  );
  assert.deepEqual(sentFor('103').map((r) => r.status), [400, 422, 401]);
  assert.equal(await guard('103'), null);
});

test('a relayer that is not listening: the call fails, retryably', async () => {
  const { submitBatchSize } = activitiesFor(`http://127.0.0.1:${await freePort()}`);
  await assert.rejects(runActivity(submitBatchSize, { market: A, epochId: '104', batchCount: 1 }), (err: unknown) => {
    assert.ok(!(err instanceof ApplicationFailure && err.nonRetryable), `not retryable: ${String(err)}`);
    assert.match(String((err as Error).cause ?? err), /ECONNREFUSED/);
    return true;
  });
  assert.equal(await guard('104'), null);
});

test('a relayer slower than timeoutMs: the call fails after about timeoutMs, retryably', async () => {
  const { submitBatchSize } = activitiesFor(silentUrl, { timeoutMs: 300 });
  const t0 = performance.now();
  await assert.rejects(runActivity(submitBatchSize, { market: A, epochId: '105', batchCount: 1 }), (err: unknown) => {
    assert.ok(!(err instanceof ApplicationFailure && err.nonRetryable), `not retryable: ${String(err)}`);
    assert.equal((err as Error).name, 'TimeoutError');
    return true;
  });
  const ms = performance.now() - t0;
  assert.ok(ms >= 250 && ms < 1500, `failed after ${ms.toFixed(0)} ms`);
  assert.equal(await guard('105'), null);
});

test('cancelling the activity aborts a hanging request at once', async () => {
  const { submitBatchSize } = activitiesFor(silentUrl, { timeoutMs: 60_000 });
  const run = startActivity(submitBatchSize, [{ market: A, epochId: '106', batchCount: 1 }]);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const t0 = performance.now();
  run.env.cancel();
  await assert.rejects(run.result, (err: unknown) => err instanceof CancelledFailure);
  assert.ok(performance.now() - t0 < 1000);
  assert.equal(await guard('106'), null);
});
