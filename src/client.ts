/**
 * The operator's CLI: `seqflow <command> [options] [market ...]` (also `npm run client --`).
 * Markets default to DATA_MARKET_ADDRESSES; Temporal is found through TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE and TEMPORAL_TASK_QUEUE; `start` reads the chain head through RPC_NODES.
 */
import { parseArgs } from 'node:util';
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import protos from '@temporalio/proto';
import { getAddress, isAddress } from 'ethers';
import { ChainClient } from './chain/rpc.js';
import { ConfigError, loadChainAccess, loadDataMarkets, loadTemporalConfig, type TemporalConfig } from './config.js';
import { connectClient } from './services/temporal.js';
import { describeMarket, summarize, type MarketRow as Row } from './status.js';
import type { batchPreparationWorkflow } from './workflows/epoch.js';
import { Market } from './workflows/market-state.js';
import {
  batchPreparationWorkflowId,
  marketStateOf,
  marketWorkflowId,
  pauseUpdate,
  resumeUpdate,
  rewindUpdate,
  statusQuery,
  stopUpdate,
  type MarketState,
  type MarketWorkflowInput,
} from './workflows/definitions.js';
import type { marketWorkflow } from './workflows/market.js';

const USAGE = `usage: seqflow <command> [--json] [market ...]

commands:
  start [--from-block N]  start a market workflow for each market, following the chain from block N,
                          or from the confirmed head read now through RPC_NODES (a running market is
                          left as it is; a stopped one resumes where it stopped)
  status                  state, health and problems, cursor and head (live), day, epochs, counters
  list                    every market workflow known to Temporal
  pause | resume          stop or restart following the chain (open epochs still complete);
                          resume also retries a market halted at a finality violation
  rewind --to-block N     a finality violation that is real: follow the chain as it is now from block N
  stop                    end the market workflow cleanly

Markets default to DATA_MARKET_ADDRESSES.
Exit codes: 0 done, 1 a command failed, 2 bad configuration or a service it names unreachable, 64 bad usage.`;

class UsageError extends Error {}
class HelpRequested extends Error {}

function marketsFrom(positionals: string[]): string[] {
  if (positionals.length === 0) return loadDataMarkets();
  return positionals.map((m) => {
    if (!isAddress(m.toLowerCase())) throw new UsageError(`not a market address: ${m}`);
    return getAddress(m.toLowerCase());
  });
}

/** Whether any worker polls the task queue (for workflow tasks): a market started without one waits. */
async function workerPolls(client: Client, config: TemporalConfig): Promise<boolean> {
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace: config.namespace,
    taskQueue: { name: config.taskQueue },
    taskQueueType: protos.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return (pollers?.length ?? 0) > 0;
}

/** The block a new market starts at: the chain's confirmed head now, read through RPC_NODES (memoised for all markets). */
function chainStartBlock(): () => Promise<{ startBlock: number; head: number }> {
  let read: Promise<{ startBlock: number; head: number }> | undefined;
  return () =>
    (read ??= (async () => {
      const { rpcNodes, confirmations } = loadChainAccess();
      try {
        const head = (await new ChainClient(rpcNodes, { timeoutMs: 10_000 }).head()).number;
        return { head, startBlock: Math.max(0, head - confirmations) };
      } catch (err) {
        throw new Error(`cannot read the chain head through RPC_NODES (or give --from-block N): ${err instanceof Error ? err.message : String(err)}`);
      }
    })());
}

/**
 * A stopped market's epochs that closed while it was stopped could not report to it: their
 * outcomes are applied to the state it resumes with, so openEpochs and the counters are right.
 */
async function reconcileOpenEpochs(client: Client, state: MarketState): Promise<MarketState> {
  const market = new Market(state);
  for (const epochId of [...state.openEpochs]) {
    const handle = client.workflow.getHandle<typeof batchPreparationWorkflow>(batchPreparationWorkflowId(state.market, epochId));
    const { status } = await handle.describe().catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) return { status: { name: 'NOT FOUND' } };
      throw err;
    });
    if (status.name === 'RUNNING') continue; // it reports to the resumed market itself
    if (status.name === 'COMPLETED') {
      const result = await handle.result();
      market.epochClosed({ epochId, outcome: 'orphaned' in result ? { status: 'orphaned', detail: result.detail } : { status: 'batched', result } }, Date.now());
    } else market.epochClosed({ epochId, outcome: { status: 'failed', error: `batch preparation ${status.name}` } }, Date.now());
  }
  return market.state;
}

/** The state a closed market run ended with: its result, or (terminated, failed, timed out) its status answered by a worker. */
async function lastState(handle: WorkflowHandle<typeof marketWorkflow>, status: string): Promise<MarketState> {
  if (status === 'COMPLETED') return marketStateOf(await handle.result());
  try {
    return marketStateOf(await handle.query(statusQuery));
  } catch (err) {
    throw new Error(
      `the last run of ${handle.workflowId} ended ${status} and its cursor could not be read (${err instanceof Error ? err.message : String(err)}): ` +
        'start a worker so that it can answer, or give --from-block N to start that market elsewhere',
    );
  }
}

