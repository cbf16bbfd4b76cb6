/**
 * The operator's CLI: `seqflow <command> [options] [market ...]` (also `npm run client --`).
 * Markets default to DATA_MARKET_ADDRESSES; Temporal is found through TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE and the `temporal` CLI's TLS, API key and profile
 * settings (TEMPORAL_TLS_*, TEMPORAL_API_KEY, TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE); `start` reads the chain head and checks each
 * market on chain through RPC_NODES (or PROST_RPC_URL) and PROTOCOL_STATE_CONTRACT.
 */
import { parseArgs } from 'node:util';
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { getAddress, isAddress } from 'ethers';
import { ChainClient } from './chain/rpc.js';
import { notAMarket } from './cli/market-check.js';
import { DEFAULT_UPDATE_TIMEOUT_S, updateMarket, workerPolls } from './cli/updates.js';
import { watchStatus } from './cli/watch.js';
import { ConfigError, loadChainAccess, loadDataMarkets, loadProtocolStateContract, loadTemporalConfig, loadTracingConfig } from './config.js';
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
import { marketStartOptions } from './workflows/search-attributes.js';

const USAGE = `usage: seqflow <command> [--json] [market ...]

commands:
  start [--from-block N]  start a market workflow for each market, following the chain from block N,
                          or from the confirmed head read now through RPC_NODES (a running market is
                          left as it is; a stopped one resumes where it stopped); an address that is
                          no data market of PROTOCOL_STATE_CONTRACT on chain is refused
  status [--watch]        state, health and problems, cursor and head (live), day, epochs, counters;
                          --watch redraws it every second, with blocks/s and the ETA of a catch-up
                          (Ctrl-C quits)
  list                    every market workflow known to Temporal
  pause | resume          stop or restart following the chain (open epochs still complete);
                          resume also retries a market halted at a finality violation
  rewind --to-block N     a finality violation that is real: follow the chain as it is now from block N
  stop                    end the market workflow cleanly
  api                     serve the read API (upstream's HTTP routes) until SIGTERM or SIGINT

pause, resume, rewind and stop (and start, for the cursor of a terminated run) wait --timeout S
seconds (default ${DEFAULT_UPDATE_TIMEOUT_S}) for a worker to answer.

environment:
  TEMPORAL_ADDRESS        Temporal frontend (default localhost:7233)
  TEMPORAL_NAMESPACE      Temporal namespace (default default)
  TEMPORAL_TASK_QUEUE     task queue of the worker and the market workflows (default seqflow)
  TEMPORAL_TLS, TEMPORAL_TLS_*, TEMPORAL_API_KEY(_FILE), TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE
                          TLS, API key and profile file, as for the temporal CLI (README, Configuration)
  DATA_MARKET_ADDRESSES   the markets when none is given: a JSON array, e.g. ["0xabc…","0xdef…"]
  RPC_NODES               start: JSON array of JSON-RPC URLs of the protocol chain (or PROST_RPC_URL: one URL)
  PROTOCOL_STATE_CONTRACT start: the ProtocolState contract the markets must be data markets of
  CONFIRMATIONS           start: blocks behind the head a new market starts at (default 2)
  AUTH_READ_TOKEN         api: the token its requests carry; also API_LISTEN_HOST, API_PORT (default 0.0.0.0:8080),
                          API_HOST, REDIS_*, RPC_NODES, PROTOCOL_STATE_CONTRACT (README: The read API)
  OTEL_EXPORTER_OTLP_ENDPOINT
                          a trace of each command, exported by OTLP/HTTP (JSON); OTEL_* as for the worker (README: Traces)

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

/**
 * The state a closed market run ended with: its result, or (terminated, failed, timed out) its
 * status answered by a worker within `timeoutS` seconds.
 */
async function lastState(handle: WorkflowHandle<typeof marketWorkflow>, status: string, timeoutS: number): Promise<MarketState> {
  if (status === 'COMPLETED') return marketStateOf(await handle.result());
  try {
    return marketStateOf(await handle.client.withDeadline(Date.now() + timeoutS * 1000, () => handle.query(statusQuery)));
  } catch (err) {
    throw new Error(
      `the last run of ${handle.workflowId} ended ${status} and its cursor could not be read (${err instanceof Error ? err.message : String(err)}): ` +
        'start a worker so that it can answer, or give --from-block N to start that market elsewhere',
    );
  }
}

/** What `start` does for one market: nothing (it runs), or start a workflow with `input`. */
type StartPlan = { market: string; running: Row } | { market: string; input: MarketWorkflowInput; resumed: boolean; head: number | null };

/**
 * Decides, reading only, how a market starts: a running market is left as it is, a stopped one
 * resumes from its last state, a new one starts at `fromBlock` or the chain's confirmed head.
 */
async function planStart(client: Client, market: string, fromBlock: number | undefined, chainStart: () => Promise<{ startBlock: number; head: number }>, timeoutS: number): Promise<StartPlan> {
  const handle = client.workflow.getHandle<typeof marketWorkflow>(marketWorkflowId(market));
  let state: MarketState | undefined;
  try {
    const description = await handle.describe();
    if (description.status.name === 'RUNNING') return { market, running: { market, workflowId: handle.workflowId, result: 'already running', runId: description.runId } };
    // A stopped (or terminated) market resumes at its last cursor: stop and start skip no block.
    if (fromBlock === undefined || description.status.name === 'COMPLETED') {
      state = await reconcileOpenEpochs(client, { ...(await lastState(handle, description.status.name, timeoutS)), paused: false });
    }
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  if (state && fromBlock !== undefined) state.cursor = null;
  // The start block is fixed now, when the operator asks, not when a worker first runs the workflow.
  const start = state?.cursor ? null : fromBlock !== undefined ? { startBlock: fromBlock, head: null } : await chainStart();
  return { market, input: { market, ...(start ? { startBlock: start.startBlock } : {}), ...(state ? { state } : {}) }, resumed: state !== undefined, head: start?.head ?? null };
}

async function startPlanned(client: Client, taskQueue: string, plan: StartPlan): Promise<Row> {
  if ('running' in plan) return plan.running;
  const { market, input } = plan;
  const started = await client.workflow.start<typeof marketWorkflow>('marketWorkflow', {
    workflowId: marketWorkflowId(market),
    taskQueue,
    args: [input],
    // Two operators starting at once still get one workflow.
    workflowIdConflictPolicy: 'USE_EXISTING',
    // Searchable in the Web UI from its start (README, "Finding runs in the Temporal Web UI").
    ...marketStartOptions(input),
  });
  return {
    market,
    workflowId: started.workflowId,
    result: plan.resumed ? 'resumed' : 'started',
    runId: started.firstExecutionRunId,
    ...(input.state?.cursor ? { nextBlock: input.state.cursor.nextBlock } : { startBlock: input.startBlock }),
    ...(plan.head !== null ? { head: plan.head } : {}),
  };
}

/**
 * Refuses (before any market is started) the markets that are no data market of
 * PROTOCOL_STATE_CONTRACT on chain: a UsageError when they were named on the command line, a
 * ConfigError naming DATA_MARKET_ADDRESSES when they came from it.
 */
async function checkDataMarkets(markets: readonly string[], fromCommandLine: boolean): Promise<void> {
  const contract = loadProtocolStateContract();
  const chain = new ChainClient(loadChainAccess().rpcNodes, { timeoutMs: 10_000 });
  const refused = (await Promise.all(markets.map((m) => notAMarket(chain, contract, m)))).filter((r) => r !== null);
  if (refused.length === 0) return;
  if (fromCommandLine) throw new UsageError(`${refused.join('\n')}\nnothing was started`);
  throw new ConfigError(refused.map((r) => `DATA_MARKET_ADDRESSES: ${r}`));
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
        timeout: { type: 'string' },
        watch: { type: 'boolean', default: false },
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
  if (command === 'api') {
    if (rest.length > 0) throw new UsageError('api takes no markets: it answers for DATA_MARKET_ADDRESSES');
    // Loaded only here: the other commands need no HTTP server.
    const { runApi } = await import('./api/main.js');
    await runApi();
    return [];
  }
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
  const timeoutText = values.timeout ?? String(DEFAULT_UPDATE_TIMEOUT_S);
  const timeoutS = Number(timeoutText);
  if (!/^[0-9]+$/.test(timeoutText) || timeoutS < 1 || timeoutS > 3600) throw new UsageError(`--timeout must be a number of seconds from 1 to 3600, got ${timeoutText}`);
  if (values.watch && command !== 'status') throw new UsageError('--watch goes with status only');
  if (values.watch && values.json) throw new UsageError('--watch draws for a person; for scripts, run status --json when needed');
  const temporal = loadTemporalConfig();
  // The command and each of its calls to Temporal in one trace, when an OTLP endpoint is set (README, Traces).
  const tracingConfig = loadTracingConfig();
  // Loaded only when traces are on: the OpenTelemetry SDK adds to every command's start-up.
  const tracing = tracingConfig && (await import('./tracing/setup.js')).startTracing(tracingConfig, (message) => console.error(`seqflow: traces: ${message}`));
  const client = await connectClient(temporal, tracing?.clientInterceptors);
  const run = async (): Promise<Row[]> => {
    switch (command) {
      case 'start': {
        const markets = marketsFrom(rest);
        if (!(await workerPolls(client, temporal.taskQueue))) {
          console.error(`seqflow: warning: no worker polls task queue "${temporal.taskQueue}" (TEMPORAL_TASK_QUEUE): the markets start following when one does`);
        }
        const chainStart = chainStartBlock();
        const plans = await Promise.all(markets.map((m) => planStart(client, m, fromBlock, chainStart, timeoutS)));
        const toStart = plans.filter((p) => !('running' in p)).map((p) => p.market);
        if (toStart.length > 0) await checkDataMarkets(toStart, rest.length > 0);
        return await Promise.all(plans.map((p) => startPlanned(client, temporal.taskQueue, p)));
      }
      case 'status': {
        const markets = marketsFrom(rest);
        if (!values.watch) return await Promise.all(markets.map((m) => describeMarket(client, m)));
        const quit = new AbortController();
        // `on`, not `once`: log-update's cursor restorer (signal-exit) kills the process itself on a
        // signal when it finds no other listener left, before the last frame is kept.
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => quit.abort());
        await watchStatus(client, markets, process.stdout, quit.signal);
        return [];
      }
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
            const send = () =>
              command === 'rewind' ? handle.executeUpdate(rewindUpdate, { args: [{ toBlock: toBlock! }] }) : handle.executeUpdate({ pause: pauseUpdate, resume: resumeUpdate, stop: stopUpdate }[command]);
            return { market: m, workflowId: handle.workflowId, ...summarize(await updateMarket(client, handle, send, timeoutS)) };
          }),
        );
      }
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    }
  };
  try {
    return tracing ? await tracing.inRootSpan(`seqflow ${command}`, { 'seqflow.command': command }, run) : await run();
  } finally {
    await client.connection.close();
    await tracing?.shutdown();
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

// `seqflow status | head` closes the pipe early: what is left to write has no reader, which is no error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

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
