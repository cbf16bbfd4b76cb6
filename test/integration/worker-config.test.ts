/**
 * The worker refuses a bad configuration at start-up, naming every bad variable, with exit
 * code 2: values it can check alone, then the services it needs (Redis and its database,
 * Temporal and its namespace), checked against real servers.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startRedis, type RedisServer } from '../../devstack/redis.js';
import { connectTemporal, minimalWorkerEnv, runWorkerToExit, type TemporalServer } from '../../devstack/temporal.js';

/** Valid on its own; the tests that reach the services give the real Redis port (servicesEnv). */
const goodEnv = minimalWorkerEnv(6379);

let redis: RedisServer | undefined;
let temporal: TemporalServer | undefined;

before(async () => {
  [redis, temporal] = await Promise.all([startRedis(), connectTemporal()]);
});

after(async () => {
  await Promise.all([redis?.stop(), temporal?.stop()]);
});

/** Real services, a task queue no test polls: the worker would start. */
const servicesEnv = () => ({ ...goodEnv, REDIS_PORT: String(redis!.port), TEMPORAL_ADDRESS: temporal!.address, TEMPORAL_TASK_QUEUE: 'worker-config-test' });

const runWorker = (env: NodeJS.ProcessEnv) => runWorkerToExit(env, 40000);

test('zero, negative and malformed values stop the worker with exit code 2, naming each variable', async () => {
  const { code, stderr } = await runWorker({ ...goodEnv, BATCH_SIZE: '0', HTTP_TIMEOUT: '-1', REDIS_PORT: 'redis', DATA_MARKET_ADDRESSES: '["0x123"]' });
  assert.equal(code, 2);
  assert.match(stderr, /BATCH_SIZE must be between 1 and 10000, got 0/);
  assert.match(stderr, /HTTP_TIMEOUT must be between 1 and 3600, got -1/);
  assert.match(stderr, /REDIS_PORT must be an integer, got "redis"/);
  assert.match(stderr, /DATA_MARKET_ADDRESSES has an invalid address "0x123"/);
});

test('a missing variable is named', async () => {
  const { code, stderr } = await runWorker({ ...goodEnv, TX_RELAYER_AUTH_WRITE_TOKEN: undefined });
  assert.equal(code, 2);
  assert.match(stderr, /TX_RELAYER_AUTH_WRITE_TOKEN is required/);
});

test('BATCH_SIZE=99999999999999999999 (beyond 2^53) is refused, naming it', async () => {
  const { code, stderr } = await runWorker({ ...servicesEnv(), BATCH_SIZE: '99999999999999999999' });
  assert.equal(code, 2);
  assert.match(stderr, /BATCH_SIZE must be between 1 and 10000, got 99999999999999999999/);
});

test('REDIS_DB=99 on a server with 16 databases: exit 2 naming REDIS_DB, before Temporal is touched', async () => {
  const { code, stderr } = await runWorker({ ...servicesEnv(), REDIS_DB: '99', TEMPORAL_ADDRESS: '127.0.0.1:1' });
  assert.equal(code, 2);
  assert.match(stderr, new RegExp(`REDIS_DB: Redis at 127\\.0\\.0\\.1:${redis!.port} has no database 99: ERR DB index is out of range`));
  assert.doesNotMatch(stderr, /TEMPORAL_ADDRESS/);
});

test('an unreachable REDIS_HOST:REDIS_PORT: exit 2 naming both after the start-up wait', async () => {
  const { code, stderr, ms } = await runWorker({ ...servicesEnv(), REDIS_PORT: '1' });
  assert.equal(code, 2);
  assert.match(stderr, /REDIS_HOST, REDIS_PORT: no Redis answers at 127\.0\.0\.1:1 within 10 s: .*ECONNREFUSED/);
  assert.ok(ms >= 10_000, `gave up after ${ms} ms: a compose stack starting together gets 10 s`);
  assert.doesNotMatch(stderr, /Unhandled error event/);
});

test('a wrong REDIS_PASSWORD: exit 2 naming it', async () => {
  const guarded = await startRedis();
  try {
    await guarded.client.config('SET', 'requirepass', 'right-password');
    const { code, stderr } = await runWorker({ ...servicesEnv(), REDIS_PORT: String(guarded.port), REDIS_PASSWORD: 'wrong-password' });
    assert.equal(code, 2);
    assert.match(stderr, /REDIS_PASSWORD: Redis at 127\.0\.0\.1:\d+ refused it: WRONGPASS/);
  } finally {
    await guarded.client.call('AUTH', 'right-password');
    await guarded.stop();
  }
});

test('a wrong TEMPORAL_ADDRESS: exit 2 naming it after the start-up wait', async () => {
  const { code, stderr } = await runWorker({ ...servicesEnv(), TEMPORAL_ADDRESS: '127.0.0.1:1' });
  assert.equal(code, 2);
  assert.match(stderr, /TEMPORAL_ADDRESS: no Temporal frontend answers at 127\.0\.0\.1:1 within 10 s: .*Connection refused/);
});

test('a TEMPORAL_NAMESPACE the server does not have: exit 2 naming it', async () => {
  const { code, stderr } = await runWorker({ ...servicesEnv(), TEMPORAL_NAMESPACE: 'no-such-namespace' });
  assert.equal(code, 2);
  assert.match(stderr, /TEMPORAL_NAMESPACE: Temporal at 127\.0\.0\.1:\d+ has no namespace "no-such-namespace"/);
});
