/**
 * Workflow histories of an e2e run. Every run's histories are replayed against the current
 * workflow code when the file ends (a nondeterminism in any scenario fails that file). With
 * SEQFLOW_RECORD_HISTORIES=1 they are also saved as fixtures into
 * test/histories/<scenario>@<version>/, one JSON file per run with its workflow ID beside the
 * history; test/replay/replay.test.ts replays those on every change.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { DefaultLogger, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { PROJECT_ROOT } from '../../devstack/temporal.js';

export const HISTORIES_DIR = path.join(PROJECT_ROOT, 'test/histories');
const workflowsPath = fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url));

export interface HistoryFixture {
  workflowId: string;
  workflowType: string;
  runId: string;
  scenario: string;
  recordedWith: string;
  /** Temporal's proto-JSON of the history, as `temporal workflow show --output json` prints it. */
  history: unknown;
}

async function collect(client: Client, scenario: string, markets: string[], version: string): Promise<Array<{ name: string; fixture: HistoryFixture }>> {
  const runs: Array<{ name: string; fixture: HistoryFixture }> = [];
  for (const [index, market] of markets.entries()) {
    for await (const wf of client.workflow.list({ query: `WorkflowId STARTS_WITH 'market/${market}'` })) {
      const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      const role = wf.workflowId.replace(/^market\/0x[0-9a-fA-F]{40}/, `market${index + 1}`).replace(/[^A-Za-z0-9]+/g, '-');
      runs.push({
        name: `${wf.type}-${role}-${wf.runId}.json`,
        fixture: {
          workflowId: wf.workflowId,
          workflowType: wf.type,
          runId: wf.runId,
          scenario,
          recordedWith: `seqflow ${version}`,
          history: JSON.parse(historyToJSON(history)),
        },
      });
    }
  }
  return runs;
}

/** Every JSON payload (inputs, results, signals, heartbeat details…) in the current run's history of `workflowId`, decoded. */
export async function historyPayloads(client: Client, workflowId: string): Promise<unknown[]> {
  return payloadsOf(JSON.parse(historyToJSON(await client.workflow.getHandle(workflowId).fetchHistory())));
}

/** Every JSON payload in a proto-JSON history, decoded. */
export function payloadsOf(history: unknown): unknown[] {
  const payloads: unknown[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node !== null && typeof node === 'object') {
      const { metadata, data } = node as { metadata?: { encoding?: string }; data?: string };
      if (metadata?.encoding && typeof data === 'string' && Buffer.from(metadata.encoding, 'base64').toString() === 'json/plain') {
        payloads.push(JSON.parse(Buffer.from(data, 'base64').toString()));
      } else Object.values(node).forEach(visit);
    }
  };
  visit(history);
  return payloads;
}

/**
 * Epochs whose epochClosed signal reached the market workflow no later than the start of their
 * preparation did (in the same workflow task, where signals are handled first, or an earlier
 * one), over every run of the market: the order of issue 7 row 7.
 */
export async function closesSeenBeforeStarts(client: Client, market: string): Promise<string[]> {
  const raced: string[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId = 'market/${market}'` })) {
    const history = JSON.parse(historyToJSON(await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory())) as { events?: Array<Record<string, unknown>> };
    const events = history.events ?? [];
    // An event reaches the workflow in the next workflow task started after it.
    const deliveredIn = (i: number) => events.findIndex((e, j) => j > i && e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_STARTED');
    const startedIn = new Map<string, number>();
    const closedIn = new Map<string, number>();
    events.forEach((e, i) => {
      if (e.eventType === 'EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED') {
        const { workflowExecution } = e.childWorkflowExecutionStartedEventAttributes as { workflowExecution: { workflowId: string } };
        const epochId = /^market\/0x[0-9a-fA-F]{40}\/epoch\/(\d+)$/.exec(workflowExecution.workflowId)?.[1];
        if (epochId) startedIn.set(epochId, deliveredIn(i));
      } else if (e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED') {
        const { signalName, input } = e.workflowExecutionSignaledEventAttributes as { signalName: string; input: { payloads: Array<{ data: string }> } };
        if (signalName === 'epochClosed') closedIn.set((JSON.parse(Buffer.from(input.payloads[0]!.data, 'base64').toString()) as { epochId: string }).epochId, deliveredIn(i));
      }
    });
    raced.push(...[...closedIn].filter(([id, at]) => startedIn.has(id) && at <= startedIn.get(id)!).map(([id]) => id));
  }
  return raced;
}

/**
 * The epochs of `market` whose batch preparation runs now. Visibility lists the preparations but
 * lags behind their closes, so each one's status is read from the run itself (describe).
 */
export async function runningPreparations(client: Client, market: string): Promise<string[]> {
  const running: string[] = [];
  for (const run of await runsOf(client, `WorkflowId STARTS_WITH 'market/${market}/epoch/'`)) {
    const epochId = /\/epoch\/(\d+)$/.exec(run.workflowId)?.[1];
    if (epochId && run.status === 'RUNNING') running.push(epochId);
  }
  return running;
}

/**
 * Every run matching a visibility query, with its status read from the run itself: visibility is
 * eventually consistent and can still show a run that has just completed as running.
 */
async function runsOf(client: Client, query: string): Promise<Array<{ workflowId: string; runId: string; status: string }>> {
  const runs: Array<{ workflowId: string; runId: string; status: string }> = [];
  for await (const wf of client.workflow.list({ query })) {
    const { status } = await client.workflow.getHandle(wf.workflowId, wf.runId).describe();
    runs.push({ workflowId: wf.workflowId, runId: wf.runId, status: status.name });
  }
  return runs;
}

/** Replays every workflow run of `markets` (throws on the first that fails), and records them if asked. */
export async function checkHistories(client: Client | undefined, scenario: string, markets: string[]): Promise<void> {
  if (!client) return;
  const version = (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const runs = await collect(client, scenario, markets, version);
  const workflowBundle = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
  const histories = runs.map(({ fixture }) => ({ workflowId: fixture.workflowId, history: fixture.history }));
  for await (const result of Worker.runReplayHistories({ workflowBundle, replayName: scenario }, histories)) {
    if (result.error) throw new Error(`replay of ${result.workflowId} failed: ${String(result.error)}`);
  }
  if (!process.env.SEQFLOW_RECORD_HISTORIES) return;
  // One folder per scenario and version: recording never overwrites an older version's fixtures.
  const dir = path.join(HISTORIES_DIR, `${scenario}@${version}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const { name, fixture } of runs) fs.writeFileSync(path.join(dir, name), `${JSON.stringify(fixture, null, 1)}\n`);
}
