/**
 * One long-lived workflow per data market: follows the chain through the long-poll activity,
 * tracks the day, and starts the children: an epoch workflow per EpochReleased, reward
 * updates (periodic, and the previous day's final one), and pushes to the attestor queue.
 * A finality violation halts it until an operator resumes or rewinds it.
 */
import {
  CancellationScope,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  setHandler,
  startChild,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { BatchPreparationInput, EpochReleased, FollowChainResult, MarketParams } from '../domain/types.js';
import { FOLLOW_MAX_WAIT_MS, WATCH_MAX_WAIT_MS, followChain, getChainHead, loadMarketParams, pushAttestorMessages, readDayCounter, watchHead } from './activity-stubs.js';
import {
  BOUNDED_MARKET_RUN_PATCH,
  CHAIN_TRUTH_PATCH,
  DAYS_AND_REWARDS_PATCH,
  EPOCH_WORKFLOW_PATCH,
  MARKET_RUN_MAX_EVENTS,
  SEARCH_ATTRIBUTES_PATCH,
  batchPreparationWorkflowId,
  epochClosedSignal,
  finalRewardsWorkflowId,
  pauseUpdate,
  periodicRewardsWorkflowId,
  refreshParamsSignal,
  resumeUpdate,
  rewindUpdate,
  statusQuery,
  stopUpdate,
  type MarketStatus,
  type MarketWorkflowInput,
} from './definitions.js';
import { batchPreparationWorkflow, epochWorkflow } from './epoch.js';
import { Market, initialMarketState, type MarketPlan } from './market-state.js';
import { finalRewardsWorkflow, periodicRewardsWorkflow } from './rewards.js';
import { epochStartOptions, finalRewardsStartOptions, marketRunStatus, periodicRewardsStartOptions, showAttributes, type RunStartOptions } from './search-attributes.js';

export async function marketWorkflow(input: MarketWorkflowInput): Promise<MarketStatus> {
  const market = new Market(input.state ?? initialMarketState(input.market));
  let params: MarketParams | null = null;
  let stopping = false;
  let refreshRequested = false;
  let poll: CancellationScope | undefined;

  const status = (): MarketStatus => ({
    ...market.state,
    headLag: market.headLag(),
    params,
    stopping,
    runId: workflowInfo().runId,
    health: market.health(),
    problems: market.problems(),
  });
  const notStopping = () => {
    if (stopping) throw new Error('the market is stopping');
  };
  setHandler(statusQuery, status);
  setHandler(
    pauseUpdate,
    () => {
      market.state.paused = true;
      poll?.cancel();
      return status();
    },
    { validator: notStopping },
  );
  setHandler(
    resumeUpdate,
    () => {
      market.resume();
      return status();
    },
    { validator: notStopping },
  );
  setHandler(stopUpdate, () => {
    stopping = true;
    poll?.cancel();
    return status();
  });
  setHandler(
    rewindUpdate,
    ({ toBlock }) => {
      log.warn('rewound by the operator', { market: input.market, fromBlock: market.state.cursor?.nextBlock, toBlock });
      market.rewind(toBlock);
      poll?.cancel();
      return status();
    },
    {
      validator: (arg) => {
        notStopping();
        market.assertCanRewind((arg as { toBlock?: unknown } | undefined)?.toBlock);
      },
    },
  );
  setHandler(epochClosedSignal, async (report) => {
    const restart = market.epochClosed(report, Date.now());
    if (report.outcome.status === 'orphaned') log.warn('epoch orphaned: its release left the chain', { market: input.market, epochId: report.epochId, detail: report.outcome.detail });
    // Released again while its preparation was open, on the chain as it is now: that release counts.
    if (restart && params) await startBatchPreparation(market, restart, params.submissionWindowSeconds, market.days?.day);
  });
  setHandler(refreshParamsSignal, () => {
    refreshRequested = true;
    poll?.cancel(); // re-read now, not when the long poll returns
  });

  // Runs begun before day tracking replay without it; every new run tracks days.
  const tracksDays = patched(DAYS_AND_REWARDS_PATCH);
  // Runs begun before 0.3.0 wait without an activity while paused.
  const watchesHead = patched(CHAIN_TRUTH_PATCH);
  // Runs begun before 0.5.0 keep the search attributes they were started with (none).
  const searchable = patched(SEARCH_ATTRIBUTES_PATCH);
  // Runs begun before 0.7.0 continue as new only when the server suggests it.
  const bounded = patched(BOUNDED_MARKET_RUN_PATCH);
  const maxEvents = input.continueAsNewAfterEvents ?? (bounded ? MARKET_RUN_MAX_EVENTS : Infinity);
  if (tracksDays) {
    if (!market.state.cursor) market.startAt(input.startBlock ?? (await getChainHead()).safeHead);
    // The day at the cursor, so that a catch-up assigns past epochs their own days.
    if (!market.days) market.startDay(await readDayCounter(input.market, Math.max(0, market.cursor.nextBlock - 1)));
    params = await loadMarketParams(input.market, market.days!.day);
  } else {
    params = await loadMarketParams(input.market);
    if (!market.state.cursor) market.startAt(input.startBlock ?? (await getChainHead()).safeHead);
  }

  while (!stopping && !continueAsNewDue(maxEvents)) {
    // Whatever changes the status or the day comes back here at once: pause, stop and rewind
    // cancel the poll, resume and rewind end the halted wait, and a follower result (a finality
    // violation, a new day) is acted on before the next poll. The first pass also sets what a run
    // started without them lacks (a run started by a test, or continued from before 0.5.0).
    if (searchable) showAttributes({ market: input.market, day: market.days?.day, status: marketRunStatus(market.state) });
    if (market.halted()) {
      if (watchesHead) {
        market.followerStopped();
        await watchHeadWhile(market, () => market.halted() && !stopping);
        continue;
      }
      await condition(() => !market.halted() || stopping);
      if (stopping) break;
    }
    if (tracksDays && refreshRequested) {
      refreshRequested = false;
      params = await loadMarketParams(input.market, market.days!.day);
    }
    let result: FollowChainResult;
    try {
      poll = new CancellationScope();
      const cursor = market.cursor;
      // Come back in time for a final reward update that falls due without new events.
      const dueAt = tracksDays ? market.finalDueAtMs(params) : null;
      const maxWaitMs = dueAt === null ? FOLLOW_MAX_WAIT_MS : Math.min(FOLLOW_MAX_WAIT_MS, Math.max(1000, dueAt - Date.now()));
      const { head, follower, ackEventIds } = market.state;
      result = await poll.run(() =>
        followChain({
          market: input.market,
          cursor,
          maxWaitMs,
          ...(head === null ? {} : { headFloor: head }),
          day: market.followerDay(),
          ...(follower ? { shown: follower } : {}),
          ...(ackEventIds?.length ? { ackEventIds } : {}),
          redisMarker: market.redisMarker(uuid4),
        }),
      );
    } catch (err) {
      if (isCancellation(err)) continue; // paused, stopping or rewound: the cursor stays where it was
      throw err;
    } finally {
      poll = undefined;
    }
    const events = market.advance(result, Date.now());
    if (result.violation) log.error('finality violation: the market halts until an operator resumes or rewinds it', { market: input.market, ...result.violation });
    if (!tracksDays) {
      const windowSeconds = params.submissionWindowSeconds;
      await Promise.all(events.filter((e) => e.kind === 'EpochReleased').map((e) => startBatchPreparation(market, e, windowSeconds)));
      continue;
    }
    // Parameters are re-read before acting on events, so an on-chain change applies from the next epoch.
    if (events.length > 0) params = await loadMarketParams(input.market, market.dayAfter(events));
    await carryOut(market, market.plan(events, params, Date.now()), params);
  }

  await condition(allHandlersFinished);
  if (stopping) {
    if (searchable) showAttributes({ status: 'stopped' });
    return status();
  }
  return continueAsNew<typeof marketWorkflow>({ market: input.market, state: market.state, continueAsNewAfterEvents: input.continueAsNewAfterEvents });
}

function continueAsNewDue(maxEvents: number): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > maxEvents;
}

