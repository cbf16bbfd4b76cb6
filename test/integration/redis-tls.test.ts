/**
 * Redis over TLS, as an ACL user: a real redis-server that speaks only TLS and wants a client
 * certificate, with certificates of a throwaway CA made by the openssl CLI, and a user with the
 * README's least-privilege rules (REDIS_ACL_RULES). The worker starts on it, seqflow's batch
 * effects work through that user, and a CA that does not sign the server's certificate, a
 * missing client certificate and a wrong password each stop the worker with exit code 2 naming
 * the variables at fault.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ethers } from 'ethers';
import { Redis } from 'ioredis';
import { namingRedisOutage } from '../../src/activities/redis-outage.js';
import { loadWorkerConfig } from '../../src/config.js';
import * as keys from '../../src/domain/keys.js';
import { REDIS_ACL_RULES, RedisConnection } from '../../src/services/redis.js';
import { runActivity } from '../support/activity-env.js';
import { certificate } from '../support/certs.js';
import { batchActivitiesWithoutChain } from '../support/stored-window.js';
import { fileSubmission } from '../../devstack/dequeuer.js';
import { freePort, spawnService, type ServiceProcess } from '../../devstack/process.js';
import { PROJECT_ROOT, connectTemporal, runWorkerToExit, type TemporalServer } from '../../devstack/temporal.js';

const MARKET = ethers.getAddress('0x' + 'a1b2'.repeat(10));
const USER = 'seqflow';
const PASSWORD = 'acl-test-password';
/** The README's recipe, with its placeholder password: the test's user is made from the same line. */
const README_ACL_LINE = `ACL SETUSER ${USER} reset on >CHANGE-ME ${REDIS_ACL_RULES}`;

let dir = '';
let port = 0;
let server: ServiceProcess | undefined;
let admin: Redis | undefined;
let temporal: TemporalServer | undefined;

const file = (name: string) => path.join(dir, name);

/** A client of the test's server over TLS with the client certificate: the default user, or `user`. */
function tlsClient(user?: { username: string; password: string }): Redis {
  const client = new Redis({
    host: '127.0.0.1', port, ...user, maxRetriesPerRequest: 0, retryStrategy: () => null,
    tls: { ca: fs.readFileSync(file('ca.crt')), cert: fs.readFileSync(file('client.crt')), key: fs.readFileSync(file('client.key')) },
  });
  client.on('error', () => {}); // a probe before the server is up: the next probe tries again
  return client;
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqflow-redis-tls-'));
  certificate(dir, 'ca', 'seqflow test CA');
  certificate(dir, 'other-ca', 'another CA');
  certificate(dir, 'server', 'redis', { ca: 'ca', san: 'IP:127.0.0.1' });
  certificate(dir, 'client', 'seqflow', { ca: 'ca' });
  port = await freePort();
  [server, temporal] = await Promise.all([
    spawnService({
      name: 'redis-tls',
      command: 'redis-server',
      args: [
        '--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
        '--tls-cert-file', file('server.crt'), '--tls-key-file', file('server.key'), '--tls-ca-cert-file', file('ca.crt'), '--tls-auth-clients', 'yes',
      ],
      ready: async () => {
        const probe = tlsClient();
        try {
          return (await probe.ping()) === 'PONG';
        } finally {
          probe.disconnect();
        }
      },
    }),
    connectTemporal(),
  ]);
  admin = tlsClient();
  // The README's line, with this test's password.
  await admin.call('ACL', ...README_ACL_LINE.replace('>CHANGE-ME', `>${PASSWORD}`).split(' ').slice(1));
});

