/**
 * The harness of the end-to-end sections: the whole collector on real services
 * (devstack/stack.ts: Hardhat with our test contracts, Redis, the relayer stand-in, the
 * Temporal dev server, real worker processes), with the bench mining the chain (chain-clock.ts),
 * filing submissions as the dequeuer does, and reading finalizerQueue as the finalizer does
 * (finalizer.ts). It measures window end → last finalizer push, reads a worker's RSS, fetches
 * the histories of the run, and checks what came out against what went in.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { ContractTransactionResponse } from 'ethers';
import * as keys from '../src/domain/keys.js';
import { batchPreparationWorkflowId, marketWorkflowId } from '../src/workflows/definitions.js';
import { seqflowJson } from '../devstack/cli.js';
import { submissionKey } from '../devstack/dequeuer.js';
import { marketStatus } from '../test/support/epochs.js';
import { waitFor } from '../devstack/process.js';
import { startStack, type Stack } from '../devstack/stack.js';
import { PROJECT_ROOT } from '../devstack/temporal.js';
import { startChainClock, type ChainClock } from './chain-clock.js';
import { Finalizer } from './finalizer.js';
import { epochKey, epochOfWorkflow, type EpochDelivery } from './measures.js';
import { mib } from './report.js';
import type { EpochScope, HistoryEvent, RunHistory } from './temporal-cost.js';

/** Slots per project in a filed epoch (bench/batches.ts files the same shape): 10k submissions are 1,000 projects. */
const SLOTS_PER_PROJECT = 10;

/** How long the dequeuer keeps a header set (devstack/dequeuer.ts). */
const HEADER_SET_TTL_S = 1200;

/** A number from the environment (to run a section small while developing), or `fallback`. */
export function envNumber(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${text}`);
  return n;
}

/**
 * Node flags for the worker from BENCH_WORKER_NODE_ARGS, space-separated (to profile it, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` or `--heapsnapshot-signal=SIGUSR2`).
 */
export function workerNodeArgs(): string[] {
  return (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

/** The worker process's resident set (VmRSS of /proc/<pid>/status), bytes; null once it has exited. */
function rssBytes(pid: number): number | null {
  try {
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? null : Number(kb) * 1024;
  } catch {
    return null;
  }
}

/** CPU time (user + system, ms) of every process on the machine by role, from /proc: the worker (`workerPid`), this bench, redis-server, the Temporal dev server, Hardhat, and the rest. */
export function cpuByRole(workerPid: number): Record<'worker' | 'bench' | 'redis' | 'temporal' | 'hardhat' | 'other', number> {
  const totals = { worker: 0, bench: 0, redis: 0, temporal: 0, hardhat: 0, other: 0 };
  // Clock ticks: 100 a second on Linux.
  const TICK_MS = 10;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ms = (Number(fields[11]) + Number(fields[12])) * TICK_MS;
      const pid = Number(entry);
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const role =
        pid === workerPid ? 'worker' : pid === process.pid ? 'bench' : cmdline.includes('redis-server') ? 'redis' : cmdline.includes('start-dev') ? 'temporal' : cmdline.includes('hardhat') ? 'hardhat' : 'other';
      totals[role] += ms;
    } catch {
      // Gone meanwhile.
    }
  }
  return totals;
}

/** The worker's memory as its /metrics reports it (prom-client's process series), MiB: resident, V8 heap used and total, external. */
export async function workerMemory(metricsUrl: string): Promise<{ rss: number; heapUsed: number; heapTotal: number; external: number }> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const mibOf = (name: string) => mib(Number(new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? NaN));
  return {
    rss: mibOf('process_resident_memory_bytes'),
    heapUsed: mibOf('nodejs_heap_size_used_bytes'),
    heapTotal: mibOf('nodejs_heap_size_total_bytes'),
    external: mibOf('nodejs_external_memory_bytes'),
  };
}

/** Samples a process's RSS every `everyMs` until stopped. */
export function sampleRss(pid: number, everyMs: number): { samples: Array<{ atMs: number; bytes: number }>; stop(): void } {
  const samples: Array<{ atMs: number; bytes: number }> = [];
  const take = () => {
    const bytes = rssBytes(pid);
    if (bytes !== null) samples.push({ atMs: Date.now(), bytes });
  };
  take();
  const timer = setInterval(take, everyMs);
  return { samples, stop: () => clearInterval(timer) };
}

/** The scope of `releases` for attributeCost, among `markets` (all that run). */
export const scopeOf = (releases: readonly Release[], markets: readonly string[]): EpochScope => ({
  epochs: new Set(releases.map((r) => r.key)),
  markets: markets.map((m) => m.toLowerCase()),
  epochOfWorkflow,
});

