/**
 * `seqflow api`: the read API as a process of its own, so that it scales and restarts apart from
 * the worker. Start-up checks the configuration (loadApiConfig) and Redis (reachable,
 * authenticated, REDIS_DB a database it has) as the worker does, and that the address is free:
 * each failure is a ConfigError naming its variables (the CLI exits 2). It then serves until
 * SIGTERM or SIGINT, when it stops taking connections, finishes the requests in flight and closes
 * Redis. Logs are pino's JSON lines on stdout.
 */
import { protocolState } from '../chain/abi.js';
import { ChainClient } from '../chain/rpc.js';
import { ConfigError, loadApiConfig } from '../config.js';
import { createPinoLogger } from '../logger.js';
import { RedisConnection } from '../services/redis.js';
import type { ProtocolStateReader } from './routes.js';
import { buildApiServer } from './server.js';

/** A contract read a request waits for at most (per RPC node tried). */
const CHAIN_TIMEOUT_MS = 10_000;

/** The contract reads of the API, on ProtocolState through `chain`. */
export function protocolStateReader(chain: ChainClient, protocolStateContract: string): ProtocolStateReader {
  return {
    dayCounter: (market) => chain.viewUint(protocolStateContract, protocolState, 'dayCounter', [market]),
    slotSubmissionCount: (market, slotId, day) => chain.viewUint(protocolStateContract, protocolState, 'slotSubmissionCount', [market, slotId, day]),
  };
}

/** Resolves with the first of `signals` the process receives. */
function nextSignal(signals: NodeJS.Signals[]): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const received = (signal: NodeJS.Signals) => {
      for (const s of signals) process.off(s, received);
      resolve(signal);
    };
    for (const s of signals) process.on(s, received);
  });
}

/** Runs the read API until SIGTERM or SIGINT; rejects (ConfigError for the operator's part) if it cannot start. */
export async function runApi(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadApiConfig(env);
  const logger = createPinoLogger(config.logLevel);
  const redis = new RedisConnection(config.redis, logger);
  // Listened for before start-up, so that a signal during it is not lost: the API stops once started.
  const stop = nextSignal(['SIGTERM', 'SIGINT']);
  try {
    await redis.open();
    const app = await buildApiServer({
      redis: redis.client,
      chain: protocolStateReader(new ChainClient(config.rpcNodes, { timeoutMs: CHAIN_TIMEOUT_MS }), config.protocolStateContract),
      authReadToken: config.authReadToken,
      dataMarkets: config.dataMarkets,
      publicUrl: config.publicUrl,
      logger,
    });
    try {
      try {
        await app.listen({ host: config.listen.host, port: config.listen.port });
      } catch (err) {
        throw new ConfigError([`API_LISTEN_HOST, API_PORT: cannot listen on ${config.listen.host}:${config.listen.port}: ${(err as Error).message}`]);
      }
      logger.info({ address: `${config.listen.host}:${config.listen.port}`, markets: config.dataMarkets, openapi: '/swagger/doc.json' }, 'seqflow read API ready');
      const signal = await stop;
      logger.info({ signal }, 'seqflow read API stopping');
    } finally {
      await app.close();
    }
    logger.info('seqflow read API stopped');
  } finally {
    redis.close();
  }
}