/**
 * While `halted()`: a head-watching activity heartbeats the chain head, so `status` (which reads
 * the heartbeat through describe) stays current; it is cancelled once the market goes on.
 */
async function watchHeadWhile(market: Market, halted: () => boolean): Promise<void> {
  const scope = new CancellationScope();
  const watching = scope.run(async () => {
    for (;;) {
      const { head } = await watchHead({ cursor: market.cursor, ...(market.state.head === null ? {} : { headFloor: market.state.head }), maxWaitMs: WATCH_MAX_WAIT_MS });
      if (head !== null) market.state.head = head;
    }
  });
  await condition(() => !halted());
  scope.cancel();
  await watching.catch((err: unknown) => {
    if (!isCancellation(err)) throw err;
  });
}

async function carryOut(market: Market, plan: MarketPlan, params: MarketParams): Promise<void> {
  const m = market.state.market;
  await Promise.all([
    ...plan.epochs.map(({ event, day }) => startBatchPreparation(market, event, params.submissionWindowSeconds, day)),
    ...plan.finalDays.map((day) => startOnce(finalRewardsWorkflow, finalRewardsWorkflowId(m, day), { market: m, day }, finalRewardsStartOptions(m, day))),
    ...plan.periodic.map(({ epochId, day, skipPreviousDay }) =>
      startOnce(periodicRewardsWorkflow, periodicRewardsWorkflowId(m, epochId), { market: m, day, epochId, skipPreviousDay }, periodicRewardsStartOptions(m, epochId, day)),
    ),
  ]);
  market.rewardUpdatesStarted(plan);
  if (plan.attestor.length > 0) await pushAttestorMessages({ market: m, batches: plan.attestor });
}

