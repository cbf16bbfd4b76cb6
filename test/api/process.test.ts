/**
 * `npx seqflow api` as an operator runs it: a process of its own on a real redis-server that
 * answers over a real socket, logs with pino, and stops cleanly on SIGTERM; and its refusals at
 * start-up (exit 2 naming the variables, 64 for bad usage).
 */
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { seqflow } from '../../devstack/cli.js';
import { freePort, spawnService } from '../../devstack/process.js';
import { startRedis, type RedisServer } from '../../devstack/redis.js';
import { PROJECT_ROOT } from '../../devstack/temporal.js';

const MARKET = '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359';

let redis: RedisServer;

before(async () => {
  redis = await startRedis();
});

after(async () => {
  await redis?.stop();
});

/** A complete environment of its own (nothing inherited but PATH), the API on a free loopback port. */
async function apiEnv(overrides: Record<string, string | undefined> = {}): Promise<NodeJS.ProcessEnv> {
  return {
    PATH: process.env.PATH,
    // Nobody answers there: the routes used here need no contract read.
    RPC_NODES: `["http://127.0.0.1:${await freePort()}"]`,
    PROTOCOL_STATE_CONTRACT: '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed',
    DATA_MARKET_ADDRESSES: JSON.stringify([MARKET.toLowerCase()]),
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(redis.port),
    AUTH_READ_TOKEN: 'process-token',
    API_LISTEN_HOST: '127.0.0.1',
    API_PORT: String(await freePort()),
    // The server's zone is the process's: timestamps show it.
    TZ: 'Asia/Kolkata',
    ...overrides,
  };
}

test('seqflow api: answers over its socket, logs JSON, stops on SIGTERM with exit 0', async () => {
  const env = await apiEnv({ API_HOST: 'api.example.test' });
  const base = `http://127.0.0.1:${env.API_PORT!}`;
  let requestID: string | null = null;
  await redis.client.set(`BatchCountKey.${MARKET.toLowerCase()}.42`, '5');
  await redis.client.set(`LastSnapshotSubmissionKey.${MARKET.toLowerCase()}.3`, '1700000000');
  const api = await spawnService({
    name: 'seqflow-api',
    command: process.execPath,
    args: [path.join(PROJECT_ROOT, 'bin/seqflow.js'), 'api'],
    cwd: PROJECT_ROOT,
    env,
    ready: async () => (await fetch(`${base}/swagger/doc.json`)).ok,
  });
  try {
    const answer = await fetch(`${base}/batchCount`, { method: 'POST', body: JSON.stringify({ token: 'process-token', epochID: 42, dataMarketAddress: MARKET }) });
    requestID = answer.headers.get('x-request-id');
    assert.equal(answer.status, 200);
    assert.equal(await answer.text(), `{"info":{"success":true,"response":{"totalBatches":5}},"requestID":"${requestID}"}\n`);

    const time = await fetch(`${base}/lastSnapshotSubmission`, { method: 'POST', body: JSON.stringify({ token: 'process-token', slotID: 3, dataMarketAddress: MARKET }) });
    assert.equal(await time.text(), `{"info":{"success":true,"response":{"timestamp":"2023-11-15T03:43:20+05:30","nodeVersion":"v0.0.0"}},"requestID":"${time.headers.get('x-request-id')}"}\n`);

    const refused = await fetch(`${base}/batchCount`, { method: 'POST', body: '{"token":"nope"}' });
    assert.deepEqual([refused.status, await refused.text()], [401, 'Incorrect Token!\n']);

    const spec = (await (await fetch(`${base}/swagger/doc.json`)).json()) as { servers: unknown };
    assert.deepEqual(spec.servers, [{ url: 'https://api.example.test' }]);
  } finally {
    await api.stop('SIGTERM');
  }
  assert.equal(await api.exited, 0);
  const lines = api
    .log()
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { msg: string; level: number; requestID?: string; service: string });
  const messages = lines.map((l) => l.msg);
  assert.ok(messages.includes('seqflow read API ready'), messages.join(' | '));
  assert.deepEqual(messages.slice(-2), ['seqflow read API stopping', 'seqflow read API stopped']);
  assert.ok(lines.every((l) => l.service === 'seqflow'));
  assert.deepEqual(
    lines.filter((l) => l.requestID === requestID).map((l) => l.msg),
    ['incoming request', 'request completed'],
  );
});

test('seqflow api refuses to start: bad configuration, a database Redis does not have, a port in use (exit 2); arguments (exit 64)', async () => {
  const missing = await seqflow(['api'], await apiEnv({ AUTH_READ_TOKEN: undefined, API_PORT: 'eighty' }));
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr, 'seqflow: invalid configuration:\n  - AUTH_READ_TOKEN is required\n  - API_PORT must be an integer, got "eighty"\n');

  const noDatabase = await seqflow(['api'], await apiEnv({ REDIS_DB: '99999' }));
  assert.equal(noDatabase.code, 2);
  assert.match(noDatabase.stderr, new RegExp(`^seqflow: invalid configuration:\\n  - REDIS_DB: Redis at 127\\.0\\.0\\.1:${redis.port} has no database 99999: `));

  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as net.AddressInfo;
  try {
    const busy = await seqflow(['api'], await apiEnv({ API_PORT: String(port) }));
    assert.equal(busy.code, 2);
    assert.match(busy.stderr, new RegExp(`^seqflow: invalid configuration:\\n  - API_LISTEN_HOST, API_PORT: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
  } finally {
    taken.close();
  }

  const usage = await seqflow(['api', MARKET], await apiEnv());
  assert.deepEqual([usage.code, usage.stderr], [64, 'api takes no markets: it answers for DATA_MARKET_ADDRESSES\n']);
});
