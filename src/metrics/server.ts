/**
 * The worker's HTTP server (METRICS_HOST:METRICS_PORT), for Prometheus and for Docker and
 * Kubernetes probes:
 * - `GET /metrics`: seqflow's series (metrics.ts, markets.ts) and the Temporal SDK's own (its
 *   Prometheus exporter, bound to a loopback port of its own and served here as they are);
 * - `GET /health`: liveness. 200 `{"status":"ok",…}` while the worker runs; 503 once it stops or
 *   fails (a restart helps then). A Redis outage is shown but is no reason to restart: it is a
 *   market problem, and makes `/ready` fail;
 * - `GET /ready`: 200 `{"ready":true,…}` once every configured market runs, is within
 *   READY_MAX_LAG_BLOCKS of the head and its health is not `failed`; 503 with the reasons before;
 * - `GET /status`: the markets' status rows as JSON (what `seqflow status --json` prints).
 */
import net from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { MarketObserver } from './markets.js';

export interface ServerDeps {
  registry: Registry;
  markets: MarketObserver;
  /** The Temporal worker's state (Worker.getState()). */
  workerState: () => string;
  /** Whether the worker's Redis connection works now. */
  redisUp: () => boolean;
  /** Where the Temporal SDK's Prometheus exporter listens (`host:port`), if it does. */
  sdkMetricsAddress?: string;
}

/** A worker that has not stopped: INITIALIZED (starting) or RUNNING. */
const LIVE_STATES = new Set(['INITIALIZED', 'RUNNING']);

export function buildServer(deps: ServerDeps): FastifyInstance {
  const app = Fastify({ logger: false });

  app.get('/metrics', async (_req, reply) => {
    const own = await deps.registry.metrics();
    let sdk = '';
    if (deps.sdkMetricsAddress) {
      try {
        const res = await fetch(`http://${deps.sdkMetricsAddress}/metrics`, { signal: AbortSignal.timeout(5000) });
        if (res.ok) sdk = await res.text();
      } catch {
        // the SDK's exporter not up yet: seqflow's series alone
      }
    }
    return reply.type(deps.registry.contentType).send(sdk ? `${own}\n${sdk}` : own);
  });

  app.get('/health', async (_req, reply) => {
    const worker = deps.workerState();
    const live = LIVE_STATES.has(worker);
    return reply.code(live ? 200 : 503).send({ status: live ? 'ok' : 'stopped', worker, redis: deps.redisUp() ? 'up' : 'down' });
  });

  app.get('/ready', async (_req, reply) => {
    const { ready, reasons } = await deps.markets.readiness();
    return reply.code(ready ? 200 : 503).send({ ready, reasons, markets: deps.markets.markets });
  });

  app.get('/status', async () => deps.markets.rows());

  return app;
}

/** A loopback port free now, for the SDK's exporter (nothing outside the process reads it). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