/**
 * Starts a child under its business ID, with its search attributes and summary; false if it runs
 * or ran already. Only a failed run may run again, or, with `reuse`, any closed one (an orphaned
 * epoch, which wrote nothing).
 */
async function startOnce<A>(workflow: (input: A) => Promise<unknown>, workflowId: string, input: A, shown: RunStartOptions, reuse = false): Promise<boolean> {
  try {
    await startChild(workflow, {
      workflowId,
      args: [input],
      // Children outlive this run: continue-as-new closes it, and their effects must still happen.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: reuse ? WorkflowIdReusePolicy.ALLOW_DUPLICATE : WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      ...shown,
    });
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}

/**
 * Starts the epoch's batch preparation under its business ID. A second release of an epoch
 * whose preparation runs or completed is refused by the server, so it can never produce a
 * second set of batches; only an epoch whose preparation ended orphaned starts again.
 */
async function startBatchPreparation(market: Market, event: EpochReleased, submissionWindowSeconds: number, day?: string): Promise<void> {
  const marketAddress = market.state.market;
  const orphaned = market.isOrphaned(event.epochId);
  const wasOpen = market.epochStarting(event.epochId);
  const input: BatchPreparationInput = {
    market: marketAddress,
    epochId: event.epochId,
    ...(day === undefined ? {} : { day }),
    releaseBlockNumber: event.blockNumber,
    releaseBlockTimestamp: event.blockTimestamp,
    releaseBlockHash: event.blockHash,
    submissionWindowSeconds,
    ...(market.state.head === null ? {} : { headFloor: market.state.head }),
  };
  const workflow = patched(EPOCH_WORKFLOW_PATCH) ? epochWorkflow : batchPreparationWorkflow;
  const started = await startOnce(workflow, batchPreparationWorkflowId(marketAddress, event.epochId), input, epochStartOptions(input), orphaned);
  if (started) {
    if (orphaned) log.info('an orphaned epoch is released again: batched from its new block', { market: marketAddress, epochId: event.epochId, blockNumber: event.blockNumber });
    market.epochStarted(event.epochId);
  } else {
    log.info('epoch released again: its batch preparation already exists', { market: marketAddress, epochId: event.epochId, blockNumber: event.blockNumber });
    market.duplicateRelease(event, wasOpen);
  }
}
