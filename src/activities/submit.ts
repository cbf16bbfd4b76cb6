/**
 * An epoch's sending, as one activity: the relayer learns the batch count, then the finalizer
 * gets each batch (the upstream order). Both steps are guarded (see relayer.ts and
 * redis-scripts.ts), so a retry after a crash between them sends nothing twice; one activity
 * instead of a child workflow with two saves the epoch two task round trips and ~20 history events.
 * From 0.8.0 on, prepareEpoch sends the epoch itself once it is stored, and submitEpoch only
 * sends what that could not.
 */
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { BatchSubmissionInput, PreparedEpoch, PrepareEpochInput } from '../domain/types.js';
import { clientSpan, internalSpan } from '../tracing/spans.js';

export interface SendSteps {
  prepareEpoch(input: PrepareEpochInput): Promise<PreparedEpoch>;
  submitBatchSize(input: BatchSubmissionInput): Promise<{ sentNow: boolean }>;
  pushBatchesToFinalizer(input: BatchSubmissionInput): Promise<{ pushedNow: number }>;
}

export function createSubmitActivities(steps: SendSteps) {
  /** `POST /submitBatchSize` unless sent already, then every batch not yet pushed: `{sentNow, pushedNow}`. */
  async function submitEpoch(input: BatchSubmissionInput): Promise<{ sentNow: boolean; pushedNow: number }> {
    const { sentNow } = await steps.submitBatchSize(input);
    // The relayer call has its own span (relayer.ts); the pushes get one here, as the epoch's last step.
    const { pushedNow } = await clientSpan('LPUSH finalizerQueue', { 'db.system': 'redis', 'seqflow.batches': input.batchCount }, () => steps.pushBatchesToFinalizer(input));
    return { sentNow, pushedNow };
  }

  return {
    submitEpoch,

    /**
     * Closes the epoch's window and stores its batches (batches.ts); with `send`, then sends it as
     * submitEpoch does, in the same activity: the finalizer gets the batches without a Temporal
     * round trip between the store and the send. A send that fails here for a while (a relayer or
     * Redis outage) does not fail the preparation: `sent: false`, and the workflow sends the epoch
     * with submitEpoch, an activity of its own, retried and visible while it fails. A failure no
     * retry can mend (the relayer refusing the request, batches gone) fails it as it would fail
     * submitEpoch, and so does a cancellation.
     */
    async prepareEpoch(input: PrepareEpochInput): Promise<PreparedEpoch> {
      const prepared = await steps.prepareEpoch(input);
      if (!input.send || prepared.kind !== 'prepared') return prepared;
      const sending: BatchSubmissionInput = { market: input.market, epochId: input.epochId, batchCount: prepared.batchCount, releaseBlockTimestamp: input.release.timestamp };
      try {
        await internalSpan('send epoch', { 'seqflow.batches': prepared.batchCount }, () => submitEpoch(sending));
        return { ...prepared, sent: true };
      } catch (err) {
        if ((err instanceof ApplicationFailure && err.nonRetryable) || Context.current().cancellationSignal.aborted) throw err;
        log.warn('epoch not sent with its preparation: submitEpoch sends it', { market: input.market, epochId: input.epochId, error: err instanceof Error ? err.message : String(err) });
        return { ...prepared, sent: false };
      }
    },
  };
}
