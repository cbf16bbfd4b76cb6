/**
 * Epochs end to end, on the whole collector (bench/e2e.ts):
 *  - `epochs` (issue 9 targets 1, 4, 5): epochs of 10k submissions with 1 market, then with 10
 *    releasing together in one block, one round after the other: window end → last finalizer
 *    push (p50, p99, max), the worker's RSS, and Temporal's cost per epoch from the histories;
 *  - `idle` (target 5): one market and no releases: history events, actions and activity runs a
 *    day, and how far behind the chain the operator's status is (3 minutes, or up to 30 when the
 *    idle loop turns more slowly);
 *  - `soak` (target 4, long): ≥ 1,000 epochs, the worker's RSS sampled every 10 s: its growth.
 * Sizes come from the environment (BENCH_EPOCHS, BENCH_SUBMISSIONS, BENCH_MARKETS,
 * BENCH_IDLE_SECONDS, BENCH_IDLE_MAX_SECONDS, BENCH_SOAK_ROUNDS, BENCH_SOAK_MARKETS,
 * BENCH_SOAK_SUBMISSIONS), to run them small while developing.
 */
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeMarket } from '../src/status.js';
import { cpuByRole, envNumber, sampleRss, workerMemory, scopeOf, startE2e, workerNodeArgs, type E2e, type EpochEnds, type Release } from './e2e.js';
import { describeTally, epochOfWorkflow, epochSteps, perDay, rssGrowthPercent, rssQuarters, spread, steadyRss, tallyDeliveries, type EpochSteps } from './measures.js';
import { mib, type Report } from './report.js';
import { activityInSpan, attributeCost, meanCost, workflowTasksCompleted, type Cost, type RunHistory } from './temporal-cost.js';

/** The markets' submission window, seconds: long enough to file 10 × 10k submissions after the release. */
const WINDOW_SECONDS = 5;
/** Projects per batch: 10k submissions (1,000 projects) make 20 batches, as in bench/batches.ts. */
const BATCH_SIZE = 50;
/** An epoch not at the finalizer this long after its release counts as never completed. */
const EPOCH_TIMEOUT_MS = 120_000;

const round1 = (x: number) => Math.round(x * 10) / 10;

/**
 * Rounds of releases, each waiting for the last one's epochs to reach the finalizer: latencies
 * (ms) and the end of each round (wall clock). A round with an epoch that never completes ends
 * the run: something is broken, and waiting out every later round would only take hours.
 */
async function runRounds(e2e: E2e, markets: readonly string[], rounds: number, submissions: number) {
  const releases: Release[] = [];
  const latencies: number[] = [];
  const ends = new Map<string, EpochEnds>();
  const roundEnds: number[] = [];
  let missing = 0;
  let filedLate = 0;
  for (let i = 0; i < rounds; i++) {
    const round = await e2e.release(markets, submissions);
    releases.push(...round);
    for (const [r, { windowEndMs, lastBatchMs }] of (await Promise.all(round.map(async (r) => [r, await e2e.finish(r, EPOCH_TIMEOUT_MS)] as const)))) {
      ends.set(r.key, { windowEndMs, lastBatchMs });
      if (r.filedAtMs > windowEndMs) filedLate++;
      if (lastBatchMs === null) missing++;
      else latencies.push(lastBatchMs - windowEndMs);
    }
    roundEnds.push(Date.now());
    if (missing > 0) break;
  }
  return { releases, latencies, ends, roundEnds, missing, filedLate };
}

/** "55 events (epochWorkflow 29, marketWorkflow 26); 10 actions (activity 4, …)" */
function describeCost(cost: Cost): string {
  const parts = (byName: Record<string, number>) =>
    Object.entries(byName)
      .sort(([, a], [, b]) => b - a)
      .map(([name, n]) => `${name} ${round1(n)}`)
      .join(', ');
  return `${round1(cost.events)} events (${parts(cost.eventsByWorkflowType)}); ${round1(cost.actions)} actions (${parts(cost.actionsByKind)})`;
}

/**
 * Each step of the epochs' runs against their window's end (from their histories' event times;
 * one machine, one clock): "timer fired p50 -120 / p99 +40 ms, prepareEpoch started …".
 */
