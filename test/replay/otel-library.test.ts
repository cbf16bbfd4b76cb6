/**
 * The check issue 10 asked for before adopting @temporalio/interceptors-opentelemetry's workflow
 * interceptors (1.24): do they keep seqflow's workflows deterministic? They do not, in what matters
 * to seqflow. They draw span ids from the workflow's Math.random, the stream uuid4 draws from, and
 * the market workflow draws its Redis marker id with uuid4 (once, in its first run):
 *
 * - installing them (or removing them) on a worker changes that draw on replay for every market
 *   run recorded without them (or with them): replayed, the market holds another marker than the
 *   one its follower wrote to Redis, and reports a Redis data loss that never happened;
 * - even when always installed, an update validator (an operator's `resume`), which replay does
 *   not run, draws for its span live only (temporalio/sdk-typescript#2023, also for queries).
 *
 * Replay does not catch either (activity inputs are not compared): a sink called on replay
 * (activity-inputs.ts) shows what it computes. With seqflow's own interceptors
 * (src/tracing/workflow/) the replay draws the marker the history holds.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Resource } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode, type InjectedSinks } from '@temporalio/worker';
import type { FollowChainInput, FollowChainResult, MarketParams } from '../../src/domain/types.js';
import { WORKFLOW_INTERCEPTORS_MODULE } from '../../src/tracing/setup.js';
import { workflowSpanSinks } from '../../src/tracing/sinks.js';
import { resumeUpdate, statusQuery } from '../../src/workflows/definitions.js';
import { payloadsOf } from '../support/histories.js';
import { waitFor } from '../../devstack/process.js';
import { connectTemporal, type TemporalServer } from '../../devstack/temporal.js';
import type { ActivityInputSinks } from './activity-inputs.js';
import { bundleWith, fixtures, recordedMarkers, replayFixtures, replayedMarkers, type AnySinks } from './replay-inputs.js';

const LIBRARY_WORKFLOW_INTERCEPTORS = createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');
const ACTIVITY_INPUTS = fileURLToPath(new URL('./activity-inputs.ts', import.meta.url));
const workflowsPath = fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url));
const M = '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359';

let temporal: TemporalServer;
let connection: NativeConnection;

before(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  temporal = await connectTemporal();
  connection = await NativeConnection.connect({ address: temporal.address });
});

after(async () => {
  await connection?.close();
  await temporal?.stop();
});

const PARAMS: MarketParams = { submissionWindowSeconds: 4, daySize: 86_400, dailySnapshotQuota: '10', epochsInADay: 1000, rewards: { epochInterval: 1000, pastDaysBuffer: 1, dayTransitionBufferEpochs: 1 } };

/**
 * A market run on the dev server with stub activities and `workflowModules`, sent a `resume` and
 * queried before its first poll; the `redisMarker` id of that poll as its history recorded it and
 * as its replay computes it.
 */
