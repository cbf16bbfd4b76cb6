/**
 * seqflow's own Prometheus metrics (prom-client), recorded by the worker's activities and its
 * RPC and relayer clients. Names follow Prometheus conventions: base units (`_seconds`,
 * `_blocks`), `_total` for counters, a `market` label (EIP-55 address) where one applies.
 * The per-market figures that the market workflow keeps (head, cursor, epoch counters, health)
 * are read from its status at scrape time (see markets.ts), so every worker reports the same.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RpcObserver } from '../chain/jsonrpc.js';

/** What an epoch's activities report (activities/batches.ts). */
export interface EpochMetrics {
  /** An epoch's batches stored now (not a rerun): its submissions, malformed keys and the Redis work's duration. */
  epochPrepared(market: string, figures: { submissions: number; malformedKeys: number; seconds: number }): void;
  /** The last finalizer push of an epoch happened now, `seconds` after its release block's time. */
  epochPushed(market: string, seconds: number): void;
}

/** What the follower reports (follower/follow.ts). */
export interface FollowerMetrics {
  reorg(market: string, depthBlocks: number): void;
  finalityViolation(market: string): void;
}

/** What the relayer client reports: `status` is the HTTP status, or `error` / `timeout` without an answer. */
export interface RelayerMetrics {
  relayerRequest(endpoint: string, status: string, seconds: number): void;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class WorkerMetrics implements EpochMetrics, FollowerMetrics, RelayerMetrics, RpcObserver {
  readonly registry = new Registry();

  constructor() {
    // The process's own series (prom-client's defaults: CPU, resident memory, V8 heap spaces,
    // event loop lag, GC), as every Node service exports them.
    collectDefaultMetrics({ register: this.registry });
  }

  private readonly rpcRequests = new Counter({ name: 'seqflow_rpc_requests_total', help: 'JSON-RPC HTTP requests by node, method (a batch counts once, by its first method) and outcome (ok, error: a JSON-RPC error, transport: no usable answer)', labelNames: ['node', 'method', 'outcome'], registers: [this.registry] });
  private readonly rpcDuration = new Histogram({ name: 'seqflow_rpc_request_duration_seconds', help: 'JSON-RPC HTTP request latency by node and method', labelNames: ['node', 'method'], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  private readonly rejectedAnswers = new Counter({ name: 'seqflow_rpc_answers_rejected_total', help: 'RPC answers refused as wrong (lagging or bogus head, incomplete or contradicting logs, headers that do not link), by node', labelNames: ['node'], registers: [this.registry] });
  private readonly reorgs = new Counter({ name: 'seqflow_reorgs_total', help: 'Reorgs the follower walked back', labelNames: ['market'], registers: [this.registry] });
  private readonly reorgDepth = new Histogram({ name: 'seqflow_reorg_depth_blocks', help: 'Blocks replaced by each reorg', labelNames: ['market'], buckets: [1, 2, 4, 8, 16, 32, 64, 128], registers: [this.registry] });
  private readonly violations = new Counter({ name: 'seqflow_finality_violations_total', help: 'Finality violations found by the follower (the market halts)', labelNames: ['market'], registers: [this.registry] });
  private readonly epochLatency = new Histogram({ name: 'seqflow_epoch_latency_seconds', help: "From an epoch's release block time to its last finalizer push", labelNames: ['market'], buckets: [1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 300, 600], registers: [this.registry] });
  private readonly preparation = new Histogram({ name: 'seqflow_batch_preparation_duration_seconds', help: "Collecting, batching and storing an epoch's submissions, once its window closed", labelNames: ['market'], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  private readonly submissions = new Histogram({ name: 'seqflow_epoch_submissions', help: 'Valid submissions per epoch', labelNames: ['market'], buckets: [0, 1, 10, 100, 1000, 10_000, 100_000], registers: [this.registry] });
  private readonly malformed = new Counter({ name: 'seqflow_malformed_submission_keys_total', help: 'Submission keys skipped as malformed', labelNames: ['market'], registers: [this.registry] });
  private readonly relayerRequests = new Counter({ name: 'seqflow_relayer_requests_total', help: 'Relayer requests by endpoint and HTTP status (error, timeout: no answer)', labelNames: ['endpoint', 'status'], registers: [this.registry] });
  private readonly relayerDuration = new Histogram({ name: 'seqflow_relayer_request_duration_seconds', help: 'Relayer request latency by endpoint', labelNames: ['endpoint'], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  readonly redisErrors = new Counter({ name: 'seqflow_redis_errors_total', help: 'Redis connection errors (each failed connection attempt)', registers: [this.registry] });
  readonly redisUp = new Gauge({ name: 'seqflow_redis_up', help: '1 when the worker has a working Redis connection', registers: [this.registry] });

  /** `seqflow_getlogs_range_blocks`: the worker's adaptive eth_getLogs span, read at each scrape. */
  watchRange(size: () => number): void {
    new Gauge({ name: 'seqflow_getlogs_range_blocks', help: 'Blocks per wide eth_getLogs request now (the adaptive span, shared by every market of the worker)', registers: [this.registry], collect() {
      this.set(size());
    } });
  }

  rpcRequest(node: string, method: string, outcome: 'ok' | 'error' | 'transport', seconds: number): void {
    this.rpcRequests.inc({ node, method, outcome });
    this.rpcDuration.observe({ node, method }, seconds);
  }

  rpcRejected(node: string): void {
    this.rejectedAnswers.inc({ node });
  }

  reorg(market: string, depthBlocks: number): void {
    this.reorgs.inc({ market });
    this.reorgDepth.observe({ market }, depthBlocks);
  }

  finalityViolation(market: string): void {
    this.violations.inc({ market });
  }

  epochPrepared(market: string, figures: { submissions: number; malformedKeys: number; seconds: number }): void {
    this.preparation.observe({ market }, figures.seconds);
    this.submissions.observe({ market }, figures.submissions);
    this.malformed.inc({ market }, figures.malformedKeys);
  }

  epochPushed(market: string, seconds: number): void {
    this.epochLatency.observe({ market }, seconds);
  }

  relayerRequest(endpoint: string, status: string, seconds: number): void {
    this.relayerRequests.inc({ endpoint, status });
    this.relayerDuration.observe({ endpoint }, seconds);
  }
}
