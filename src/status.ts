/**
 * A market's status as the operator sees it, assembled from Temporal: the market workflow's
 * `status` query and `describe` (the follower's heartbeat and retry state). Shared by the CLI
 * and anything else that reports on markets.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { REDIS_UNAVAILABLE } from './activities/redis-outage.js';
import type { FollowerHeartbeat } from './follower/follow.js';
import { batchPreparationWorkflowId, batchSubmissionWorkflowId, marketWorkflowId, statusQuery, type MarketProblem, type MarketStatus } from './workflows/definitions.js';
import type { marketWorkflow } from './workflows/market.js';

/** How long a status query may take: a market whose worker is down must not hold up the others. */
const QUERY_DEADLINE_MS = 10_000;

type PendingActivity = temporal.api.workflow.v1.IPendingActivityInfo;

export interface MarketRow {
  market: string;
  workflowId: string;
  [field: string]: unknown;
}

/** A protobuf timestamp as ISO 8601 (now if absent). */
const iso = (ts: { seconds?: { toString(): string } | null } | null | undefined) => (ts?.seconds == null ? new Date().toISOString() : new Date(Number(ts.seconds.toString()) * 1000).toISOString());

/** following, paused, halted (finality violation), stopping, or stopped. */
function stateOf(status: MarketStatus, workflow: string): string {
  if (workflow !== 'RUNNING') return 'stopped';
  if (status.stopping) return 'stopping';
  if (status.violation) return 'halted';
  return status.paused ? 'paused' : 'following';
}

/** The fields of a status the CLI shows. */
export function summarize(status: MarketStatus, workflow = 'RUNNING'): Record<string, unknown> {
  return {
    state: stateOf(status, workflow),
    health: status.health ?? 'ok',
    problems: status.problems ?? [],
    nextBlock: status.cursor?.nextBlock ?? null,
    head: status.head,
    headLag: status.headLag,
    day: status.days?.day ?? null,
    lastEpochId: status.lastEpochId,
    openEpochs: status.openEpochs,
    failedEpochs: status.failedEpochs ?? [],
    ...status.stats,
  };
}

/**
 * The follower's live view from describe: its heartbeat (cursor and head of the running long
 * poll, ahead of the last checkpoint), its attempt and last failure.
 */
function followerActivity(pending: PendingActivity[] | null | undefined): Record<string, unknown> | null {
  const activity = pending?.find((a) => a.activityType?.name === 'followChain' || a.activityType?.name === 'watchHead');
  if (!activity) return null;
  const payload = activity.heartbeatDetails?.payloads?.[0];
  const beat = payload ? defaultPayloadConverter.fromPayload<FollowerHeartbeat>(payload) : undefined;
  return {
    activity: activity.activityType!.name,
    attempt: activity.attempt,
    lastHeartbeat: activity.lastHeartbeatTime ? iso(activity.lastHeartbeatTime) : null,
    nextBlock: beat?.cursor?.nextBlock ?? null,
    head: beat?.head ?? null,
    rangeBlocks: beat?.rangeBlocks || null,
    lastError: beat?.lastError ?? null,
    lastFailure: activity.lastFailure?.message ?? null,
  };
}

/** Open epochs looked at for retried effects, the most recent first: a status stays cheap. */
const EPOCHS_DESCRIBED = 20;

/**
 * The open epochs' pending activities (the most recent epochs first, at most EPOCHS_DESCRIBED,
 * so that a status stays cheap), by epoch.
 */
async function epochActivities(client: Client, market: string, openEpochs: readonly string[]): Promise<Array<{ epochId: string; pending: PendingActivity[] }>> {
  const ids = openEpochs.slice(-EPOCHS_DESCRIBED).flatMap((epochId) => [batchPreparationWorkflowId(market, epochId), batchSubmissionWorkflowId(market, epochId)].map((id) => ({ epochId, id })));
  const described = await Promise.all(ids.map(({ epochId, id }) => client.workflow.getHandle(id).describe().then((d) => ({ epochId, pending: d.raw.pendingActivities ?? [] }), () => null)));
  return described.filter((x) => x !== null);
}

