/** A real redis-server (Debian's package) on a free loopback port, without persistence. */
import os from 'node:os';
import { Redis } from 'ioredis';
import { freePort, spawnService } from './process.js';

export interface RedisServer {
  port: number;
  client: Redis;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const server = await spawnService({
    name: 'redis',
    command: 'redis-server',
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', os.tmpdir()],
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
  const client = new Redis({ port, host: '127.0.0.1' });
  return {
    port,
    client,
    async stop() {
      client.disconnect();
      await server.stop();
    },
  };
}