function describeSteps(runs: readonly RunHistory[], ends: ReadonlyMap<string, EpochEnds>): string {
  const offsets: Record<keyof EpochSteps | 'lastPush', number[]> = { timerFired: [], prepareStarted: [], prepareCompleted: [], submitStarted: [], submitCompleted: [], lastPush: [] };
  for (const run of runs) {
    const key = run.workflowType === 'epochWorkflow' ? epochOfWorkflow(run.workflowId) : null;
    const end = key === null ? undefined : ends.get(key);
    if (!end) continue;
    for (const [step, at] of Object.entries(epochSteps(run.events)) as Array<[keyof EpochSteps, number | null]>) if (at !== null) offsets[step].push(at - end.windowEndMs);
    if (end.lastBatchMs !== null) offsets.lastPush.push(end.lastBatchMs - end.windowEndMs);
  }
  const signed = (x: number) => (x >= 0 ? `+${Math.round(x)}` : String(Math.round(x)));
  const epochs = offsets.timerFired.length;
  return (Object.entries(offsets) as Array<[string, number[]]>)
    // submitEpoch runs only for an epoch that prepareEpoch could not send (0.8.0 on).
    .filter(([step, values]) => values.length > 0 || !step.startsWith('submit'))
    .map(([step, values]) => {
      const s = spread(values);
      const some = step.startsWith('submit') && values.length < epochs ? ` (${values.length} of ${epochs} epochs)` : '';
      return `${step} p50 ${signed(s.p50)} / p99 ${signed(s.p99)} ms${some}`;
    })
    .join(', ') + ` after the window's end${offsets.submitStarted.length === 0 ? '; no epoch needed submitEpoch' : ''}`;
}

export async function benchEpochs(report: Report): Promise<void> {
  const epochs = envNumber('BENCH_EPOCHS', 50);
  const submissions = envNumber('BENCH_SUBMISSIONS', 10_000);
  const many = envNumber('BENCH_MARKETS', 10);
  const e2e = await startE2e({ markets: many, windowSeconds: WINDOW_SECONDS, batchSize: BATCH_SIZE });
  try {
    const worker = await e2e.stack.startWorker({}, workerNodeArgs());
    const configs: Array<{ label: string; releases: Release[]; ends: Map<string, EpochEnds> }> = [];
    for (const count of [1, many]) {
      const label = count === 1 ? '1 market' : `${count} markets releasing together`;
      const markets = e2e.stack.chain.markets.slice(0, count);
      await e2e.startMarkets(markets);
      const rss = sampleRss(worker.pid, 1000);
      const cpuBefore = cpuByRole(worker.pid);
      const run = await runRounds(e2e, markets, epochs, submissions);
      const cpuAfter = cpuByRole(worker.pid);
      rss.stop();
      configs.push({ label, releases: run.releases, ends: run.ends });

      const s = spread(run.latencies);
      const problems = [
        run.missing && `${run.missing} never reached the finalizer: stopped after round ${run.roundEnds.length}`,
        run.filedLate && `${run.filedLate} filed after their window's end`,
      ].filter(Boolean);
      report.row({
        case: `window end → last finalizer push, ${label}, ${epochs} rounds of ${submissions / 1000}k submissions`,
        ms: s.p50,
        note: `p50 ${s.p50} ms, p99 ${s.p99} ms, max ${s.max} ms over ${s.n} epochs${problems.length ? `; ${problems.join(', ')}` : ''}`,
      });
      report.target({ id: '1', name: `window end → last finalizer push p99, ${label}`, measured: s.p99, bound: 300, unit: 'ms', kind: 'max', note: `p50 ${s.p50} ms, max ${s.max} ms, ${s.n} epochs` });

      // What bounds the latency on a shared machine: every process's CPU per epoch, and per round against the cores.
      const perEpoch = (Object.keys(cpuAfter) as Array<keyof typeof cpuAfter>).map((role) => [role, (cpuAfter[role] - cpuBefore[role]) / run.releases.length] as const);
      const perRound = perEpoch.reduce((sum, [, ms]) => sum + ms, 0) * count;
      report.row({
        case: `CPU per epoch by process, ${label}`,
        ms: 0,
        note: `${perEpoch.map(([role, ms]) => `${role} ${Math.round(ms)} ms`).join(', ')}; ${Math.round(perRound)} ms of CPU a round of ${count} epoch${count > 1 ? 's' : ''} (rounds ${Math.round((run.roundEnds.at(-1)! - run.roundEnds[0]!) / Math.max(1, run.roundEnds.length - 1))} ms apart), on ${os.cpus().length} cores`,
      });

      // Steady: after the first fifth of the rounds.
      const warmedUpAt = run.roundEnds[Math.min(run.roundEnds.length, Math.ceil(epochs / 5)) - 1]!;
      const steady = steadyRss(rss.samples.map((x) => x.bytes), rss.samples.filter((x) => x.atMs < warmedUpAt).length);
      const memory = await workerMemory(worker.metricsUrl);
      report.row({
        case: `worker RSS, ${label}`,
        ms: 0,
        note: `median ${mib(steady.median)} MiB, max ${mib(steady.max)} MiB over ${steady.samples} samples (1 s) after the first ${Math.ceil(epochs / 5)} rounds; at the end RSS ${memory.rss}, main V8 heap used ${memory.heapUsed} of ${memory.heapTotal}, external ${memory.external} MiB`,
      });
      if (count > 1) report.target({ id: '4', name: `worker RSS steady, ${label} (median after warm-up)`, measured: mib(steady.median), bound: 250, unit: 'MiB', kind: 'max', note: `max ${mib(steady.max)} MiB` });
    }

    const settled = await e2e.settle(EPOCH_TIMEOUT_MS);
    const runs = await e2e.runs();
    for (const { label, releases, ends } of configs) {
      report.row({ case: `where the time goes, ${label}`, ms: 0, note: describeSteps(runs, ends) });
      const { perEpoch } = attributeCost(runs, scopeOf(releases, e2e.stack.chain.markets));
      const mean = meanCost(perEpoch.values(), releases.length);
      const worst = Math.max(...[...perEpoch.values()].map((c) => c.events));
      const tally = tallyDeliveries(await e2e.deliveries(releases));
      report.row({
        case: `Temporal cost per epoch, ${label}, from ${runs.length} histories`,
        ms: 0,
        note: `${describeCost(mean)}; most events for one epoch ${round1(worst)}${settled ? '' : ' (read while epochs still ran)'}; at the end: ${describeTally(tally)}`,
      });
      report.target({ id: '5', name: `history events per epoch, ${label}`, measured: round1(mean.events), bound: 60, unit: 'events', kind: 'max', note: `max ${round1(worst)}` });
      report.target({ id: '5', name: `actions per epoch, ${label}`, measured: round1(mean.actions), bound: 10, unit: 'actions', kind: 'max', note: 'history-visible actions (no queries, no heartbeats)' });
    }
  } finally {
    await e2e.stop();
  }
}

