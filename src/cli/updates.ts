/**
 * The CLI's updates of a market workflow (pause, resume, stop, rewind), bounded in time: an
 * update waits for a worker to run it, and without one it would wait for ever. Before sending,
 * the market's task queue must have a worker polling it; then the update must be answered
 * within the timeout, or the operator is told where a worker is missing.
 */
import { WorkflowNotFoundError, WorkflowUpdateRPCTimeoutOrCancelledError, type Client, type WorkflowHandle } from '@temporalio/client';
import protos from '@temporalio/proto';

/** Seconds an update may take by default (`--timeout`): a worker answers one in well under a second. */
export const DEFAULT_UPDATE_TIMEOUT_S = 10;

/**
 * Whether any worker polls `taskQueue` for workflow tasks. Temporal lists a poller for some
 * minutes after its last poll, so a worker killed a moment ago still counts: the update's
 * timeout covers that case.
 */
export async function workerPolls(client: Client, taskQueue: string): Promise<boolean> {
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: protos.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return (pollers?.length ?? 0) > 0;
}

/**
 * Runs `send` (one update of the market workflow `handle`) once a worker can answer it, and
 * returns its answer. Throws an Error whose message tells the operator what to do when the
 * market has no workflow or no running one, when no worker polls its task queue (nothing is
 * sent then), or when no answer comes within `timeoutS` seconds (the update was sent: a worker
 * that picks the market up later may still apply it). An update the workflow refuses is thrown
 * as it comes (WorkflowUpdateFailedError, the reason in its cause).
 */
export async function updateMarket<T>(client: Client, handle: WorkflowHandle, send: () => Promise<T>, timeoutS: number): Promise<T> {
  let taskQueue: string;
  try {
    const description = await handle.describe();
    if (description.status.name !== 'RUNNING') throw new Error(`${handle.workflowId} is not running (its last run is ${description.status.name}): seqflow start it first`);
    taskQueue = description.taskQueue;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new Error(`${handle.workflowId} was never started: seqflow start it first`);
    throw err;
  }
  const hint = `is a worker running on task queue "${taskQueue}" (TEMPORAL_TASK_QUEUE of the worker)?`;
  if (!(await workerPolls(client, taskQueue))) throw new Error(`no worker polls task queue "${taskQueue}", so none can answer: nothing was sent. Start a worker with TEMPORAL_TASK_QUEUE=${taskQueue}`);
  try {
    return await client.withDeadline(Date.now() + timeoutS * 1000, send);
  } catch (err) {
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
      throw new Error(`no worker answered within ${timeoutS} s: ${hint} (the update may still apply when a worker picks the market up: check with seqflow status)`);
    }
    throw err;
  }
}
