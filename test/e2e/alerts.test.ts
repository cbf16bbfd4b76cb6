/**
 * Alerts to SLACK_REPORTING_URL on real services (issue 8 item 3): an incident (the follower
 * stalled on a node answering 503) makes exactly one alert when it starts, delivered through
 * webhook failures, none while it lasts, and exactly one when it clears; a failed epoch makes
 * one alert naming it. Bodies as the upstream service's reporting client writes them.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { marketAlertsWorkflowId, marketWorkflowId, stopUpdate } from '../../src/workflows/definitions.js';
import { seqflowJson } from '../../devstack/cli.js';
import { checkHistories } from '../support/histories.js';
import { marketStatus, preparationResult } from '../support/epochs.js';
import { waitFor } from '../../devstack/process.js';
import { startStack, type Stack } from '../../devstack/stack.js';
import { startWebhook, type WebhookStandIn } from '../support/webhook.js';

let stack: Stack;
let webhook: WebhookStandIn;
let A: string;

before(async () => {
  webhook = await startWebhook();
  stack = await startStack({ markets: 1, params: { submissionWindow: 2 }, batchSize: 2 });
  [A] = stack.chain.markets as [string];
  await stack.startWorker({ SLACK_REPORTING_URL: webhook.url, FOLLOWER_STALL_SECONDS: '3' });
  await seqflowJson(['start', A], stack.env);
  await waitFor('the market following', async () => (await marketStatus(stack.temporal.client, A)).cursor);
  await stack.temporal.client.workflow.getHandle(marketAlertsWorkflowId(A)).describe();
});

after(async () => {
  const client = stack?.temporal.client;
  await client?.workflow.getHandle(marketWorkflowId(A)).executeUpdate(stopUpdate).catch(() => undefined);
  await client?.workflow.getHandle(marketAlertsWorkflowId(A)).terminate('test done').catch(() => undefined);
  try {
    await checkHistories(client, 'alerts', [A]);
  } finally {
    await stack?.stop();
    await webhook?.stop();
  }
});

const TIMESTAMP = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d(\\.\\d{1,3})? \\+0000 UTC';
const delivered = (processName: string) => webhook.delivered().filter((b) => b.startsWith(`{"process_name":"${processName}",`));

test('an incident: one alert when it starts (delivered through two webhook failures), none while it lasts, one when it clears', async () => {
  webhook.failNext([500, 503]);
  const down = stack.rpc.inject({ method: 'eth_blockNumber', httpStatus: 503 });
  try {
    const [start] = await waitFor('the start alert', async () => delivered('seqflow: follower-stalled').length > 0 && delivered('seqflow: follower-stalled'), 60_000);
    assert.match(start!, new RegExp(`^\\{"process_name":"seqflow: follower-stalled","error_msg":"${A}: no progress; last error: RpcTransportError: eth_blockNumber: HTTP 503 from http://127\\.0\\.0\\.1:\\d+: gateway error","timestamp":"${TIMESTAMP}","severity":"High"\\}$`));
    assert.deepEqual(webhook.requests.slice(0, 3).map((r) => r.status), [500, 503, 200], 'retried until delivered');
    // The follower keeps failing and retrying: no alert per retry or poll.
    await new Promise((r) => setTimeout(r, 6000));
    assert.equal(delivered('seqflow: follower-stalled').length, 1);
  } finally {
    down.remove();
  }
  await waitFor('the clear alert', async () => delivered('seqflow: follower-stalled').length === 2, 60_000);
  const clear = delivered('seqflow: follower-stalled')[1]!;
  assert.match(clear, new RegExp(`^\\{"process_name":"seqflow: follower-stalled","error_msg":"${A}: resolved: follower-stalled","timestamp":"${TIMESTAMP}","severity":"Low"\\}$`));
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(webhook.delivered().length, 2, `exactly one start and one clear: ${JSON.stringify(webhook.delivered())}`);
});

test('a failed epoch (the relayer refuses its batch size): one alert naming it and the refusal', async () => {
  stack.relayer.failNext('/submitBatchSize', [422]);
  const rel = await stack.chain.releaseEpoch(A);
  await assert.rejects(preparationResult(stack.temporal.client, A, rel.epochId));
  const alert = await waitFor('the epoch-failed alert', async () => delivered('seqflow: epoch-failed')[0], 60_000);
  assert.match(alert, new RegExp(`^\\{"process_name":"seqflow: epoch-failed","error_msg":"${A}: 1 epoch failed \\(1 in all\\): epoch ${rel.epochId}: .*relayer answered /submitBatchSize with HTTP 422: .*","timestamp":"${TIMESTAMP}","severity":"High"\\}$`));
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(delivered('seqflow: epoch-failed').length, 1);
});
