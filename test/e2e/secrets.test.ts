/**
 * Secrets never leave the process: the relayer token, the Redis password and the read API's
 * token are given as `<NAME>_FILE` files (the Docker secrets convention) with recognisable
 * values, a real epoch runs with the relayer refusing it while echoing the request (token
 * included), another is batched, the read API answers, configurations are refused; then every
 * output (the worker's and the API's logs, everything the CLI printed, every workflow history
 * of the run, its payloads decoded) is searched for each value.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { rootCause } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { REDACTED } from '../../src/domain/redact.js';
import { marketWorkflowId, stopUpdate } from '../../src/workflows/definitions.js';
import { seqflow, type CliResult } from '../../devstack/cli.js';
import { fileSubmission } from '../../devstack/dequeuer.js';
import { epochOutcome, marketStatus } from '../support/epochs.js';
import { payloadsOf } from '../support/histories.js';
import { freePort, spawnService, waitFor, type ServiceProcess } from '../../devstack/process.js';
import { PROJECT_ROOT } from '../../devstack/temporal.js';
import { startStack, type Stack, type WorkerProcess } from '../../devstack/stack.js';

const RELAYER_TOKEN = `sekret-relayer-${randomUUID()}`;
const REDIS_PASSWORD = `sekret-redis-${randomUUID()}`;
const READ_TOKEN = `sekret-read-${randomUUID()}`;
/** Refused by Redis: it must not show in the refusal either. */
const WRONG_REDIS_PASSWORD = `sekret-wrong-redis-${randomUUID()}`;
const SECRETS = [RELAYER_TOKEN, REDIS_PASSWORD, READ_TOKEN, WRONG_REDIS_PASSWORD];

let stack: Stack;
let worker: WorkerProcess;
let market: string;
let dir: string;
/** Every text the run printed, by where it came from. */
const outputs: Array<{ source: string; text: string }> = [];

/** A secret file as `docker compose` mounts one: the value and a trailing newline. */
function secretFile(name: string, content: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content, { mode: 0o600 });
  return file;
}

async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  const result = await seqflow(args, env);
  outputs.push({ source: `seqflow ${args.join(' ')}`, text: `${result.stdout}\n${result.stderr}` });
  return result;
}

/** The worker run to its exit (a refused configuration); its output kept. */
async function refusedWorker(env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  try {
    await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src/worker.ts')], { env, cwd: PROJECT_ROOT, timeout: 40_000 });
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    outputs.push({ source: 'refused worker', text: `${e.stdout}\n${e.stderr}` });
    return { code: e.code, stderr: e.stderr };
  }
}

/** The worker's environment with the secrets as files instead of values. */
const fileEnv = (): NodeJS.ProcessEnv => ({
  ...stack.env,
  TX_RELAYER_AUTH_WRITE_TOKEN: undefined,
  TX_RELAYER_AUTH_WRITE_TOKEN_FILE: path.join(dir, 'relayer_token'),
  REDIS_PASSWORD_FILE: path.join(dir, 'redis_password'),
});

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqflow-secrets-'));
  secretFile('relayer_token', `${RELAYER_TOKEN}\n`);
  secretFile('redis_password', `${REDIS_PASSWORD}\n`);
  secretFile('read_token', `${READ_TOKEN}\r\n`);
  stack = await startStack({ markets: 1, params: { submissionWindow: 2 }, relayerToken: RELAYER_TOKEN });
  [market] = stack.chain.markets as [string];
  // The server asks for the password from now on; the tests' own client keeps it for reconnects.
  await stack.redis.client.config('SET', 'requirepass', REDIS_PASSWORD);
  stack.redis.client.options.password = REDIS_PASSWORD;
  await stack.redis.client.call('AUTH', REDIS_PASSWORD);
  worker = await stack.startWorker(fileEnv());
});

