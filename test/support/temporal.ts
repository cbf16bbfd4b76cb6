/**
 * The Temporal server for the tests: the dev server that `npm test` starts once per run
 * (SEQFLOW_TEST_TEMPORAL_ADDRESS), or, when a test file runs alone, one of its own from the
 * Temporal CLI in `.tools/` (installed by scripts/provision.sh).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_KEYS, SEARCH_ATTRIBUTE_TYPE_NAMES } from '../../src/workflows/search-attributes.js';
import { freePort, spawnService } from './process.js';

export const PROJECT_ROOT = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const TEMPORAL_CLI = path.join(PROJECT_ROOT, '.tools/bin/temporal');

export interface TemporalServer {
  address: string;
  client: Client;
  stop(): Promise<void>;
}

/**
 * Arguments for a dev server: SQLite in WAL mode without fsync, as Temporal's own CI runs it,
 * with seqflow's search attributes registered in the default namespace (the worker refuses to
 * start without them).
 */
function devServerArgs(port: number, dbFile: string, uiPort: number | undefined): string[] {
  return [
    'server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn',
    ...(uiPort === undefined ? ['--headless'] : ['--ui-port', String(uiPort)]),
    '--db-filename', dbFile, '--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=OFF',
    ...SEARCH_ATTRIBUTE_KEYS.flatMap((key) => ['--search-attribute', `${key.name}=${SEARCH_ATTRIBUTE_TYPE_NAMES[key.type]}`]),
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
