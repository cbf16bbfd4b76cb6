/**
 * seqflow's workflow interceptors, installed by the worker when tracing is on (a module of
 * `interceptors.workflowModules`: it runs in the workflow sandbox). Instead of the
 * @temporalio/interceptors-opentelemetry workflow interceptors, which draw span ids from the
 * workflow's Math.random (shared with uuid4) also in queries and update validators, which replay
 * does not run (README, Traces), these create no span object and draw nothing:
 *
 * - a traced run's span (runs.ts) is reported through the `seqflowTraces` sink when the run ends,
 *   and each timer's when it fires; sinks are not called on replay, so nothing is reported twice;
 * - its activities and children get the run's span as parent in the `_tracer-data` header (a
 *   W3C `traceparent`, as the library's activity interceptor reads it);
 * - its log lines carry `trace_id` and `span_id`.
 *
 * Determinism: ids come from the run's facts and input only; no await is added (the run's own
 * promises go back to the SDK unchanged, spans are reported from reactions that issue no command);
 * headers are options of commands, which replay does not compare (test/replay/traces.test.ts).
 */
import { ContinueAsNew, proxySinks, workflowInfo } from '@temporalio/workflow';
import type {
  ActivityInput,
  GetLogAttributesInput,
  Next,
  Sinks,
  StartChildWorkflowExecutionInput,
  TimerInput,
  WorkflowExecuteInput,
  WorkflowInboundCallsInterceptor,
  WorkflowInterceptorsFactory,
  WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import { TemporalFailure, defaultPayloadConverter, type Headers } from '@temporalio/common';
import { TRACE_HEADER, parseTraceparent, traceparent, type SpanRef } from './ids.js';
import { planRunSpan, resultAttributes, timerSpan, type FinishedSpan, type RunSpan } from './runs.js';

/** The sink the worker injects (src/tracing/sinks.ts). */
export interface TracingSinks extends Sinks {
  seqflowTraces: {
    spanEnded(span: FinishedSpan): void;
  };
}

const { seqflowTraces } = proxySinks<TracingSinks>();

/** The span in a start header, if it carries a valid `traceparent`. */
function parentOf(headers: Headers): SpanRef | undefined {
  const payload = headers[TRACE_HEADER];
  if (payload === undefined) return undefined;
  try {
    return parseTraceparent(defaultPayloadConverter.fromPayload<Record<string, unknown>>(payload).traceparent);
  } catch {
    return undefined; // not ours to fail a workflow over
  }
}

/** The state one run's interceptors share: its span, once execute has planned it. */
interface RunTrace {
  span?: RunSpan;
}

class TracingInbound implements WorkflowInboundCallsInterceptor {
  constructor(private readonly run: RunTrace) {}

  execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const info = workflowInfo();
    const span = planRunSpan(
      { namespace: info.namespace, workflowId: info.workflowId, runId: info.runId, workflowType: info.workflowType, runStartMs: info.runStartTime.getTime() },
      input.args[0],
      parentOf(input.headers),
    );
    this.run.span = span;
    const running = next(input);
    if (span === undefined) return running;
    // Only an end that closes the run is reported: another error fails the workflow task, which is retried.
    void running.then(
      (result) => seqflowTraces.spanEnded({ ...span, attributes: { ...span.attributes, ...resultAttributes(result) }, endMs: Date.now() }),
      (err: unknown) => {
        if (err instanceof ContinueAsNew) seqflowTraces.spanEnded({ ...span, endMs: Date.now() });
        else if (err instanceof TemporalFailure) seqflowTraces.spanEnded({ ...span, endMs: Date.now(), error: err.message });
      },
    );
    return running;
  }
}

class TracingOutbound implements WorkflowOutboundCallsInterceptor {
  constructor(private readonly run: RunTrace) {}

  private withContext(headers: Headers): Headers {
    const span = this.run.span;
    return span ? { ...headers, [TRACE_HEADER]: defaultPayloadConverter.toPayload({ traceparent: traceparent(span) }) } : headers;
  }

  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>): Promise<unknown> {
    return next({ ...input, headers: this.withContext(input.headers) });
  }

  startChildWorkflowExecution(
    input: StartChildWorkflowExecutionInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'startChildWorkflowExecution'>,
  ): Promise<[Promise<string>, Promise<unknown>]> {
    return next({ ...input, headers: this.withContext(input.headers) });
  }

  startTimer(input: TimerInput, next: Next<WorkflowOutboundCallsInterceptor, 'startTimer'>): Promise<void> {
    const fired = next(input);
    const span = this.run.span;
    if (span !== undefined) {
      const startMs = Date.now();
      // A cancelled timer reports nothing; its rejection stays the caller's.
      void fired.then(
        () => seqflowTraces.spanEnded(timerSpan(span, input.seq, input.durationMs, startMs, Date.now())),
        () => undefined,
      );
    }
    return fired;
  }

  getLogAttributes(input: GetLogAttributesInput, next: Next<WorkflowOutboundCallsInterceptor, 'getLogAttributes'>): Record<string, unknown> {
    const span = this.run.span;
    return next(span ? { ...input, trace_id: span.traceId, span_id: span.spanId } : input);
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => {
  const run: RunTrace = {};
  return { inbound: [new TracingInbound(run)], outbound: [new TracingOutbound(run)] };
};
