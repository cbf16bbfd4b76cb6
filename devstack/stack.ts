/**
 * devstack/: the local stack of real services, shared by `npm run dev`, the tests and the bench.
 * Here the whole collector on it: a Hardhat node with our test contracts, redis-server, the
 * relayer stand-in, the Temporal dev server, and seqflow's own worker processes
 * (`src/worker.ts`), configured purely through their environment and started as
 * `npm start` starts one.
 */
import { randomUUID } from 'node:crypto';
import { deployTestContracts, startHardhatNode, type HardhatNode, type MarketParams, type TestChain } from './chain.js';
import { freePort, spawnService, type ServiceProcess } from './process.js';
import { startRedis, type RedisServer } from './redis.js';
import { startRelayer, type RelayerStandIn } from './relayer.js';
import { startRpcProxy, type RpcProxy } from './rpc-proxy.js';
import { PROJECT_ROOT, connectTemporal, type TemporalServer } from './temporal.js';

export const RELAYER_TOKEN = 'test-write-token';

/**
 * How `npm start` (package.json) starts the worker, and so this stack: glibc's malloc held
 * to two arenas (the per-thread arenas of Temporal's core, gRPC and undici held about 40 MiB of
 * RSS), V8's young generation small (2 MiB semi-spaces) and its old generation let grow 20%
 * past the live heap before a full GC (V8's own choice let 60 MiB of live heap sit among 230
 * of garbage under ten markets' epochs; about 10% more worker CPU). `npm run bench` measures
 * the worker with them.
 */
export const WORKER_ENV = { MALLOC_ARENA_MAX: '2' } as const;
export const WORKER_NODE_ARGS = ['--max-semi-space-size=2', '--heap-growing-percent=20'] as const;

/**
 * What node runs after its flags: the compiled worker, as `npm start` and the image run it (built
 * by `npm run build`; `tsx`'s loader thread alone holds about 35 MiB), or the sources through tsx,
 * as the tests and `npm run dev` do (never a stale build).
 */
export const workerEntry = (entry: 'dist' | 'sources'): string[] => (entry === 'dist' ? ['dist/worker.js'] : ['--import', 'tsx', 'src/worker.ts']);

export type WorkerProcess = ServiceProcess & { metricsUrl: string };

export interface Stack {
  node: HardhatNode;
  /** The worker's RPC node: a fault-injecting proxy in front of Hardhat. */
  rpc: RpcProxy;
  chain: TestChain;
  redis: RedisServer;
  relayer: RelayerStandIn;
  temporal: TemporalServer;
  taskQueue: string;
  /** The worker's environment: exactly what an operator would set. */
  env: NodeJS.ProcessEnv;
  /** A worker process, with its HTTP server (/metrics, /health, /ready, /status) on a free loopback port. */
  startWorker(extraEnv?: NodeJS.ProcessEnv, nodeArgs?: readonly string[]): Promise<WorkerProcess>;
  stop(): Promise<void>;
}

export interface StackOptions {
  markets: number;
  params?: Partial<MarketParams>;
  batchSize?: number;
  miningIntervalMs?: number;
  /** The relayer stand-in's token, and the worker's TX_RELAYER_AUTH_WRITE_TOKEN (default RELAYER_TOKEN). */
  relayerToken?: string;
  /** Start Temporal's Web UI on this port (when the stack starts its own dev server). */
  temporalUiPort?: number;
  /** Which worker runs (see workerEntry; default the sources): the bench measures `dist`, which the caller builds. */
  workerEntry?: 'dist' | 'sources';
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const [node, redis, relayer, temporal] = await Promise.all([
    startHardhatNode({ intervalMs: opts.miningIntervalMs ?? 500 }),
    startRedis(),
    startRelayer(opts.relayerToken ?? RELAYER_TOKEN),
    connectTemporal({ uiPort: opts.temporalUiPort }),
  ]);
  const [chain, rpc] = await Promise.all([deployTestContracts(node.url, opts.markets, opts.params), startRpcProxy(node.url)]);
  const taskQueue = `seqflow-test-${randomUUID()}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    RPC_NODES: JSON.stringify([rpc.url]),
    PROTOCOL_STATE_CONTRACT: chain.protocolStateAddress.toLowerCase(),
    // Lower case on purpose: seqflow normalises to EIP-55 (upstream would ignore the market).
    DATA_MARKET_ADDRESSES: JSON.stringify(chain.markets.map((m) => m.toLowerCase())),
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(redis.port),
    REDIS_DB: '0',
    TX_RELAYER_URL: relayer.url,
    TX_RELAYER_AUTH_WRITE_TOKEN: opts.relayerToken ?? RELAYER_TOKEN,
    BATCH_SIZE: String(opts.batchSize ?? 2),
    HTTP_TIMEOUT: '5',
    REWARDS_UPDATE_BATCH_SIZE: '50',
    REWARDS_UPDATE_EPOCH_INTERVAL: '1000000',
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: taskQueue,
    CONFIRMATIONS: '2',
    POLL_INTERVAL_MS: '200',
    LOG_LEVEL: 'info',
  };
  const workers: ServiceProcess[] = [];
  return {
    node,
    rpc,
    chain,
    redis,
    relayer,
    temporal,
    taskQueue,
    env,
    async startWorker(extraEnv = {}, nodeArgs = []) {
      const metricsPort = await freePort();
      const worker = await spawnService({
        name: 'worker',
        command: process.execPath,
        args: [...WORKER_NODE_ARGS, ...nodeArgs, ...workerEntry(opts.workerEntry ?? 'sources')],
        cwd: PROJECT_ROOT,
        env: { ...env, ...WORKER_ENV, METRICS_HOST: '127.0.0.1', METRICS_PORT: String(metricsPort), ...extraEnv },
        ready: async (w) => w.log().includes('seqflow worker ready'),
        readyTimeoutMs: 60_000,
      });
      workers.push(worker);
      return Object.assign(worker, { metricsUrl: `http://127.0.0.1:${metricsPort}` });
    },
    async stop() {
      await Promise.all(workers.map((w) => w.stop()));
      await Promise.all([rpc.stop(), node.stop(), redis.stop(), relayer.stop(), temporal.stop()]);
    },
  };
}
