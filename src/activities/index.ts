/**
 * All activities of the worker, built from the process's single chain client, Redis connection
 * and config. Workflows import only the type.
 */
import type { ChainClient } from '../chain/rpc.js';
import type { WorkerConfig } from '../config.js';
import { createBatchActivities } from './batches.js';
import { createChainActivities, createContractReader } from './chain.js';
import type { Client } from '@temporalio/client';
import { createAlertActivities } from './alerts.js';
import { keptAlive } from './keep-alive.js';
import { namingRedisOutage } from './redis-outage.js';
import { createRelayerActivities } from './relayer.js';
import { REJECTION_WINDOW_MS } from '../follower/follow.js';
import { AdaptiveRange } from '../follower/range.js';
import type { WorkerMetrics } from '../metrics/metrics.js';
import type { RedisConnection } from '../services/redis.js';
import { createRewardActivities } from './rewards.js';
import { createSubmitActivities } from './submit.js';

export function createActivities(deps: { chain: ChainClient; redis: RedisConnection; config: WorkerConfig; client: Client; metrics?: WorkerMetrics }) {
  const { chain, config, metrics } = deps;
  const redis = deps.redis.client;
  // A provider's eth_getLogs limits hold for every market and activity: learnt once per worker.
  const range = new AdaptiveRange(config.logRangeBlocks);
  metrics?.watchRange(() => range.size);
  // One reader of the contract per worker: the markets' followers and the epochs' windows share its head reads.
  const reader = createContractReader(chain, range, { contract: config.protocolStateContract, followSnapshotBatches: config.attestorQueuePushEnabled, pollIntervalMs: config.pollIntervalMs });
  // Every activity heartbeats while it runs (keep-alive.ts); followChain and watchHead with their progress.
  const { followChain, watchHead, ...chainReads } = createChainActivities({
      chain,
      redis,
      redisStatus: deps.redis,
      protocolStateContract: config.protocolStateContract,
      follower: {
        confirmations: config.confirmations,
        maxReorgDepth: config.maxReorgDepth,
        pollIntervalMs: config.pollIntervalMs,
        rescanDelayMs: config.rescanDelayMs,
        stallMs: config.followerStallMs,
        rejectionWindowMs: REJECTION_WINDOW_MS,
      },
      followSnapshotBatches: config.attestorQueuePushEnabled,
      rewards: config.rewards,
      range,
      reader,
      metrics,
  });
  const batches = createBatchActivities({
    chain,
    redis,
    batchSize: config.batchSize,
    window: {
      contract: config.protocolStateContract,
      confirmations: config.confirmations,
      maxReorgDepth: config.maxReorgDepth,
      closeWaitMs: config.windowCloseWaitMs,
      pollIntervalMs: config.pollIntervalMs,
    },
    range,
    heads: reader,
    metrics,
  });
  const relayer = createRelayerActivities({ redis, relayer: config.relayer, metrics });
  return namingRedisOutage(deps.redis, {
    followChain,
    watchHead,
    ...keptAlive(chainReads),
    ...keptAlive({ ...batches, ...relayer, ...createSubmitActivities({ ...batches, ...relayer }) }),
    ...keptAlive(createRewardActivities({ chain, redis, relayer: config.relayer, rewards: config.rewards, metrics })),
    ...createAlertActivities({ client: deps.client, alerts: config.alerts, pollMs: Math.max(1000, config.pollIntervalMs) }),
  });
}

export type Activities = ReturnType<typeof createActivities>;
