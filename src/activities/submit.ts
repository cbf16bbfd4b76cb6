/**
 * An epoch's sending, as one activity: the relayer learns the batch count, then the finalizer
 * gets each batch (the upstream order). Both steps are guarded (see relayer.ts and
 * redis-scripts.ts), so a retry after a crash between them sends nothing twice; one activity
 * instead of a child workflow with two saves the epoch two task round trips and ~20 history events.
 */
import type { BatchSubmissionInput } from '../domain/types.js';
import { clientSpan } from '../tracing/spans.js';

export interface SendSteps {
  submitBatchSize(input: BatchSubmissionInput): Promise<{ sentNow: boolean }>;
  pushBatchesToFinalizer(input: BatchSubmissionInput): Promise<{ pushedNow: number }>;
}

export function createSubmitActivities(steps: SendSteps) {
  return {
    /** `POST /submitBatchSize` unless sent already, then every batch not yet pushed: `{sentNow, pushedNow}`. */
    async submitEpoch(input: BatchSubmissionInput): Promise<{ sentNow: boolean; pushedNow: number }> {
      const { sentNow } = await steps.submitBatchSize(input);
      // The relayer call has its own span (relayer.ts); the pushes get one here, as the epoch's last step.
      const { pushedNow } = await clientSpan('LPUSH finalizerQueue', { 'db.system': 'redis', 'seqflow.batches': input.batchCount }, () => steps.pushBatchesToFinalizer(input));
      return { sentNow, pushedNow };
    },
  };
}
