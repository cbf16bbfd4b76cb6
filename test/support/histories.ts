/**
 * Replay fixtures. With SEQFLOW_RECORD_HISTORIES=1, an e2e file saves the history of every
 * workflow run its markets made into test/histories/<scenario>@<version>/, one JSON file per run with
 * its workflow ID beside the history; test/replay.test.ts replays them all.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { PROJECT_ROOT } from './temporal.js';

export const HISTORIES_DIR = path.join(PROJECT_ROOT, 'test/histories');

export interface HistoryFixture {
  workflowId: string;
  workflowType: string;
  runId: string;
  scenario: string;
  recordedWith: string;
  /** Temporal's proto-JSON of the history, as `temporal workflow show --output json` prints it. */
  history: unknown;
}

export async function recordHistories(client: Client | undefined, scenario: string, markets: string[]): Promise<void> {
  if (!process.env.SEQFLOW_RECORD_HISTORIES || !client) return;
  const version = (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  // One folder per scenario and version: recording never overwrites an older version's fixtures.
  const dir = path.join(HISTORIES_DIR, `${scenario}@${version}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const [index, market] of markets.entries()) {
    for await (const wf of client.workflow.list({ query: `WorkflowId STARTS_WITH 'market/${market}'` })) {
      const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      const fixture: HistoryFixture = {
        workflowId: wf.workflowId,
        workflowType: wf.type,
        runId: wf.runId,
        scenario,
        recordedWith: `seqflow ${version}`,
        history: JSON.parse(historyToJSON(history)),
      };
      const role = wf.workflowId.replace(/^market\/0x[0-9a-fA-F]{40}/, `market${index + 1}`).replace(/[^A-Za-z0-9]+/g, '-');
      const name = `${wf.type}-${role}-${wf.runId}.json`;
      fs.writeFileSync(path.join(dir, name), `${JSON.stringify(fixture, null, 1)}\n`);
    }
  }
}
