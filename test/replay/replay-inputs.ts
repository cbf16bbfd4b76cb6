/**
 * Replaying every recorded history (test/histories/) with extra workflow interceptor modules, and
 * what each replay computes: the inputs of the activities it schedules (activity-inputs.ts
 * reports them), which replay itself does not compare with the history. For the tracing replay
 * tests.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Worker, bundleWorkflowCode, type InjectedSinks, type ReplayWorkerOptions, type WorkflowBundle } from '@temporalio/worker';
import { HISTORIES_DIR, payloadsOf, type HistoryFixture } from '../support/histories.js';
import type { ActivityInputSinks } from './activity-inputs.js';

const ACTIVITY_INPUTS = fileURLToPath(new URL('./activity-inputs.ts', import.meta.url));
const workflowsPath = fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url));

export const fixtures: Array<{ file: string; fixture: HistoryFixture }> = fs
  .readdirSync(HISTORIES_DIR, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((file) => ({ file, fixture: JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8')) as HistoryFixture }));

/** The workflow code with `modules` and the activity-input reporter installed. */
export function bundleWith(modules: string[]): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath, workflowInterceptorModules: [...modules, ACTIVITY_INPUTS], logger: new DefaultLogger('WARN') });
}

/** Sinks of any interface, as a replay worker takes them. */
export type AnySinks = NonNullable<ReplayWorkerOptions['sinks']>;

export interface Replayed {
  /** Files whose replay failed, with the error. */
  failed: string[];
  /** By file: the arguments of each activity the replay scheduled, in order (as JSON). */
  inputs: Map<string, unknown[][]>;
}

/** Replays every fixture on `bundle` (from bundleWith) with `sinks`. */
export async function replayFixtures(bundle: WorkflowBundle, sinks: AnySinks): Promise<Replayed> {
  const failed: string[] = [];
  const inputs = new Map<string, unknown[][]>();
  const record: InjectedSinks<ActivityInputSinks> = {
    // Through JSON: what crosses the sandbox has the sandbox's prototypes; the history holds JSON.
    activityInputs: { scheduled: { fn: (info, _type, args) => void inputs.set(info.workflowId, [...(inputs.get(info.workflowId) ?? []), JSON.parse(JSON.stringify(args)) as unknown[]]), callDuringReplay: true } },
  };
  // Scenarios deploy the same market addresses: the file makes each replay's workflow ID unique.
  const histories = fixtures.map(({ file, fixture }) => ({ workflowId: `${fixture.workflowId}#${file}`, history: fixture.history }));
  for await (const result of Worker.runReplayHistories({ workflowBundle: bundle, sinks: { ...sinks, ...record }, replayName: 'inputs' }, histories)) {
    if (result.error) failed.push(`${result.workflowId}: ${String(result.error)}`);
  }
  return { failed, inputs: new Map([...inputs].map(([workflowId, list]) => [workflowId.replace(/^.*?#/, ''), list])) };
}

const markerOf = (input: unknown): string | undefined => (input as { redisMarker?: { id?: string } } | null)?.redisMarker?.id;

/** The Redis marker ids of a history's follower calls, as it recorded them. */
export function recordedMarkers(fixture: HistoryFixture): string[] {
  const events = (fixture.history as { events?: Array<{ activityTaskScheduledEventAttributes?: { activityType?: { name?: string }; input?: unknown } }> }).events ?? [];
  return events.flatMap((e) => {
    const scheduled = e.activityTaskScheduledEventAttributes;
    const id = scheduled?.activityType?.name === 'followChain' ? markerOf(payloadsOf(scheduled.input)[0]) : undefined;
    return id === undefined ? [] : [id];
  });
}

/** The Redis marker ids of the follower calls a replay scheduled (in order; no more than `count`). */
export function replayedMarkers(inputs: unknown[][] | undefined, count: number): string[] {
  return (inputs ?? []).flatMap((args) => markerOf(args[0]) ?? []).slice(0, count);
}
