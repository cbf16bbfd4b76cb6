/** The worker refuses a bad configuration at start-up, naming every bad variable. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../support/temporal.js';

const goodEnv = {
  PATH: process.env.PATH,
  RPC_NODES: '["http://127.0.0.1:1"]',
  PROTOCOL_STATE_CONTRACT: '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed',
  DATA_MARKET_ADDRESSES: '["0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359"]',
  REDIS_HOST: '127.0.0.1',
  REDIS_PORT: '6379',
  TX_RELAYER_URL: 'http://127.0.0.1:1',
  TX_RELAYER_AUTH_WRITE_TOKEN: 'token',
  BATCH_SIZE: '10',
  HTTP_TIMEOUT: '5',
  REWARDS_UPDATE_BATCH_SIZE: '50',
  REWARDS_UPDATE_EPOCH_INTERVAL: '10',
};

async function runWorker(env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  try {
    await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src/worker.ts')], { env, cwd: PROJECT_ROOT, timeout: 30_000 });
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

test('zero, negative and malformed values stop the worker with exit code 2, naming each variable', async () => {
  const { code, stderr } = await runWorker({ ...goodEnv, BATCH_SIZE: '0', HTTP_TIMEOUT: '-1', REDIS_PORT: 'redis', DATA_MARKET_ADDRESSES: '["0x123"]' });
  assert.equal(code, 2);
  assert.match(stderr, /BATCH_SIZE must be at least 1, got 0/);
  assert.match(stderr, /HTTP_TIMEOUT must be between 1 and 3600, got -1/);
  assert.match(stderr, /REDIS_PORT must be an integer, got "redis"/);
  assert.match(stderr, /DATA_MARKET_ADDRESSES has an invalid address "0x123"/);
});

test('a missing variable is named', async () => {
  const { code, stderr } = await runWorker({ ...goodEnv, TX_RELAYER_AUTH_WRITE_TOKEN: undefined });
  assert.equal(code, 2);
  assert.match(stderr, /TX_RELAYER_AUTH_WRITE_TOKEN is required/);
});
