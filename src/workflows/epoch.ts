/**
 * Per-epoch children of the market. From 0.6.0 on, one `epochWorkflow` per epoch: it waits out
 * the submission window, closes it on chain time and stores the epoch's batches (or ends
 * orphaned if its release left the chain), then tells the relayer the count and feeds the
 * finalizer, in one activity. Runs started before 0.6.0 are a `batchPreparationWorkflow` with a
 * `batchSubmissionWorkflow` child, kept for them. They pass Redis keys and counts, never
 * submission lists.
 */
import {
  ApplicationFailure,
  CancellationScope,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  executeChild,
  getExternalWorkflowHandle,
  log,
  patched,
  rootCause,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { BatchPreparationInput, BatchSubmissionInput, EpochOutcome, EpochWindow, OrphanedEpoch, PreparedBatches, PreparedEpoch, ReleaseBlock } from '../domain/types.js';
import { msUntilWindowCloses } from '../domain/window.js';
import { getChainHead, prepareBatches, prepareEpoch, pushBatchesToFinalizer, resolveCurrentDay, submitBatchSize, submitEpoch } from './activity-stubs.js';
import { CHAIN_TIME_WINDOW_PATCH, SEARCH_ATTRIBUTES_PATCH, SEND_WITH_PREPARATION_PATCH, batchSubmissionWorkflowId, epochClosedSignal, type EpochClosed } from './definitions.js';
import { showAttributes, showSendOutcome, submissionStartOptions } from './search-attributes.js';

/**
 * One epoch, from its release to its last finalizer push (0.6.0 on): a durable timer to the
 * window's end on the release block's clock, `prepareEpoch` (closes the window on chain time,
 * counts and stores the batches; rebased or orphaned if the release moved or left the chain; from
 * 0.8.0 on also sends the epoch), then `submitEpoch` (relayer, then finalizer) unless it was sent.
 * Reports its outcome to the market whatever it is.
 */
export async function epochWorkflow(input: BatchPreparationInput): Promise<EpochOutcome | OrphanedEpoch> {
  let outcome: EpochClosed['outcome'] = { status: 'failed', error: 'cancelled' };
  const sendWithPreparation = patched(SEND_WITH_PREPARATION_PATCH);
  try {
    const day = input.day ?? (await resolveCurrentDay(input.market));
    // Only a hand-made start could lack it: markets always pass the release's block hash.
    if (input.releaseBlockHash === undefined) throw ApplicationFailure.nonRetryable(`epoch ${input.epochId}: no release block hash`, 'BadEpochInput');
    let release: ReleaseBlock = { blockNumber: input.releaseBlockNumber, blockHash: input.releaseBlockHash, timestamp: input.releaseBlockTimestamp };
    let prepared: Extract<PreparedEpoch, { kind: 'prepared' }>;
    for (;;) {
      // A durable timer until the window's end on the release block's clock: it survives
      // restarts, and a catch-up after downtime does not stretch the window.
      await sleep(msUntilWindowCloses(release.timestamp, input.submissionWindowSeconds, Date.now()));
      const closed = await prepareEpoch({
        market: input.market,
        epochId: input.epochId,
        day,
        release,
        submissionWindowSeconds: input.submissionWindowSeconds,
        ...(input.headFloor === undefined ? {} : { headFloor: input.headFloor }),
        ...(sendWithPreparation ? { send: true } : {}),
      });
      if (closed.kind === 'rebased') {
        release = closed.release;
        continue;
      }
      if (closed.kind === 'orphaned') {
        showAttributes({ status: 'orphaned' });
        outcome = { status: 'orphaned', detail: closed.detail };
        return { epochId: input.epochId, orphaned: true, detail: closed.detail };
      }
      prepared = closed;
      break;
    }
    if (!prepared.sent) {
      // Sent by an activity of its own, retried until it is (visible as `submitting`).
      showAttributes({ status: 'submitting' });
      await submitEpoch({ market: input.market, epochId: input.epochId, batchCount: prepared.batchCount, releaseBlockTimestamp: release.timestamp });
    }
    const result: EpochOutcome = {
      epochId: input.epochId,
      batchCount: prepared.batchCount,
      submissionCount: prepared.submissionCount,
      malformedCount: prepared.malformedCount,
      day,
      window: prepared.window,
    };
    showAttributes({ status: 'batched' });
    outcome = { status: 'batched', result };
    return result;
  } catch (err) {
    showAttributes({ status: 'failed' });
    outcome = { status: 'failed', error: rootCause(err) ?? String(err) };
    throw err;
  } finally {
    await reportToMarket({ epochId: input.epochId, outcome });
  }
}

/** An epoch's batch preparation as started before 0.6.0 (kept for those runs: see epochWorkflow). */
export async function batchPreparationWorkflow(input: BatchPreparationInput): Promise<EpochOutcome | OrphanedEpoch> {
  let outcome: EpochClosed['outcome'] = { status: 'failed', error: 'cancelled' };
  // Its market starts it `waiting`, with the market, epoch and day (none before day tracking);
  // each step after is shown here.
  const searchable = patched(SEARCH_ATTRIBUTES_PATCH);
  try {
    const chainTime = patched(CHAIN_TIME_WINDOW_PATCH);
    let prepared: PreparedBatches & { window?: EpochWindow };
    let day: string;
    let releaseBlockTimestamp = input.releaseBlockTimestamp;
    if (chainTime && input.releaseBlockHash !== undefined) {
      day = input.day ?? (await resolveCurrentDay(input.market));
      let release: ReleaseBlock = { blockNumber: input.releaseBlockNumber, blockHash: input.releaseBlockHash, timestamp: input.releaseBlockTimestamp };
      for (;;) {
        // A durable timer until the window's end on the release block's clock: it survives
        // restarts, and a catch-up after downtime does not stretch the window.
        await sleep(msUntilWindowCloses(release.timestamp, input.submissionWindowSeconds, Date.now()));
        const closed = await prepareEpoch({
          market: input.market,
          epochId: input.epochId,
          day,
          release,
          submissionWindowSeconds: input.submissionWindowSeconds,
          ...(input.headFloor === undefined ? {} : { headFloor: input.headFloor }),
        });
        if (closed.kind === 'rebased') {
          release = closed.release;
          releaseBlockTimestamp = release.timestamp;
          continue;
        }
        if (closed.kind === 'orphaned') {
          if (searchable) showAttributes({ status: 'orphaned' });
          outcome = { status: 'orphaned', detail: closed.detail };
          return { epochId: input.epochId, orphaned: true, detail: closed.detail };
        }
        prepared = closed;
        break;
      }
    } else {
      // Started before 0.3.0: the window ends at the head when the timer fires.
      await sleep(msUntilWindowCloses(input.releaseBlockTimestamp, input.submissionWindowSeconds, Date.now()));
      const { head } = await getChainHead();
      // The day the epoch was released in; histories from before day tracking read it here.
      day = input.day ?? (await resolveCurrentDay(input.market));
      prepared = await prepareBatches({
        market: input.market,
        epochId: input.epochId,
        fromBlock: input.releaseBlockNumber,
        toBlock: Math.max(head, input.releaseBlockNumber),
        day,
      });
    }
    // The day too: runs from before day tracking learn it only now.
    if (searchable) showAttributes({ day, status: 'submitting' });
    const submission: BatchSubmissionInput = { market: input.market, epochId: input.epochId, batchCount: prepared.batchCount, releaseBlockTimestamp };
    await executeChild(batchSubmissionWorkflow, {
      workflowId: batchSubmissionWorkflowId(input.market, input.epochId),
      args: [submission],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      ...submissionStartOptions(submission, day),
    });
    const result: EpochOutcome = {
      epochId: input.epochId,
      batchCount: prepared.batchCount,
      submissionCount: prepared.submissionCount,
      malformedCount: prepared.malformedCount,
      day,
      ...(prepared.window ? { window: prepared.window } : {}),
    };
    if (searchable) showAttributes({ status: 'batched' });
    outcome = { status: 'batched', result };
    return result;
  } catch (err) {
    if (searchable) showAttributes({ status: 'failed' });
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

/** An epoch's submission as started by a batch preparation before 0.6.0 (kept for those runs). */
export async function batchSubmissionWorkflow(input: BatchSubmissionInput): Promise<{ batchCount: number }> {
  return showSendOutcome(async () => {
    // Upstream order: the relayer learns the batch count before the finalizer sees any batch.
    await submitBatchSize(input);
    await pushBatchesToFinalizer(input);
    return { batchCount: input.batchCount };
  });
}
