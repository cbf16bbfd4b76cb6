/**
 * The worker's side of the `seqflowTraces` sink: the spans workflow runs report when they end
 * (workflow/interceptors.ts) become OpenTelemetry spans, handed to the span processor that
 * exports the process's other spans.
 */
import { SpanKind, SpanStatusCode, TraceFlags, type SpanContext } from '@opentelemetry/api';
import { hrTimeDuration, millisToHrTime } from '@opentelemetry/core';
import type { IResource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { InjectedSinks } from '@temporalio/worker';
import type { TracingSinks } from './workflow/interceptors.js';
import type { FinishedSpan } from './workflow/runs.js';

/** The instrumentation scope of the spans workflows report. */
export const WORKFLOW_SCOPE = { name: 'seqflow/workflows' } as const;

/** A finished span as the SDK's exporters take it: sampled, remote-free, ended. */
export function readableSpan(span: FinishedSpan, resource: IResource): ReadableSpan {
  const spanContext: SpanContext = { traceId: span.traceId, spanId: span.spanId, traceFlags: TraceFlags.SAMPLED };
  const startTime = millisToHrTime(span.startMs);
  // A clock that stepped back between start and end must not make a negative duration.
  const endTime = millisToHrTime(Math.max(span.startMs, span.endMs));
  return {
    name: span.name,
    kind: SpanKind.INTERNAL,
    spanContext: () => spanContext,
    ...(span.parentSpanId === undefined ? {} : { parentSpanId: span.parentSpanId }),
    startTime,
    endTime,
    duration: hrTimeDuration(startTime, endTime),
    status: span.error === undefined ? { code: SpanStatusCode.OK } : { code: SpanStatusCode.ERROR, message: span.error },
    attributes: span.attributes,
    links: [],
    events: [],
    ended: true,
    resource,
    instrumentationLibrary: WORKFLOW_SCOPE,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

/** The sink to inject into the worker (and a replay worker): not called on replay, so a span is reported once. */
export function workflowSpanSinks(processor: SpanProcessor, resource: IResource): InjectedSinks<TracingSinks> {
  return {
    seqflowTraces: {
      spanEnded: { fn: (_info, span) => processor.onEnd(readableSpan(span, resource)), callDuringReplay: false },
    },
  };
}
