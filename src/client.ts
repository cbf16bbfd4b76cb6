/**
 * The operator's CLI: `seqflow <command> [options] [market ...]` (also `npm run client --`).
 * Markets default to DATA_MARKET_ADDRESSES; Temporal is found through TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE and TEMPORAL_TASK_QUEUE.
 */
import { parseArgs } from 'node:util';
import { Client, Connection, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { ConfigError, loadDataMarkets, loadTemporalConfig, type TemporalConfig } from './config.js';
import { getAddress, isAddress } from 'ethers';
import {
  marketStateOf,
  marketWorkflowId,
  pauseUpdate,
  resumeUpdate,
  statusQuery,
  stopUpdate,
  type MarketState,
  type MarketStatus,
  type MarketWorkflowInput,
} from './workflows/definitions.js';
import type { marketWorkflow } from './workflows/market.js';

const USAGE = `usage: seqflow <command> [--json] [market ...]

commands:
  start [--from-block N]  start a market workflow for each market (a running one is left as it is;
                          a stopped one resumes from where it stopped)
  status                  cursor, head lag, day, last epoch and open epochs of each market
  list                    every market workflow known to Temporal
  pause | resume          stop or restart following the chain (open epochs still complete)
  stop                    end the market workflow cleanly

Markets default to DATA_MARKET_ADDRESSES.`;

class UsageError extends Error {}
class HelpRequested extends Error {}

interface Row {
  market: string;
  workflowId: string;
  [field: string]: unknown;
}

function marketsFrom(positionals: string[]): string[] {
  if (positionals.length === 0) return loadDataMarkets();
  return positionals.map((m) => {
    if (!isAddress(m.toLowerCase())) throw new UsageError(`not a market address: ${m}`);
    return getAddress(m.toLowerCase());
  });
}

async function connect(config: TemporalConfig): Promise<Client> {
  try {
    const connection = await Connection.connect({ address: config.address, connectTimeout: '5s' });
    return new Client({ connection, namespace: config.namespace });
  } catch (err) {
    throw new Error(`cannot reach Temporal at ${config.address} (TEMPORAL_ADDRESS): ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function startMarket(client: Client, taskQueue: string, market: string, fromBlock: number | undefined): Promise<Row> {
  const workflowId = marketWorkflowId(market);
  const handle = client.workflow.getHandle<typeof marketWorkflow>(workflowId);
  let state: MarketState | undefined;
  try {
    const description = await handle.describe();
    if (description.status.name === 'RUNNING') return { market, workflowId, result: 'already running', runId: description.runId };
    // A stopped market resumes at its last cursor: stop and start skip no block.
    if (description.status.name === 'COMPLETED') state = { ...marketStateOf(await handle.result()), paused: false };
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  if (state && fromBlock !== undefined) state.cursor = null;
  const input: MarketWorkflowInput = { market, startBlock: fromBlock, state };
  const started = await client.workflow.start<typeof marketWorkflow>('marketWorkflow', {
    workflowId,
    taskQueue,
    args: [input],
    // Two operators starting at once still get one workflow.
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  return { market, workflowId, result: state ? 'resumed' : 'started', runId: started.firstExecutionRunId };
}

function summarize(status: MarketStatus): Record<string, unknown> {
  return {
    state: status.stopping ? 'stopping' : status.paused ? 'paused' : 'following',
    nextBlock: status.cursor?.nextBlock ?? null,
    head: status.head,
    headLag: status.headLag,
    day: status.days?.day ?? null,
    lastEpochId: status.lastEpochId,
    openEpochs: status.openEpochs,
    ...status.stats,
  };
}

async function marketStatus(handle: WorkflowHandle<typeof marketWorkflow>, market: string): Promise<Row> {
  const workflowId = handle.workflowId;
  try {
    const description = await handle.describe();
    if (description.status.name === 'RUNNING') return { market, workflowId, workflow: 'RUNNING', ...summarize(await handle.query(statusQuery)) };
    const final = description.status.name === 'COMPLETED' ? summarize(await handle.result()) : {};
    return { market, workflowId, workflow: description.status.name, ...final };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { market, workflowId, workflow: 'NOT STARTED' };
    throw err;
  }
}

async function main(argv: string[]): Promise<Row[]> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, 'from-block': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [command, ...rest] = positionals;
  if (values.help) throw new HelpRequested(USAGE);
  if (!command) throw new UsageError(USAGE);
  let fromBlock: number | undefined;
  if (values['from-block'] !== undefined) {
    fromBlock = Number(values['from-block']);
    if (!Number.isSafeInteger(fromBlock) || fromBlock < 0) throw new UsageError(`--from-block must be a block number, got ${values['from-block']}`);
  }
  const temporal = loadTemporalConfig();
  const client = await connect(temporal);
  try {
    switch (command) {
      case 'start':
        return await Promise.all(marketsFrom(rest).map((m) => startMarket(client, temporal.taskQueue, m, fromBlock)));
      case 'status':
        return await Promise.all(marketsFrom(rest).map((m) => marketStatus(client.workflow.getHandle(marketWorkflowId(m)), m)));
      case 'list': {
        const rows: Row[] = [];
        for await (const wf of client.workflow.list({ query: `WorkflowType = 'marketWorkflow'` })) {
          rows.push({ market: wf.workflowId.replace(/^market\//, ''), workflowId: wf.workflowId, workflow: wf.status.name, runId: wf.runId, started: wf.startTime.toISOString() });
        }
        return rows;
      }
      case 'pause':
      case 'resume':
      case 'stop': {
        const update = { pause: pauseUpdate, resume: resumeUpdate, stop: stopUpdate }[command];
        return await Promise.all(
          marketsFrom(rest).map(async (m) => {
            const handle = client.workflow.getHandle<typeof marketWorkflow>(marketWorkflowId(m));
            return { market: m, workflowId: handle.workflowId, ...summarize(await handle.executeUpdate(update)) };
          }),
        );
      }
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    }
  } finally {
    await client.connection.close();
  }
}

function print(rows: Row[], json: boolean): void {
  if (json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  for (const { market, workflowId, ...fields } of rows) {
    console.log(`${market}  (${workflowId})`);
    for (const [k, v] of Object.entries(fields)) console.log(`  ${k}: ${Array.isArray(v) ? v.join(', ') || '-' : String(v ?? '-')}`);
  }
}

const argv = process.argv.slice(2);
try {
  print(await main(argv), argv.includes('--json'));
} catch (err) {
  if (err instanceof HelpRequested) {
    console.log(err.message);
    process.exit(0);
  }
  if (err instanceof UsageError) {
    console.error(err.message);
    process.exit(64);
  }
  console.error(`seqflow: ${err instanceof ConfigError || err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