/**
 * One market and no releases. Measured from the first to the last workflow task completed in the
 * measured time, so that it holds whole turns of the idle loop however long each turn is: at
 * least BENCH_IDLE_SECONDS (180), and on until two workflow tasks have completed, at most
 * BENCH_IDLE_MAX_SECONDS (1,800).
 */
export async function benchIdle(report: Report): Promise<void> {
  const minSeconds = envNumber('BENCH_IDLE_SECONDS', 180);
  const maxSeconds = envNumber('BENCH_IDLE_MAX_SECONDS', 1800);
  const e2e = await startE2e({ markets: 1, windowSeconds: WINDOW_SECONDS, batchSize: BATCH_SIZE });
  try {
    await e2e.stack.startWorker();
    const market = e2e.stack.chain.markets[0]!;
    await e2e.startMarkets([market]);
    // The market's start-up reads are no idle cost.
    await sleep(5000);
    const from = Date.now();
    const headLag: number[] = [];
    const cursorLag: number[] = [];
    let runs: RunHistory[] = [];
    let tasks: number[] = [];
    for (;;) {
      // The operator's view (what `seqflow status` prints), against the newest block mined.
      const row = await describeMarket(e2e.stack.temporal.client, market);
      const chainHead = e2e.clock.blocks.at(-1)!.number;
      if (typeof row.head === 'number') headLag.push(chainHead - row.head);
      if (typeof row.nextBlock === 'number') cursorLag.push(chainHead - (row.nextBlock - 1));
      const elapsed = (Date.now() - from) / 1000;
      if (elapsed >= minSeconds) {
        runs = await e2e.runs();
        tasks = workflowTasksCompleted(runs, from, Date.now());
        if (tasks.length >= 2 || elapsed >= maxSeconds) break;
      }
      await sleep(10_000);
    }
    const to = Date.now();
    // Whole turns when there are two workflow tasks to measure between; else the whole time.
    const [spanFrom, spanTo] = tasks.length >= 2 ? [tasks[0]!, tasks.at(-1)!] : [from, to];
    const span = activityInSpan(runs, spanFrom, spanTo);
    const seconds = (spanTo - spanFrom) / 1000;
    const events = Math.round(perDay(span.events, seconds));
    const activityRuns = Math.round(perDay(span.activityRuns, seconds));
    const head = spread(headLag);
    const cursor = spread(cursorLag);
    report.row({
      case: `idle market, ${Math.round((to - from) / 1000)} s`,
      ms: to - from,
      note:
        `${span.events} events, ${span.activityRuns} activity runs, ${span.actions} actions in ${Math.round(seconds)} s between ${tasks.length >= 2 ? `${tasks.length} workflow tasks` : 'the ends (fewer than two workflow tasks)'}: ` +
        `${events} events, ${activityRuns} runs, ${Math.round(perDay(span.actions, seconds))} actions a day`,
    });
    report.row({
      case: 'idle market: status behind the chain (blocks, one a second)',
      ms: 0,
      note: `head p50 ${head.p50}, max ${head.max}; cursor p50 ${cursor.p50}, max ${cursor.max} (CONFIRMATIONS 2); ${head.n} readings 10 s apart`,
    });
    const partial = tasks.length < 2 ? `; under two workflow tasks in ${Math.round(seconds)} s: not a whole turn, raise BENCH_IDLE_MAX_SECONDS` : '';
    report.target({ id: '5', name: 'idle market: history events a day', measured: events, bound: 17_280 / 10, unit: 'events/day', kind: 'max', note: `status head p50 ${head.p50}, max ${head.max} blocks behind${partial}` });
    report.target({ id: '5', name: 'idle market: activity runs a day', measured: activityRuns, bound: 2_880 / 10, unit: 'runs/day', kind: 'max', ...(partial ? { note: partial.slice(2) } : {}) });
  } finally {
    await e2e.stop();
  }
}

