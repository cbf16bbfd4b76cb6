/**
 * Which workflow runs have a span, in which trace, under which parent; and the spans they report
 * when they end. Pure and deterministic (it runs in the workflow sandbox, on replay too): every
 * id comes from the run's own facts and input (see ids.ts).
 *
 * - An epoch's run (`batchPreparationWorkflow`, `epochWorkflow`) is the root of the epoch's
 *   trace: `epoch`, from the release (the release block's time, or the run's start if that is
 *   earlier) to the run's end, its last finalizer push included.
 * - The market and alert workflows live for days: no span; each of their activities is a trace
 *   of its own (a market loop turn is its `followChain` activity).
 * - Any other run (a batch submission, a reward update) is `RunWorkflow:<type>`: a child of the
 *   span in its start header (its parent workflow's), or the root of a trace of its own.
 */
import { epochRootSpan, runSpanId, spanIdOf, traceIdOf, type SpanRef } from './ids.js';

/** Span attribute names: the Temporal interceptors' own where they have one, else seqflow's. */
export const ATTR = {
  workflowId: 'temporalWorkflowId',
  runId: 'run_id',
  workflowType: 'temporalWorkflowType',
  market: 'seqflow.market',
  epochId: 'seqflow.epoch_id',
  day: 'seqflow.day',
  releaseBlockNumber: 'seqflow.release.block_number',
  releaseBlockHash: 'seqflow.release.block_hash',
  releaseBlockTimestamp: 'seqflow.release.block_timestamp',
  batchCount: 'seqflow.batch_count',
  submissionCount: 'seqflow.submission_count',
  malformedCount: 'seqflow.malformed_count',
  orphaned: 'seqflow.orphaned',
  timerMs: 'temporal.timer.duration_ms',
} as const;

export type SpanAttributes = Record<string, string | number | boolean>;

/** A span a workflow run reports when it ends (JSON-safe: it leaves the sandbox through a sink). */
export interface FinishedSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  /** Workflow time (wall clock, ms since 1970). */
  startMs: number;
  endMs: number;
  attributes: SpanAttributes;
  /** The run's failure, when it failed: the span's status is then ERROR with this message. */
  error?: string;
}

/** A run's span while it runs. */
export type RunSpan = Omit<FinishedSpan, 'endMs' | 'error'>;

/** What the workflow knows of its run (workflowInfo()). */
export interface RunFacts {
  namespace: string;
  workflowId: string;
  runId: string;
  workflowType: string;
  /** When this run started (workflow time, ms). */
  runStartMs: number;
}

export const EPOCH_WORKFLOW_TYPES: readonly string[] = ['batchPreparationWorkflow', 'epochWorkflow'];
export const UNTRACED_WORKFLOW_TYPES: readonly string[] = ['marketWorkflow', 'marketAlertsWorkflow'];

const field = (input: unknown, name: string): unknown => (input !== null && typeof input === 'object' ? (input as Record<string, unknown>)[name] : undefined);
const text = (input: unknown, name: string): string | undefined => {
  const value = field(input, name);
  return typeof value === 'string' ? value : undefined;
};
const count = (input: unknown, name: string): number | undefined => {
  const value = field(input, name);
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
};

/** market, epoch id and day of an input that has them (every seqflow workflow input names its market). */
function marketAttributes(input: unknown): SpanAttributes {
  const attributes: SpanAttributes = {};
  const market = text(input, 'market');
  const epochId = text(input, 'epochId');
  const day = text(input, 'day');
  if (market !== undefined) attributes[ATTR.market] = market;
  if (epochId !== undefined) attributes[ATTR.epochId] = epochId;
  if (day !== undefined) attributes[ATTR.day] = day;
  return attributes;
}

/**
 * The run's span, or undefined for a run without one. `input` is the run's first argument;
 * `parent` the span its start header names, if any.
 */
export function planRunSpan(run: RunFacts, input: unknown, parent: SpanRef | undefined): RunSpan | undefined {
  if (UNTRACED_WORKFLOW_TYPES.includes(run.workflowType)) return undefined;
  const identity: SpanAttributes = { [ATTR.workflowId]: run.workflowId, [ATTR.runId]: run.runId, [ATTR.workflowType]: run.workflowType };
  const market = text(input, 'market');
  const epochId = text(input, 'epochId');
  if (EPOCH_WORKFLOW_TYPES.includes(run.workflowType) && market !== undefined && epochId !== undefined) {
    const blockHash = text(input, 'releaseBlockHash');
    const blockNumber = count(input, 'releaseBlockNumber');
    const blockTimestamp = count(input, 'releaseBlockTimestamp');
    const root = epochRootSpan(run.namespace, market, epochId, blockHash ?? '');
    return {
      name: 'epoch',
      ...root,
      startMs: blockTimestamp === undefined ? run.runStartMs : Math.min(run.runStartMs, blockTimestamp * 1000),
      attributes: {
        ...identity,
        ...marketAttributes(input),
        ...(blockNumber === undefined ? {} : { [ATTR.releaseBlockNumber]: blockNumber }),
        ...(blockHash === undefined ? {} : { [ATTR.releaseBlockHash]: blockHash }),
        ...(blockTimestamp === undefined ? {} : { [ATTR.releaseBlockTimestamp]: blockTimestamp }),
      },
    };
  }
  return {
    name: `RunWorkflow:${run.workflowType}`,
    traceId: parent?.traceId ?? traceIdOf('run', run.namespace, run.workflowId, run.runId),
    spanId: runSpanId(run.namespace, run.workflowId, run.runId),
    ...(parent ? { parentSpanId: parent.spanId } : {}),
    startMs: run.runStartMs,
    attributes: { ...identity, ...marketAttributes(input) },
  };
}

/** What an epoch's result says, as attributes of its span: batch, submission and malformed counts, or orphaned. */
export function resultAttributes(result: unknown): SpanAttributes {
  const attributes: SpanAttributes = {};
  for (const [name, key] of [['batchCount', ATTR.batchCount], ['submissionCount', ATTR.submissionCount], ['malformedCount', ATTR.malformedCount]] as const) {
    const value = count(result, name);
    if (value !== undefined) attributes[key] = value;
  }
  if (field(result, 'orphaned') === true) attributes[ATTR.orphaned] = true;
  return attributes;
}

/** A durable timer of `run` (its `seq`-th command), from its start to when it fired. */
export function timerSpan(run: RunSpan, seq: number, durationMs: number, startMs: number, endMs: number): FinishedSpan {
  return {
    name: 'Timer',
    traceId: run.traceId,
    spanId: spanIdOf('timer', run.spanId, String(seq)),
    parentSpanId: run.spanId,
    startMs,
    endMs,
    attributes: { [ATTR.timerMs]: durationMs },
  };
}
