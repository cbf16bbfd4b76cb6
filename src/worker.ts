/**
 * The seqflow worker: one process, one task queue, the market and epoch workflows, and
 * activities sharing one chain client and one Redis connection. Start-up checks the
 * configuration and then the services (Redis and its database, Temporal and its namespace):
 * any failure exits 2 naming its variable. SIGINT/SIGTERM shut it down cleanly: polling
 * stops, running activities get a grace period, connections close.
 */
import { fileURLToPath } from 'node:url';
import { Runtime, Worker, makeTelemetryFilterString, type NativeConnection } from '@temporalio/worker';
import { createActivities } from './activities/index.js';
import { ChainClient } from './chain/rpc.js';
import { ConfigError, loadWorkerConfig, type WorkerConfig } from './config.js';
import { PinoTemporalLogger, createPinoLogger } from './logger.js';
import { RedisConnection } from './services/redis.js';
import { connectWorker } from './services/temporal.js';

async function run(config: WorkerConfig): Promise<void> {
  const logger = createPinoLogger(config.logLevel);
  Runtime.install({
    logger: new PinoTemporalLogger(logger),
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) } },
    shutdownSignals: ['SIGINT', 'SIGTERM'],
  });

  const redis = new RedisConnection(config.redis, logger);
  const chain = new ChainClient(config.rpcNodes, { timeoutMs: 30_000 });
  let connection: NativeConnection | undefined;
  try {
    await redis.open();
    connection = await connectWorker(config.temporal);
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      workflowsPath: fileURLToPath(new URL('./workflows/index.ts', import.meta.url)),
      activities: createActivities({ chain, redis, config }),
      // Bounds the load on the RPC nodes and Redis; the follower needs one slot per market.
      maxConcurrentActivityTaskExecutions: 32,
      // Lets heartbeating activities see the cancellation and stop between two steps.
      shutdownGraceTime: '3 seconds',
      // Heartbeats reach the server every poll, so `status` (which reads the follower's
      // heartbeat through describe) is current within a poll interval; they are no history events.
      maxHeartbeatThrottleInterval: Math.max(1000, config.pollIntervalMs),
    });
    logger.info({ taskQueue: config.temporal.taskQueue, markets: config.dataMarkets, temporal: config.temporal.address }, 'seqflow worker ready');
    await worker.run();
    logger.info('seqflow worker stopped');
  } finally {
    redis.close();
    await connection?.close();
  }
}

try {
  await run(loadWorkerConfig());
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`seqflow worker: ${err.message}`);
    process.exit(2);
  }
  console.error('seqflow worker failed:', err);
  process.exit(1);
}
