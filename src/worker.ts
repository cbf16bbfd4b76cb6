/**
 * The seqflow worker: one process, one task queue, the market and epoch workflows, and
 * activities sharing one chain client and one Redis connection. Start-up checks the
 * configuration and then the services (Redis and its database, Temporal and its namespace):
 * any failure exits 2 naming its variable. SIGINT/SIGTERM shut it down cleanly: polling
 * stops, running activities get a grace period, connections close.
 */
import type { Client } from '@temporalio/client';
import { Runtime, Worker, makeTelemetryFilterString, type NativeConnection } from '@temporalio/worker';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import { createActivities } from './activities/index.js';
import { ChainClient } from './chain/rpc.js';
import { ConfigError, loadWorkerConfig, type WorkerConfig } from './config.js';
import { PinoTemporalLogger, createPinoLogger } from './logger.js';
import { MarketObserver } from './metrics/markets.js';
import { WorkerMetrics } from './metrics/metrics.js';
import { buildServer, freeLoopbackPort } from './metrics/server.js';
import { RedisConnection } from './services/redis.js';
import { connectClient, connectWorker } from './services/temporal.js';
import { siblingModule } from './services/module-path.js';
import { withWorkflowBundle } from './services/workflow-bundle.js';
import { startTracing } from './tracing/setup.js';
import type { marketAlertsWorkflow } from './workflows/alerts.js';
import { marketAlertsWorkflowId } from './workflows/definitions.js';
import { alertsStartOptions } from './workflows/search-attributes.js';

async function run(config: WorkerConfig): Promise<void> {
  const logger = createPinoLogger(config.logLevel);
  const sdkMetricsAddress = `127.0.0.1:${await freeLoopbackPort()}`;
  Runtime.install({
    logger: new PinoTemporalLogger(logger),
    telemetryOptions: {
      logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) },
      // The SDK's own metrics, in Prometheus's conventions; /metrics serves them with seqflow's.
      metrics: { prometheus: { bindAddress: sdkMetricsAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true } },
    },
    shutdownSignals: ['SIGINT', 'SIGTERM'],
  });

  // Before the first span: the activities' RPC and relayer spans reach the global tracer.
  const tracing = config.tracing && startTracing(config.tracing, (message) => logger.warn({ component: 'opentelemetry' }, message));

  const metrics = new WorkerMetrics();
  const redis = new RedisConnection(config.redis, logger);
  redis.client.on('error', () => metrics.redisErrors.inc());
  redis.client.on('ready', () => metrics.redisUp.set(1));
  redis.client.on('close', () => metrics.redisUp.set(0));
  const chain = new ChainClient(config.rpcNodes, { timeoutMs: 30_000, observer: metrics });
  let connection: NativeConnection | undefined;
  let client: Client | undefined;
  let server: FastifyInstance | undefined;
  try {
    await redis.open();
    metrics.redisUp.set(1);
    connection = await connectWorker(config.temporal);
    client = await connectClient(config.temporal);
    // Tracing adds its workflow interceptors to the bundle, its activity interceptors and span sink to the worker.
    const interceptors = tracing ? tracing.workerOptions.interceptors : undefined;
    const bundleRequest = { workflowsPath: siblingModule(import.meta.url, './workflows/index.ts'), workflowInterceptorModules: interceptors?.workflowModules ?? [] };
    const workerClient = client;
    const worker = await withWorkflowBundle(bundleRequest, (workflowBundle) =>
      Worker.create({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        workflowBundle,
        activities: createActivities({ chain, redis, config, client: workerClient, metrics }),
        // Each market's follower holds a slot through its long poll (minutes, mostly asleep): at
        // 32, 40 markets left their epochs waiting for a slot (npm run bench -- --workers). RPC
        // load is bounded by the shared reader, not by this.
        maxConcurrentActivityTaskExecutions: 256,
        // Lets heartbeating activities see the cancellation and stop between two steps.
        shutdownGraceTime: '3 seconds',
        // A killed worker's sticky queue holds its workflows' next tasks this long before the server
        // hands them to any worker (default 10 s): recovery after a crash starts sooner.
        stickyQueueScheduleToStartTimeout: '3 seconds',
        // Heartbeats reach the server every poll, so `status` (which reads the follower's
        // heartbeat through describe) is current within a poll interval; they are no history events.
        maxHeartbeatThrottleInterval: Math.max(1000, config.pollIntervalMs),
        // Spans of activities, of epoch and other runs, trace ids in workflow log lines (README, Traces).
        ...(tracing && interceptors ? { interceptors: { activity: interceptors.activity }, sinks: tracing.workerOptions.sinks } : {}),
      }),
    );
    if (config.alerts.url) await startAlerts(client, config);
    const markets = new MarketObserver(client, chain, config.dataMarkets, config.readyMaxLagBlocks);
    markets.register(metrics.registry);
    server = buildServer({ registry: metrics.registry, markets, workerState: () => worker.getState(), redisUp: () => redis.outage === null, sdkMetricsAddress });
    await server.listen({ host: config.metrics.host, port: config.metrics.port }).catch((err: NodeJS.ErrnoException) => {
      throw new ConfigError([`METRICS_PORT: cannot listen on ${config.metrics.host}:${config.metrics.port}: ${err.code ?? err.message}`]);
    });
    logger.info({ taskQueue: config.temporal.taskQueue, markets: config.dataMarkets, temporal: config.temporal.address, metrics: `${config.metrics.host}:${config.metrics.port}`, traces: tracing?.endpoint ?? 'off' }, 'seqflow worker ready');
    await worker.run();
    logger.info('seqflow worker stopped');
  } finally {
    await server?.close();
    redis.close();
    await client?.connection.close();
    await connection?.close();
    await tracing?.shutdown();
  }
}

/** One alert workflow per configured market (the running one is kept): SLACK_REPORTING_URL is set. */
async function startAlerts(client: Client, config: WorkerConfig): Promise<void> {
  for (const market of config.dataMarkets) {
    await client.workflow.start<typeof marketAlertsWorkflow>('marketAlertsWorkflow', {
      workflowId: marketAlertsWorkflowId(market),
      taskQueue: config.temporal.taskQueue,
      args: [{ market, maxPerMinute: config.alerts.maxPerMinute }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      ...alertsStartOptions(market),
    });
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