async function startMarket(client: Client, taskQueue: string, market: string, fromBlock: number | undefined, chainStart: () => Promise<{ startBlock: number; head: number }>): Promise<Row> {
  const workflowId = marketWorkflowId(market);
  const handle = client.workflow.getHandle<typeof marketWorkflow>(workflowId);
  let state: MarketState | undefined;
  try {
    const description = await handle.describe();
    if (description.status.name === 'RUNNING') return { market, workflowId, result: 'already running', runId: description.runId };
    // A stopped (or terminated) market resumes at its last cursor: stop and start skip no block.
    if (fromBlock === undefined || description.status.name === 'COMPLETED') {
      state = await reconcileOpenEpochs(client, { ...(await lastState(handle, description.status.name)), paused: false });
    }
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  if (state && fromBlock !== undefined) state.cursor = null;
  // The start block is fixed now, when the operator asks, not when a worker first runs the workflow.
  const start = state?.cursor ? null : fromBlock !== undefined ? { startBlock: fromBlock } : await chainStart();
  const input: MarketWorkflowInput = { market, ...(start ? { startBlock: start.startBlock } : {}), ...(state ? { state } : {}) };
  const started = await client.workflow.start<typeof marketWorkflow>('marketWorkflow', {
    workflowId,
    taskQueue,
    args: [input],
    // Two operators starting at once still get one workflow.
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  return {
    market,
    workflowId,
    result: state ? 'resumed' : 'started',
    runId: started.firstExecutionRunId,
    ...(state?.cursor ? { nextBlock: state.cursor.nextBlock } : { startBlock: start!.startBlock }),
    ...(start && 'head' in start ? { head: start.head } : {}),
  };
}

async function main(argv: string[]): Promise<Row[]> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        'from-block': { type: 'string' },
        'to-block': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help) throw new HelpRequested(USAGE);
  if (!command) throw new UsageError(USAGE);
  const blockOption = (name: 'from-block' | 'to-block') => {
    const text = values[name];
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(n)) throw new UsageError(`--${name} must be a block number, got ${text}`);
    return n;
  };
  const fromBlock = blockOption('from-block');
  const toBlock = blockOption('to-block');
  if (command === 'rewind' && toBlock === undefined) throw new UsageError('rewind needs --to-block N');
  const temporal = loadTemporalConfig();
  const client = await connectClient(temporal);
  try {
    switch (command) {
      case 'start': {
        const markets = marketsFrom(rest);
        if (!(await workerPolls(client, temporal))) {
          console.error(`seqflow: warning: no worker polls task queue "${temporal.taskQueue}" (TEMPORAL_TASK_QUEUE): the markets start following when one does`);
        }
        const chainStart = chainStartBlock();
        return await Promise.all(markets.map((m) => startMarket(client, temporal.taskQueue, m, fromBlock, chainStart)));
      }
      case 'status':
        return await Promise.all(marketsFrom(rest).map((m) => describeMarket(client, m)));
      case 'list': {
        const rows: Row[] = [];
        for await (const wf of client.workflow.list({ query: `WorkflowType = 'marketWorkflow'` })) {
          rows.push({ market: wf.workflowId.replace(/^market\//, ''), workflowId: wf.workflowId, workflow: wf.status.name, runId: wf.runId, started: wf.startTime.toISOString() });
        }
        return rows;
      }
      case 'pause':
      case 'resume':
      case 'stop':
      case 'rewind': {
        return await Promise.all(
          marketsFrom(rest).map(async (m) => {
            const handle = client.workflow.getHandle<typeof marketWorkflow>(marketWorkflowId(m));
            const status =
              command === 'rewind' ? await handle.executeUpdate(rewindUpdate, { args: [{ toBlock: toBlock! }] }) : await handle.executeUpdate({ pause: pauseUpdate, resume: resumeUpdate, stop: stopUpdate }[command]);
            return { market: m, workflowId: handle.workflowId, ...summarize(status) };
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
  const text = (v: unknown): string =>
    v === null || v === undefined ? '-' : typeof v === 'object' ? (Array.isArray(v) && v.length === 0 ? '-' : JSON.stringify(v)) : String(v);
  for (const { market, workflowId, problems, follower, ...fields } of rows) {
    console.log(`${market}  (${workflowId})`);
    for (const [k, v] of Object.entries(fields)) console.log(`  ${k}: ${Array.isArray(v) && v.every((x) => typeof x !== 'object') ? v.join(', ') || '-' : text(v)}`);
    if (Array.isArray(problems)) for (const p of problems as Array<{ kind: string; since: string; detail: string }>) console.log(`  problem: ${p.kind} since ${p.since}: ${p.detail}`);
    if (follower && typeof follower === 'object') console.log(`  follower: ${Object.entries(follower).map(([k, v]) => `${k}=${text(v)}`).join(' ')}`);
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
  if (err instanceof ConfigError) {
    console.error(`seqflow: ${err.message}`);
    process.exit(2);
  }
  // An update refused by its validator (or failed) carries the reason in its cause.
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  console.error(`seqflow: ${err instanceof Error ? err.message : String(err)}${cause}`);
  process.exit(1);
}