after(async () => {
  admin?.disconnect();
  await Promise.all([server?.stop(), temporal?.stop()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

const tlsEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  RPC_NODES: '["http://127.0.0.1:1"]',
  PROTOCOL_STATE_CONTRACT: '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed',
  DATA_MARKET_ADDRESSES: JSON.stringify([MARKET]),
  TX_RELAYER_URL: 'http://127.0.0.1:1',
  TX_RELAYER_AUTH_WRITE_TOKEN: 'token',
  BATCH_SIZE: '1',
  HTTP_TIMEOUT: '5',
  REWARDS_UPDATE_BATCH_SIZE: '50',
  REWARDS_UPDATE_EPOCH_INTERVAL: '10',
  REDIS_HOST: '127.0.0.1',
  REDIS_PORT: String(port),
  REDIS_USERNAME: USER,
  REDIS_PASSWORD: PASSWORD,
  REDIS_TLS: 'true',
  REDIS_TLS_CA_FILE: file('ca.crt'),
  REDIS_TLS_CERT_FILE: file('client.crt'),
  REDIS_TLS_KEY_FILE: file('client.key'),
  TEMPORAL_ADDRESS: temporal!.address,
  TEMPORAL_TASK_QUEUE: 'redis-tls-test',
});

const runWorker = (env: NodeJS.ProcessEnv) => runWorkerToExit(env, 30000);

test('the README recipe is the ACL line the test gives its user', () => {
  assert.ok(fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8').includes(`\n${README_ACL_LINE}\n`), `README.md lacks the line:\n${README_ACL_LINE}`);
});

test('the worker starts over TLS as the least-privilege ACL user', async () => {
  const worker = await spawnService({
    name: 'worker-tls',
    command: process.execPath,
    args: ['--import', 'tsx', path.join(PROJECT_ROOT, 'src/worker.ts')],
    cwd: PROJECT_ROOT,
    env: { ...tlsEnv(), METRICS_HOST: '127.0.0.1', METRICS_PORT: String(await freePort()) },
    ready: async (w) => w.log().includes('"msg":"seqflow worker ready"'),
  });
  await worker.stop('SIGTERM');
  assert.equal(await worker.exited, 0);
  assert.doesNotMatch(worker.log(), /NOPERM|"level":50/);
  // ioredis's ready check (INFO) and the REDIS_DB check (SELECT) were let through.
  const denials = (await admin!.call('ACL', 'LOG')) as unknown[];
  assert.deepEqual(denials, []);
});

test("an epoch's batches are stored and pushed through the restricted user", async () => {
  const config = loadWorkerConfig(tlsEnv());
  const connection = new RedisConnection(config.redis, { warn: () => {}, info: () => {} });
  try {
    await connection.open();
    const hashes = ['0x' + '11'.repeat(32), '0x' + '22'.repeat(32)];
    // The follower's stored hashes: the blocks are not asked from the (absent) chain.
    for (const [i, hash] of hashes.entries()) await admin!.set(keys.blockHashByNumber(101 + i), hash);
    const submissions = [
      { projectId: 'pairContract:0xabc:UNISWAP', slotId: 1, header: hashes[0]! },
      { projectId: 'pairContract:0xabc:UNISWAP', slotId: 2, header: hashes[1]! },
      { projectId: 'aggregate:0xdef:UNISWAP', slotId: 1, header: hashes[1]! },
    ];
    for (const s of submissions) await fileSubmission(admin!, { market: MARKET, epochId: 9, ...s });
    const activities = namingRedisOutage(connection, batchActivitiesWithoutChain(connection.client, { market: MARKET, batchSize: 1 }));

    const prepared = await runActivity(activities.prepareBatches, { market: MARKET, epochId: '9', fromBlock: 101, toBlock: 102, day: '4' });
    assert.deepEqual(prepared, { batchCount: 2, submissionCount: 3, malformedCount: 0, storedNow: true });
    const m = MARKET.toLowerCase();
    assert.deepEqual(await admin!.mget(keys.slotSubmissions(m, '4', '1'), keys.slotSubmissions(m, '4', '2'), keys.batchCount(m, '9')), ['2', '1', '2']);

    assert.deepEqual(await runActivity(activities.pushBatchesToFinalizer, { market: MARKET, epochId: '9', batchCount: 2 }), { pushedNow: 2 });
    const queue = (await admin!.lrange(keys.finalizerQueue, 0, -1)).reverse();
    assert.deepEqual(queue.map((q) => (JSON.parse(q) as { BatchID: number }).BatchID), [1, 2]);
    // Run again (a retry): the guard, read and written by the same user, pushes nothing twice.
    assert.deepEqual(await runActivity(activities.pushBatchesToFinalizer, { market: MARKET, epochId: '9', batchCount: 2 }), { pushedNow: 0 });
    assert.deepEqual(await admin!.call('ACL', 'LOG'), []);
  } finally {
    connection.close();
  }
});

test('a user lacking a command fails the activity naming the command and its keys', async () => {
  // The rules without LPUSH, which only the push script runs: Redis's own message names neither.
  await admin!.call('ACL', 'SETUSER', 'no-lpush', 'reset', 'on', `>${PASSWORD}`, ...REDIS_ACL_RULES.split(' ').filter((rule) => rule !== '+lpush'));
  const config = loadWorkerConfig({ ...tlsEnv(), REDIS_USERNAME: 'no-lpush' });
  const connection = new RedisConnection(config.redis, { warn: () => {}, info: () => {} });
  try {
    await connection.open();
    const m = MARKET.toLowerCase();
    await admin!.set(keys.batchSubmissions(m, '10', 1), '{}');
    const queued = await admin!.llen(keys.finalizerQueue);
    const activities = namingRedisOutage(connection, batchActivitiesWithoutChain(connection.client, { market: MARKET, batchSize: 1 }));
    await assert.rejects(runActivity(activities.pushBatchesToFinalizer, { market: MARKET, epochId: '10', batchCount: 1 }), (err: Error) => {
      assert.match(
        err.message,
        new RegExp(`^NOPERM the Redis user \\(REDIS_USERNAME\\) may not run EVAL on seqflow:FinalizerPushed\\.${m}\\.10, finalizerQueue, BatchSubmissionsKey\\.${m}\\.10\\.1, or a command the script runs \\(see the ACL rules in the README\\): ERR The user executing the script can't run this command or subcommand`),
      );
      return true;
    });
    assert.equal(await admin!.llen(keys.finalizerQueue), queued);
  } finally {
    connection.close();
    await admin!.call('ACL', 'LOG', 'RESET');
  }
});

test('a CA that did not sign the server certificate: exit 2 naming REDIS_TLS_CA_FILE', async () => {
  const { code, stderr } = await runWorker({ ...tlsEnv(), REDIS_TLS_CA_FILE: file('other-ca.crt') });
  assert.equal(code, 2);
  assert.match(stderr, new RegExp(`REDIS_TLS_CA_FILE: Redis at 127\\.0\\.0\\.1:${port} has a certificate that REDIS_TLS_CA_FILE does not trust: self-signed certificate in certificate chain`));
});

test('no client certificate for a server that requires one: exit 2 naming REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE', async () => {
  const { code, stderr } = await runWorker({ ...tlsEnv(), REDIS_TLS_CERT_FILE: undefined, REDIS_TLS_KEY_FILE: undefined });
  assert.equal(code, 2);
  assert.match(stderr, new RegExp(`REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE: Redis at 127\\.0\\.0\\.1:${port} refused the client certificate \\(none is configured\\): .*alert certificate required`));
});

test('a wrong ACL password: exit 2 naming REDIS_USERNAME and REDIS_PASSWORD', async () => {
  const { code, stderr } = await runWorker({ ...tlsEnv(), REDIS_PASSWORD: 'wrong-password' });
  assert.equal(code, 2);
  assert.match(stderr, new RegExp(`REDIS_USERNAME, REDIS_PASSWORD: Redis at 127\\.0\\.0\\.1:${port} refused them: WRONGPASS invalid username-password pair or user is disabled`));
});

test('a TLS file that cannot be read: exit 2 naming its variable', async () => {
  const { code, stderr } = await runWorker({ ...tlsEnv(), REDIS_TLS_KEY_FILE: file('missing.key') });
  assert.equal(code, 2);
  assert.match(stderr, new RegExp(`REDIS_TLS_KEY_FILE: cannot read it: ENOENT: no such file or directory, open '${file('missing.key').replace(/[.]/g, '\\.')}'`));
});
