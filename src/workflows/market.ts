/**
 * One long-lived workflow per data market: follows the chain through the long-poll activity
 * and starts a batch preparation child for every EpochReleased of the market.
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
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { EpochReleased, FollowChainResult, MarketParams } from '../domain/types.js';
import { FOLLOW_MAX_WAIT_MS, followChain, getChainHead, loadMarketParams } from './activity-stubs.js';
import {
  batchPreparationWorkflowId,
  epochClosedSignal,
  pauseUpdate,
  resumeUpdate,
  statusQuery,
  stopUpdate,
  type MarketStatus,
  type MarketWorkflowInput,
} from './definitions.js';
import { batchPreparationWorkflow } from './epoch.js';
import { Market, initialMarketState } from './market-state.js';

export async function marketWorkflow(input: MarketWorkflowInput): Promise<MarketStatus> {
  const market = new Market(input.state ?? initialMarketState(input.market));
  let params: MarketParams | null = null;
  let stopping = false;
  let poll: CancellationScope | undefined;

  const status = (): MarketStatus => ({ ...market.state, headLag: market.headLag(), params, stopping, runId: workflowInfo().runId });
  setHandler(statusQuery, status);
  setHandler(pauseUpdate, () => {
    market.state.paused = true;
    poll?.cancel();
    return status();
  });
  setHandler(resumeUpdate, () => {
    market.state.paused = false;
    return status();
  });
  setHandler(stopUpdate, () => {
    stopping = true;
    poll?.cancel();
    return status();
  });
  setHandler(epochClosedSignal, (report) => market.epochClosed(report));

  params = await loadMarketParams(input.market);
  if (!market.state.cursor) market.startAt(input.startBlock ?? (await getChainHead()).safeHead);

  while (!stopping && !continueAsNewDue(input)) {
    await condition(() => !market.state.paused || stopping);
    if (stopping) break;
    let result: FollowChainResult;
    try {
      poll = new CancellationScope();
      const cursor = market.cursor;
      result = await poll.run(() => followChain({ market: input.market, cursor, maxWaitMs: FOLLOW_MAX_WAIT_MS }));
    } catch (err) {
      if (isCancellation(err)) continue; // paused or stopping: the cursor stays where it was
      throw err;
    } finally {
      poll = undefined;
    }
    const windowSeconds = params.submissionWindowSeconds;
    await Promise.all(market.advance(result).map((event) => startBatchPreparation(market, event, windowSeconds)));
  }

  await condition(allHandlersFinished);
  if (stopping) return status();
  return continueAsNew<typeof marketWorkflow>({ market: input.market, state: market.state, continueAsNewAfterEvents: input.continueAsNewAfterEvents });
}

function continueAsNewDue(input: MarketWorkflowInput): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || (input.continueAsNewAfterEvents !== undefined && info.historyLength > input.continueAsNewAfterEvents);
}

/**
 * Starts the epoch's batch preparation under its business ID. A second release of an epoch
 * whose preparation runs or completed is refused by the server (reuse policy: only a failed
 * one may run again), so it can never produce a second set of batches.
 */
async function startBatchPreparation(market: Market, event: EpochReleased, submissionWindowSeconds: number): Promise<void> {
  const marketAddress = market.state.market;
  try {
    await startChild(batchPreparationWorkflow, {
      workflowId: batchPreparationWorkflowId(marketAddress, event.epochId),
      args: [
        {
          market: marketAddress,
          epochId: event.epochId,
          releaseBlockNumber: event.blockNumber,
          releaseBlockTimestamp: event.blockTimestamp,
          submissionWindowSeconds,
        },
      ],
      // Children outlive this run: continue-as-new closes it, and batches must still go out.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    });
    market.epochStarted(event.epochId);
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    log.info('epoch released again: its batch preparation already exists', { market: marketAddress, epochId: event.epochId, blockNumber: event.blockNumber });
    market.duplicateRelease(event.epochId);
  }
}