async function markerIds(workflowModules: string[], sinks: AnySinks): Promise<{ recorded: string; replayed: string }> {
  const workflowBundle = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules: [...workflowModules, ACTIVITY_INPUTS], logger: new DefaultLogger('WARN') });
  const taskQueue = `otel-check-${randomUUID()}`;
  let dayRead = false;
  let queried!: () => void;
  const afterQueries = new Promise<void>((resolve) => (queried = resolve));
  const activities = {
    // The market's first step waits here until the test has queried it.
    async readDayCounter(): Promise<string> {
      dayRead = true;
      await afterQueries;
      return '1';
    },
    loadMarketParams: async (): Promise<MarketParams> => PARAMS,
    async followChain(input: FollowChainInput): Promise<FollowChainResult> {
      await new Promise((resolve) => setTimeout(resolve, 200));
      return { events: [], cursor: input.cursor, head: null, reorgs: 0, skippedLogs: 0 };
    },
  };
  const live: InjectedSinks<ActivityInputSinks> = { activityInputs: { scheduled: { fn: () => undefined } } };
  const worker = await Worker.create({ connection, taskQueue, workflowBundle, activities, sinks: { ...sinks, ...live } });
  const history = await worker.runUntil(async () => {
    const handle = await temporal.client.workflow.start('marketWorkflow', { workflowId: `market/${M}/otel-check-${randomUUID()}`, taskQueue, args: [{ market: M, startBlock: 10 }] });
    await waitFor('the market to read its day', async () => dayRead, 30_000, 50);
    // An operator's `resume` (its validator runs live only), then `status` queries (never replayed).
    await handle.executeUpdate(resumeUpdate);
    for (let i = 0; i < 3; i++) await handle.query(statusQuery);
    queried();
    const polls = async () => JSON.stringify(payloadsOf(JSON.parse(historyToJSON(await handle.fetchHistory())))).includes('"redisMarker"');
    await waitFor('the first follower call', polls, 30_000, 100);
    await handle.terminate('checked');
    return handle.fetchHistory();
  });
  const recorded = payloadsOf(JSON.parse(historyToJSON(history))).find((p): p is FollowChainInput => typeof p === 'object' && p !== null && 'redisMarker' in p)!.redisMarker!.id;
  const replayedInputs: FollowChainInput[] = [];
  const onReplay: InjectedSinks<ActivityInputSinks> = {
    activityInputs: { scheduled: { fn: (_info, type, args) => void (type === 'followChain' && replayedInputs.push(args[0] as FollowChainInput)), callDuringReplay: true } },
  };
  await Worker.runReplayHistory({ workflowBundle, sinks: { ...sinks, ...onReplay } }, history);
  return { recorded, replayed: replayedInputs[0]!.redisMarker!.id };
}

test('with the library\'s workflow interceptors installed, market runs recorded without them replay with other Redis markers', async () => {
  // Turning them on (or off) for a fleet: a market run that drew its marker (its first run; later
  // runs carry it in their input) draws another on replay, as their spans draw before it.
  const sinks = { exporter: makeWorkflowExporter(new SimpleSpanProcessor(new InMemorySpanExporter()), new Resource({})) };
  const { inputs } = await replayFixtures(await bundleWith([LIBRARY_WORKFLOW_INTERCEPTORS]), sinks);
  const drewMarker = fixtures.filter(({ fixture }) => {
    const started = (fixture.history as { events?: Array<{ workflowExecutionStartedEventAttributes?: { input?: unknown } }> }).events?.[0]?.workflowExecutionStartedEventAttributes;
    const input = started ? (payloadsOf(started.input)[0] as { state?: { redisMarker?: unknown } } | undefined) : undefined;
    return recordedMarkers(fixture).length > 0 && input?.state?.redisMarker === undefined;
  });
  const changed = drewMarker.filter(({ file, fixture }) => {
    const recorded = recordedMarkers(fixture);
    return replayedMarkers(inputs.get(file), recorded.length).join() !== recorded.join();
  });
  assert.ok(drewMarker.length > 0, 'market runs that drew a Redis marker');
  assert.deepEqual(changed.map(({ file }) => file), drewMarker.map(({ file }) => file));
});

test('with the library\'s workflow interceptors always installed, a market that validated an update before its first poll replays with another Redis marker', async () => {
  const sinks = { exporter: makeWorkflowExporter(new SimpleSpanProcessor(new InMemorySpanExporter()), new Resource({})) };
  const { recorded, replayed } = await markerIds([LIBRARY_WORKFLOW_INTERCEPTORS], sinks);
  assert.notEqual(replayed, recorded, 'if this fails, the library no longer draws from the workflow stream in queries: re-check it (README, Traces)');
});

test('with seqflow\'s workflow interceptors, the replay draws the marker its history holds', async () => {
  const sinks = workflowSpanSinks(new SimpleSpanProcessor(new InMemorySpanExporter()), new Resource({}));
  const { recorded, replayed } = await markerIds([WORKFLOW_INTERCEPTORS_MODULE], sinks);
  assert.equal(replayed, recorded);
});