after(async () => {
  await stack?.temporal.client.workflow.getHandle(marketWorkflowId(market)).executeUpdate(stopUpdate).catch(() => undefined);
  await stack?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function releaseWithSubmissions(projects: number): Promise<number> {
  const rel = await stack.chain.releaseEpoch(market);
  for (let p = 0; p < projects; p++) {
    await fileSubmission(stack.redis.client, { market, epochId: rel.epochId, projectId: `project${p}:0x${p}:NS`, slotId: p + 1, header: rel.blockHash });
  }
  return rel.epochId;
}

test('secrets given as _FILE files appear in no log, no CLI output, no error and no workflow history', async () => {
  const env = fileEnv();
  assert.equal((await cli(['start'], env)).code, 0);
  await waitFor('the market following', async () => (await marketStatus(stack.temporal.client, market)).cursor);

  // Refused after three 500s, each answer echoing the request and its token: the failures go to
  // the worker's log, the pending activity (status) and the epoch's history.
  stack.relayer.failNext('/submitBatchSize', [500, 500, 500, 422], { echo: true });
  const refused = await releaseWithSubmissions(1);
  const retrying = await waitFor('the relayer failure in status --json', async () => {
    const status = await cli(['status', '--json'], env);
    const [row] = JSON.parse(status.stdout) as Array<{ problems: Array<{ kind: string; detail: string }> }>;
    return row?.problems.find((p) => p.kind === 'epoch-retrying');
  });
  assert.match(retrying.detail, new RegExp(`^epoch ${refused}: submitEpoch attempt \\d+: relayer answered /submitBatchSize with HTTP 500: \\{"message":"Invalid request payload!","input":\\{"epochID":${refused},"batchSize":1,"authToken":"\\[redacted\\]","dataMarketAddress":"${market}"\\}\\}$`));
  await assert.rejects(epochOutcome(stack.temporal.client, market, refused), (err: Error) => {
    assert.equal(
      rootCause(err.cause),
      `relayer answered /submitBatchSize with HTTP 422: {"message":"Invalid request payload!","input":{"epochID":${refused},"batchSize":1,"authToken":"${REDACTED}","dataMarketAddress":"${market}"}}`,
    );
    return true;
  });
  const calls = stack.relayer.requests.filter((r) => r.path === '/submitBatchSize');
  assert.deepEqual(calls.map((r) => [r.status, r.json.authToken]), [500, 500, 500, 422].map((s) => [s, RELAYER_TOKEN]));

  const batched = await releaseWithSubmissions(3);
  const outcome = await epochOutcome(stack.temporal.client, market, batched);
  assert.equal(outcome.batchCount, 2);
  await stack.temporal.client.workflow.getHandle(`market/${market}/epoch/${batched}`).result();
  assert.deepEqual(stack.relayer.accepted('/submitBatchSize').map((r) => r.json.authToken), [RELAYER_TOKEN]);
  await cli(['status'], env);
  await cli(['status', '--json'], env);

  // The read API with its token and the Redis password from files.
  const apiPort = await freePort();
  const apiEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    RPC_NODES: stack.env.RPC_NODES,
    PROTOCOL_STATE_CONTRACT: stack.env.PROTOCOL_STATE_CONTRACT,
    DATA_MARKET_ADDRESSES: stack.env.DATA_MARKET_ADDRESSES,
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(stack.redis.port),
    REDIS_PASSWORD_FILE: path.join(dir, 'redis_password'),
    AUTH_READ_TOKEN_FILE: path.join(dir, 'read_token'),
    API_LISTEN_HOST: '127.0.0.1',
    API_PORT: String(apiPort),
    LOG_LEVEL: 'trace',
  };
  const base = `http://127.0.0.1:${apiPort}`;
  const api: ServiceProcess = await spawnService({
    name: 'seqflow-api',
    command: process.execPath,
    args: [path.join(PROJECT_ROOT, 'bin/seqflow.js'), 'api'],
    cwd: PROJECT_ROOT,
    env: apiEnv,
    ready: async () => (await fetch(`${base}/swagger/doc.json`)).ok,
  });
  try {
    const answer = await fetch(`${base}/batchCount`, { method: 'POST', body: JSON.stringify({ token: READ_TOKEN, epochID: batched, dataMarketAddress: market }) });
    assert.equal(await answer.text(), `{"info":{"success":true,"response":{"totalBatches":2}},"requestID":"${answer.headers.get('x-request-id')}"}\n`);
    const wrong = await fetch(`${base}/batchCount`, { method: 'POST', body: JSON.stringify({ token: `${READ_TOKEN}x`, epochID: batched, dataMarketAddress: market }) });
    assert.deepEqual([wrong.status, await wrong.text()], [401, 'Incorrect Token!\n']);
  } finally {
    await api.stop('SIGTERM');
  }
  assert.equal(await api.exited, 0);
  outputs.push({ source: 'api log', text: api.log() });

  // Refused configurations name the variables, never the values.
  const empty = secretFile('empty', '\n');
  const [both, unreadable, workerBoth, wrongPassword] = await Promise.all([
    cli(['api'], { ...apiEnv, AUTH_READ_TOKEN: READ_TOKEN }),
    cli(['api'], { ...apiEnv, AUTH_READ_TOKEN_FILE: path.join(dir, 'missing'), REDIS_PASSWORD_FILE: empty }),
    refusedWorker({ ...env, TX_RELAYER_AUTH_WRITE_TOKEN: RELAYER_TOKEN }),
    refusedWorker({ ...env, REDIS_PASSWORD_FILE: secretFile('wrong_redis_password', `${WRONG_REDIS_PASSWORD}\n`), TEMPORAL_TASK_QUEUE: 'secrets-refused' }),
  ]);
  assert.deepEqual([both.code, both.stderr], [2, 'seqflow: invalid configuration:\n  - AUTH_READ_TOKEN and AUTH_READ_TOKEN_FILE are both set: set one of them\n']);
  assert.deepEqual(
    [unreadable.code, unreadable.stderr],
    [2, `seqflow: invalid configuration:\n  - REDIS_PASSWORD_FILE: ${empty} is empty\n  - AUTH_READ_TOKEN_FILE: cannot read it: ENOENT: no such file or directory, open '${path.join(dir, 'missing')}'\n`],
  );
  assert.deepEqual(
    [workerBoth.code, workerBoth.stderr],
    [2, 'seqflow worker: invalid configuration:\n  - TX_RELAYER_AUTH_WRITE_TOKEN and TX_RELAYER_AUTH_WRITE_TOKEN_FILE are both set: set one of them\n'],
  );
  assert.equal(wrongPassword.code, 2);
  assert.match(wrongPassword.stderr, new RegExp(`^seqflow worker: invalid configuration:\\n  - REDIS_PASSWORD: Redis at 127\\.0\\.0\\.1:${stack.redis.port} refused it: WRONGPASS`));

  // Every history of the run: its proto-JSON (failure messages are plain text there) and its
  // payloads decoded (they are base64 in it).
  let runs = 0;
  for await (const wf of stack.temporal.client.workflow.list({ query: `WorkflowId STARTS_WITH 'market/${market}'` })) {
    const history = JSON.parse(historyToJSON(await stack.temporal.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory())) as unknown;
    outputs.push({ source: `history of ${wf.workflowId} ${wf.runId}`, text: `${JSON.stringify(history)}\n${JSON.stringify(payloadsOf(history))}` });
    runs++;
  }
  // The market and its two epochs.
  assert.equal(runs, 3);
  outputs.push({ source: 'worker log', text: worker.log() });

  const leaks = outputs.flatMap(({ source, text }) => SECRETS.filter((s) => text.includes(s)).map((s) => `${source} holds ${s}`));
  assert.deepEqual(leaks, []);
});