export async function benchSoak(report: Report): Promise<void> {
  const rounds = envNumber('BENCH_SOAK_ROUNDS', 100);
  const count = envNumber('BENCH_SOAK_MARKETS', 10);
  const submissions = envNumber('BENCH_SOAK_SUBMISSIONS', 10_000);
  const e2e = await startE2e({ markets: count, windowSeconds: WINDOW_SECONDS, batchSize: BATCH_SIZE });
  try {
    const worker = await e2e.stack.startWorker({}, workerNodeArgs());
    await e2e.startMarkets(e2e.stack.chain.markets);
    const t0 = Date.now();
    const rss = sampleRss(worker.pid, 10_000);
    const run = await runRounds(e2e, e2e.stack.chain.markets, rounds, submissions);
    rss.stop();
    // Warm-up: the first tenth of the rounds.
    const warmedUpAt = run.roundEnds[Math.min(run.roundEnds.length, Math.ceil(rounds / 10)) - 1]!;
    const bytes = rss.samples.map((x) => x.bytes);
    const warmup = rss.samples.filter((x) => x.atMs < warmedUpAt).length;
    const growth = round1(rssGrowthPercent(bytes, warmup));
    const quarters = rssQuarters(bytes, warmup);
    const steady = steadyRss(bytes, warmup);
    const s = spread(run.latencies);
    // Beside the target's figure (quarter against quarter): the first sample after warm-up, and the live heap.
    const memory = await workerMemory(worker.metricsUrl);
    report.row({
      case: `soak: ${run.releases.length} epochs (${count} markets × ${rounds} rounds of ${submissions / 1000}k submissions)`,
      ms: Date.now() - t0,
      note:
        `worker RSS first after warm-up ${mib(bytes[warmup] ?? NaN)} MiB, median ${mib(steady.median)}, max ${mib(steady.max)} MiB (${steady.samples} samples, 10 s); ` +
        `median of the first quarter ${mib(quarters.first)}, of the last ${mib(quarters.last)} MiB; at the end main V8 heap used ${memory.heapUsed} of ${memory.heapTotal} MiB; ` +
        `window end → last push p50 ${s.p50}, p99 ${s.p99} ms; ${run.missing} never completed`,
    });
    report.target({ id: '4', name: `worker RSS growth over a soak of ${run.releases.length} epochs`, measured: growth, bound: 5, unit: '%', kind: 'max', note: `last-quarter median vs first-quarter median, after ${Math.ceil(rounds / 10)} rounds` });
  } finally {
    await e2e.stop();
  }
}