/**
 * The open epochs whose activities Temporal is retrying (an effect that keeps failing: a Redis
 * key of the wrong type, the relayer down): one `epoch-retrying` problem each, with the
 * activity's attempt and last failure.
 */
function epochProblems(epochs: Array<{ epochId: string; pending: PendingActivity[] }>): MarketProblem[] {
  return epochs.flatMap(({ epochId, pending }) =>
    pending
      .filter((a) => (a.attempt ?? 0) > 1 && a.lastFailure)
      .map((a) => ({
        kind: 'epoch-retrying' as const,
        since: iso(a.scheduledTime),
        detail: `epoch ${epochId}: ${a.activityType?.name ?? 'activity'} attempt ${a.attempt}: ${a.lastFailure!.message ?? ''}`,
      })),
  );
}

/**
 * `redis-unavailable` from the last failure of any pending activity of the market or its epochs
 * (see activities/redis-outage.ts): the market may wait for Redis in an activity other than the
 * follower, which reports an outage itself.
 */
function redisOutage(pending: PendingActivity[]): MarketProblem | null {
  const failures = pending.map((a) => a.lastFailure).filter((f) => f?.applicationFailureInfo?.type === REDIS_UNAVAILABLE);
  if (failures.length === 0) return null;
  const since = Math.min(...failures.map((f) => {
    const payload = f!.applicationFailureInfo!.details?.payloads?.[0];
    return (payload && defaultPayloadConverter.fromPayload<number>(payload)) || Date.now();
  }));
  return { kind: 'redis-unavailable', since: new Date(since).toISOString(), detail: failures[0]!.message ?? 'the worker cannot reach Redis' };
}

/**
 * A market as an operator sees it: its workflow's status query (checkpointed state, health,
 * problems, counters), with the cursor and head taken from the follower's live heartbeat when
 * that is further on, and the follower activity's attempt and last failure (from describe).
 */
export async function describeMarket(client: Client, market: string): Promise<MarketRow> {
  const handle = client.workflow.getHandle<typeof marketWorkflow>(marketWorkflowId(market));
  const workflowId = handle.workflowId;
  try {
    const description = await handle.describe();
    const workflow = description.status.name;
    if (workflow !== 'RUNNING') return { market, workflowId, workflow, ...(workflow === 'COMPLETED' ? summarize(await handle.result(), workflow) : {}) };
    // A run no worker has picked up yet (the first workflow task not completed) cannot answer a query.
    if (Number(description.raw.workflowExecutionInfo?.historyLength ?? 0) < 4) return { market, workflowId, workflow, state: 'waiting for a worker' };
    let status: MarketStatus;
    try {
      status = await client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query(statusQuery));
    } catch (err) {
      return { market, workflowId, workflow, state: 'unknown', error: `status query failed (is a worker running?): ${err instanceof Error ? err.message : String(err)}` };
    }
    const epochs = await epochActivities(client, market, status.openEpochs);
    const added = epochProblems(epochs);
    const outage = status.problems.some((p) => p.kind === 'redis-unavailable') ? null : redisOutage([...(description.raw.pendingActivities ?? []), ...epochs.flatMap((e) => e.pending)]);
    if (outage) added.unshift(outage);
    const row: MarketRow = { market, workflowId, workflow, ...summarize(status) };
    if (added.length > 0) {
      row.problems = [...status.problems, ...added];
      if (outage) row.health = 'failed';
      else if (row.health === 'ok') row.health = 'degraded';
    }
    const follower = followerActivity(description.raw.pendingActivities);
    if (follower) {
      // The heartbeat is at most a poll interval old; the checkpoint up to a long poll.
      if (typeof follower.nextBlock === 'number' && follower.nextBlock > ((row.nextBlock as number | null) ?? -1)) row.nextBlock = follower.nextBlock;
      if (typeof follower.head === 'number' && follower.head > ((row.head as number | null) ?? -1)) row.head = follower.head;
      if (typeof row.head === 'number' && typeof row.nextBlock === 'number') row.headLag = Math.max(0, row.head - (row.nextBlock - 1));
      row.follower = follower;
    }
    return row;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { market, workflowId, workflow: 'NOT STARTED' };
    throw err;
  }
}

