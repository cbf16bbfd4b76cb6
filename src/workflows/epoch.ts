/**
 * Per-epoch children: batch preparation waits out the submission window and stores the
 * epoch's batches; batch submission tells the relayer the count and feeds the finalizer.
 * They pass Redis keys and counts, never submission lists.
 */
import {
  CancellationScope,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  executeChild,
  getExternalWorkflowHandle,
  log,
  rootCause,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { BatchPreparationInput, BatchSubmissionInput, EpochOutcome } from '../domain/types.js';
import { msUntilWindowCloses } from '../domain/window.js';
import { getChainHead, prepareBatches, pushBatchesToFinalizer, resolveCurrentDay, submitBatchSize } from './activity-stubs.js';
import { batchSubmissionWorkflowId, epochClosedSignal, type EpochClosed } from './definitions.js';

export async function batchPreparationWorkflow(input: BatchPreparationInput): Promise<EpochOutcome> {
  let outcome: EpochClosed['outcome'] = { status: 'failed', error: 'cancelled' };
  try {
    // A durable timer from the release block's time: it survives restarts, and catching up
    // after downtime does not stretch the window.
    await sleep(msUntilWindowCloses(input.releaseBlockTimestamp, input.submissionWindowSeconds, Date.now()));
    const { head } = await getChainHead();
    // The day the epoch was released in; histories from before day tracking read it here.
    const day = input.day ?? (await resolveCurrentDay(input.market));
    const prepared = await prepareBatches({
      market: input.market,
      epochId: input.epochId,
      fromBlock: input.releaseBlockNumber,
      toBlock: Math.max(head, input.releaseBlockNumber),
      day,
    });
    await executeChild(batchSubmissionWorkflow, {
      workflowId: batchSubmissionWorkflowId(input.market, input.epochId),
      args: [{ market: input.market, epochId: input.epochId, batchCount: prepared.batchCount }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    });
    const result: EpochOutcome = {
      epochId: input.epochId,
      batchCount: prepared.batchCount,
      submissionCount: prepared.submissionCount,
      malformedCount: prepared.malformedCount,
      day,
    };
    outcome = { status: 'batched', result };
    return result;
  } catch (err) {
    outcome = { status: 'failed', error: rootCause(err) ?? String(err) };
    throw err;
  } finally {
    await reportToMarket({ epochId: input.epochId, outcome });
  }
}

/** Tells the market workflow (whichever run is current) that this epoch is closed. */
async function reportToMarket(report: EpochClosed): Promise<void> {
  const parent = workflowInfo().parent;
  if (!parent) return;
  try {
    await CancellationScope.nonCancellable(() => getExternalWorkflowHandle(parent.workflowId).signal(epochClosedSignal, report));
  } catch (err) {
    // The market may have been stopped meanwhile; the epoch's own result stands in its history.
    log.warn('could not report the epoch to its market', { marketWorkflowId: parent.workflowId, error: String(err) });
  }
}

export async function batchSubmissionWorkflow(input: BatchSubmissionInput): Promise<{ batchCount: number }> {
  // Upstream order: the relayer learns the batch count before the finalizer sees any batch.
  await submitBatchSize(input);
  await pushBatchesToFinalizer(input);
  return { batchCount: input.batchCount };
}
