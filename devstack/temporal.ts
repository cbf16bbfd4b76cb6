/**
 * The Temporal server for the tests: the dev server that `npm test` starts once per run
 * (SEQFLOW_TEST_TEMPORAL_ADDRESS), or, when a test file runs alone, one of its own from the
 * Temporal CLI in `.tools/` (installed by scripts/provision.sh).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_KEYS, SEARCH_ATTRIBUTE_TYPE_NAMES } from '../src/workflows/search-attributes.js';
import { freePort, spawnService } from './process.js';

export const PROJECT_ROOT = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
export const TEMPORAL_CLI = path.join(PROJECT_ROOT, '.tools/bin/temporal');

export interface TemporalServer {
  address: string;
  client: Client;
  stop(): Promise<void>;
}

/**
 * Arguments for a dev server: SQLite in WAL mode without fsync, as Temporal's own CI runs it,
 * with seqflow's search attributes registered in the default namespace (the worker refuses to
 * start without them) and eager activity dispatch on, as the README asks of every server.
 */
function devServerArgs(port: number, dbFile: string, uiPort: number | undefined): string[] {
  return [
    'server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn',
    ...(uiPort === undefined ? ['--headless'] : ['--ui-port', String(uiPort)]),
    '--db-filename', dbFile, '--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=OFF',
    ...SEARCH_ATTRIBUTE_KEYS.flatMap((key) => ['--search-attribute', `${key.name}=${SEARCH_ATTRIBUTE_TYPE_NAMES[key.type]}`]),
    '--dynamic-config-value', 'system.enableActivityEagerExecution=true',
  ];
}

/** Connects to the run's dev server, or starts one (with the Web UI on `uiPort` if given). */
export async function connectTemporal(opts: { uiPort?: number } = {}): Promise<TemporalServer> {
  let address = process.env.SEQFLOW_TEST_TEMPORAL_ADDRESS;
  let stopServer = async () => {};
  if (!address) {
    if (!fs.existsSync(TEMPORAL_CLI)) throw new Error(`no Temporal CLI at ${TEMPORAL_CLI}: run bash scripts/provision.sh`);
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqflow-temporal-'));
    address = `127.0.0.1:${port}`;
    const server = await spawnService({
      name: 'temporal',
      command: TEMPORAL_CLI,
      args: devServerArgs(port, path.join(dir, 'temporal.sqlite'), opts.uiPort),
      ready: async () => {
        const c = await Connection.connect({ address, connectTimeout: '1s' });
        await c.close();
        return true;
      },
    });
    stopServer = () => server.stop();
  }
  const connection = await Connection.connect({ address });
  return {
    address,
    client: new Client({ connection }),
    async stop() {
      await connection.close();
      await stopServer();
    },
  };
}

/**
 * Runs the worker process (`src/worker.ts`) with `env` until it exits, for the tests of its
 * start-up refusals: its exit code, stderr and how long it took (ms). A worker still running
 * after `timeoutMs` is killed, which shows as a failure without a code.
 */
export async function runWorkerToExit(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number; stderr: string; ms: number }> {
  const t0 = Date.now();
  try {
    await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src/worker.ts')], { env, cwd: PROJECT_ROOT, timeout: timeoutMs });
    return { code: 0, stderr: '', ms: Date.now() - t0 };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr, ms: Date.now() - t0 };
  }
}

/** A worker configuration that passes validation, with Redis at `redisPort` and no chain or relayer behind it. */
export function minimalWorkerEnv(redisPort: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    RPC_NODES: '["http://127.0.0.1:1"]',
    PROTOCOL_STATE_CONTRACT: '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed',
    DATA_MARKET_ADDRESSES: '["0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359"]',
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(redisPort),
    TX_RELAYER_URL: 'http://127.0.0.1:1',
    TX_RELAYER_AUTH_WRITE_TOKEN: 'token',
    BATCH_SIZE: '10',
    HTTP_TIMEOUT: '5',
    REWARDS_UPDATE_BATCH_SIZE: '50',
    REWARDS_UPDATE_EPOCH_INTERVAL: '10',
  };
}
