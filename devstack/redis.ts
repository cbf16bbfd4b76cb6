/**
 * A real redis-server (Debian's package) on a free loopback port, without automatic
 * persistence, in a directory of its own: `down` and `up` restart it on the same port, with
 * its data (SHUTDOWN SAVE, then loaded from the dump) or without (restarted empty).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, spawnService, type ServiceProcess } from './process.js';

export interface RedisServer {
  port: number;
  /** The tests' own client: it reconnects by itself after `up`. */
  client: Redis;
  /** Shuts the server down, saving its data to disk first when `keepData`. */
  down(opts: { keepData: boolean }): Promise<void>;
  /** Starts it again on the same port (loading what `down` saved). */
  up(): Promise<void>;
  stop(): Promise<void>;
}

function spawnRedis(port: number, dir: string): Promise<ServiceProcess> {
  return spawnService({
    name: 'redis',
    command: 'redis-server',
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--dbfilename', 'dump.rdb'],
    ready: async () => {
      const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => {}); // not up yet: the next probe tries again
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } finally {
        probe.disconnect();
      }
    },
  });
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqflow-redis-data-'));
  let server = await spawnRedis(port, dir);
  const client = new Redis({ port, host: '127.0.0.1' });
  client.on('error', () => {}); // the tests' client while a test has the server down
  return {
    port,
    client,
    async down({ keepData }) {
      const admin = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
      admin.on('error', () => {});
      // The server closes the connection as it exits: no reply comes.
      await admin.call('SHUTDOWN', keepData ? 'SAVE' : 'NOSAVE').catch(() => undefined);
      admin.disconnect();
      await server.exited;
      if (!keepData) fs.rmSync(path.join(dir, 'dump.rdb'), { force: true });
    },
    async up() {
      server = await spawnRedis(port, dir);
    },
    async stop() {
      client.disconnect();
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