/** An epoch the bench released and filed. */
export interface Release {
  market: string;
  epochId: string;
  /** epochKey(market, epochId). */
  key: string;
  blockNumber: number;
  blockHash: string;
  /** When its submissions were all in Redis (wall clock, ms). */
  filedAtMs: number;
  /** The batches its submissions make: projects / BATCH_SIZE, rounded up. */
  expectedBatches: number;
}

/** When a release's window ended (the block closing it was mined) and when its last batch reached the finalizer (null: not in time), wall clock ms. */
export interface EpochEnds {
  windowEndMs: number;
  lastBatchMs: number | null;
}

export interface E2e {
  stack: Stack;
  clock: ChainClock;
  finalizer: Finalizer;
  windowSeconds: number;
  /** Starts the market workflows through the CLI and waits until each follows the chain. */
  startMarkets(markets: readonly string[]): Promise<void>;
  /**
   * Releases one epoch of each market in one block, then files `submissions` keys of each under
   * its release block's hash, in the dequeuer's key format, one pipeline per market. Only the
   * header sets are written (seqflow reads nothing else; the values would only fill Redis).
   */
  release(markets: readonly string[], submissions: number): Promise<Release[]>;
  /**
   * When the release's window ended (the block closing it was mined) and when its last batch
   * reached the finalizer (null if not within `timeoutMs`), wall clock ms; once it has, drops its
   * header set, as the dequeuer's expiry would later.
   */
  finish(release: Release, timeoutMs: number): Promise<EpochEnds>;
  /** Waits until no epoch's workflow runs on the stack's task queue (false if one still does after `timeoutMs`), and a little more for its market to hear of it. */
  settle(timeoutMs: number): Promise<boolean>;
  /** Every run on the stack's task queue (of `workflowType` only, if given), with its history. */
  runs(workflowType?: string): Promise<RunHistory[]>;
  /** What the finalizer, Redis and the relayer got for each release. */
  deliveries(releases: readonly Release[]): Promise<EpochDelivery[]>;
  /**
   * Writes, for each release, its epoch run's and its market's histories (proto-JSON, as
   * `temporal workflow show --output json`) and descriptions into a new directory under the
   * system's temp directory, for finding out afterwards why it did not complete; returns the
   * directory.
   */
  keepEvidence(releases: readonly Release[]): Promise<string>;
  stop(): Promise<void>;
}

let built: Promise<unknown> | undefined;

/** The worker measured is the one production runs: dist/, built once per bench run from the current sources (`npm run build`). */
const buildWorker = () => (built ??= promisify(execFile)('npm', ['run', 'build'], { cwd: PROJECT_ROOT }));

export async function startE2e(opts: { markets: number; windowSeconds: number; batchSize: number }): Promise<E2e> {
  await buildWorker();
  const stack = await startStack({ markets: opts.markets, params: { submissionWindow: opts.windowSeconds }, batchSize: opts.batchSize, workerEntry: 'dist' });
  let clock: ChainClock | undefined;
  let finalizer: Finalizer | undefined;
  try {
    clock = await startChainClock(stack.node.url);
    finalizer = await Finalizer.start(stack.redis.port);
  } catch (err) {
    await clock?.stop();
    await stack.stop();
    throw err;
  }
  const { chain, redis, temporal } = stack;
  const headerSet = (r: Release) => keys.snapshotCollector(r.market.toLowerCase(), r.epochId, r.blockHash);

  async function file(market: string, epochId: string, blockHash: string, submissions: number): Promise<number> {
    const projects = Math.ceil(submissions / SLOTS_PER_PROJECT);
    const set = keys.snapshotCollector(market.toLowerCase(), epochId, blockHash);
    const pipeline = redis.client.pipeline();
    let members: string[] = [];
    for (let i = 0; i < submissions; i++) {
      const projectId = `pairContract_trade_volume:0x${Math.floor(i / SLOTS_PER_PROJECT).toString(16).padStart(40, '0')}:UNISWAPV2`;
      members.push(submissionKey({ market, epochId, projectId, slotId: (i % SLOTS_PER_PROJECT) + 1 }));
      if (members.length === 1000 || i === submissions - 1) {
        pipeline.sadd(set, ...members);
        members = [];
      }
    }
    pipeline.expire(set, HEADER_SET_TTL_S);
    for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
    return Math.ceil(projects / opts.batchSize);
  }

  return {
    stack,
    clock,
    finalizer,
    windowSeconds: opts.windowSeconds,
    async startMarkets(markets) {
      if (markets.length === 0) return; // `start` alone would start every configured market
      await seqflowJson(['start', ...markets], stack.env);
      await Promise.all(markets.map((m) => waitFor(`${m} following`, async () => (await marketStatus(temporal.client, m)).cursor, 120_000)));
    },
    async release(markets, submissions) {
      // As TestChain.releaseEpoch, without waiting for the receipt: the clock mines them all in its next block.
      const sent = await clock!.together(() =>
        Promise.all(
          markets.map(async (market) => {
            const next = Number(await chain.protocolState.getFunction('currentEpochId')(market)) + 1;
            return { market, tx: (await chain.protocolState.getFunction('releaseEpoch')(market, next * 10, next * 10 + 9)) as ContractTransactionResponse };
          }),
        ),
      );
      return Promise.all(
        sent.map(async ({ market, tx }) => {
          const receipt = await tx.wait();
          const released = receipt?.logs.map((l) => chain.protocolState.interface.parseLog(l)).find((e) => e?.name === 'EpochReleased');
          if (!receipt || !released) throw new Error(`release tx ${tx.hash} of ${market} has no EpochReleased`);
          const epochId = String(released.args.getValue('epochId'));
          const blockHash = receipt.blockHash.toLowerCase();
          const expectedBatches = await file(market, epochId, blockHash, submissions);
          return { market, epochId, key: epochKey(market, epochId), blockNumber: receipt.blockNumber, blockHash, filedAtMs: Date.now(), expectedBatches };
        }),
      );
    },
    async finish(release, timeoutMs) {
      const [windowEndMs, lastBatchMs] = await Promise.all([clock!.windowEnd(release.blockNumber, opts.windowSeconds), finalizer!.lastBatchAt(release.key, timeoutMs)]);
      // Kept while the epoch may still be prepared.
      if (lastBatchMs !== null) await redis.client.del(headerSet(release));
      return { windowEndMs, lastBatchMs };
    },
    async settle(timeoutMs) {
      const query = `TaskQueue = '${stack.taskQueue}' AND ExecutionStatus = 'Running'`;
      const settled = await waitFor(
        'every epoch workflow closed',
        async () => {
          for await (const wf of temporal.client.workflow.list({ query })) if (epochOfWorkflow(wf.workflowId) !== null) return false;
          return true;
        },
        timeoutMs,
        1000,
      ).catch(() => false);
      await new Promise((r) => setTimeout(r, 3000));
      return settled;
    },
    async runs(workflowType) {
      const listed: Array<{ workflowId: string; runId: string; type: string }> = [];
      const query = `TaskQueue = '${stack.taskQueue}'` + (workflowType === undefined ? '' : ` AND WorkflowType = '${workflowType}'`);
      for await (const wf of temporal.client.workflow.list({ query })) listed.push({ workflowId: wf.workflowId, runId: wf.runId, type: wf.type });
      const runs: RunHistory[] = [];
      // A few at a time: the dev server shares the machine.
      for (let i = 0; i < listed.length; i += 8) {
        runs.push(
          ...(await Promise.all(
            listed.slice(i, i + 8).map(async (wf) => {
              const history = JSON.parse(historyToJSON(await temporal.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory())) as { events?: HistoryEvent[] };
              return { workflowId: wf.workflowId, workflowType: wf.type, events: history.events ?? [] };
            }),
          )),
        );
      }
      return runs;
    },
    async deliveries(releases) {
      const counts = releases.length === 0 ? [] : await redis.client.mget(releases.map((r) => keys.batchCount(r.market.toLowerCase(), r.epochId)));
      const accepted = stack.relayer.accepted('/submitBatchSize');
      return releases.map((r, i) => ({
        expectedBatches: r.expectedBatches,
        receivedBatchIds: (finalizer!.received.get(r.key) ?? []).map((b) => b.batchId),
        batchCountKey: counts[i] ?? null,
        relayerBatchSizes: accepted.filter((a) => a.json.epochID === Number(r.epochId) && String(a.json.dataMarketAddress).toLowerCase() === r.market.toLowerCase()).map((a) => Number(a.json.batchSize)),
      }));
    },
    async keepEvidence(releases) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqflow-bench-evidence-'));
      const save = async (workflowId: string, file: string) => {
        try {
          const handle = temporal.client.workflow.getHandle(workflowId);
          const description = await handle.describe();
          fs.writeFileSync(path.join(dir, `${file}.describe.json`), JSON.stringify({ status: description.status.name, runId: description.runId, historyLength: description.historyLength, startTime: description.startTime, closeTime: description.closeTime }, null, 2));
          fs.writeFileSync(path.join(dir, `${file}.history.json`), historyToJSON(await handle.fetchHistory()));
        } catch (err) {
          fs.writeFileSync(path.join(dir, `${file}.error.txt`), String(err));
        }
      };
      for (const r of releases) {
        const name = `${r.market.toLowerCase()}-${r.epochId}`;
        await save(batchPreparationWorkflowId(r.market, r.epochId), `epoch-${name}`);
        await save(marketWorkflowId(r.market), `market-${name}`);
      }
      return dir;
    },
    async stop() {
      await finalizer!.stop();
      await clock!.stop();
      await stack.stop();
    },
  };
}
