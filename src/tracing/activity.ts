/**
 * Activity interceptors of a traced worker: @temporalio/interceptors-opentelemetry's, which runs
 * each attempt in a span `RunActivity:<type>` under the span its workflow put in the header (an
 * activity of the market or alert workflow, which have none, is a trace of its own: a market loop
 * turn is its `followChain` call); and seqflow's, inside it, which
 *
 * - names the market, epoch and day of the activity's input on that span;
 * - for every EpochReleased a `followChain` call returns, records an `EpochReleased` span in the
 *   epoch's trace, under the root its epoch run will have (ids.ts), linked to the turn's span;
 * - puts the activity's trace_id and span_id on the SDK's own lines about it ("Activity
 *   completed", "Activity failed"), which it logs after the span ended.
 */
import { SpanKind, TraceFlags, context, trace, type Attributes, type Link, type SpanContext, type Tracer } from '@opentelemetry/api';
import type { Context as ActivityContext } from '@temporalio/activity';
import { OpenTelemetryActivityInboundInterceptor } from '@temporalio/interceptors-opentelemetry';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, ActivityInterceptorsFactory, ActivityOutboundCallsInterceptor, GetLogAttributesInput, Next } from '@temporalio/worker';
import type { FollowChainInput, FollowChainResult } from '../domain/types.js';
import { epochRootSpan, type SpanRef } from './workflow/ids.js';
import { ATTR } from './workflow/runs.js';

/** `seqflow.market`, `seqflow.epoch_id` and `seqflow.day` of an activity's first argument, those it has. */
export function inputAttributes(input: unknown): Attributes {
  if (input === null || typeof input !== 'object') return {};
  const { market, epochId, day } = input as Record<string, unknown>;
  return {
    ...(typeof market === 'string' ? { [ATTR.market]: market } : {}),
    ...(typeof epochId === 'string' ? { [ATTR.epochId]: epochId } : {}),
    ...(typeof day === 'string' ? { [ATTR.day]: day } : {}),
  };
}

/** The `EpochReleased` span of each release in a follower's result: its parent (the epoch's root) and attributes. */
export function releaseSpans(namespace: string, input: Pick<FollowChainInput, 'market'>, result: Pick<FollowChainResult, 'events'>): Array<{ parent: SpanRef; attributes: Attributes }> {
  return result.events.flatMap((event) =>
    event.kind !== 'EpochReleased'
      ? []
      : [
          {
            parent: epochRootSpan(namespace, input.market, event.epochId, event.blockHash),
            attributes: {
              [ATTR.market]: input.market,
              [ATTR.epochId]: event.epochId,
              [ATTR.releaseBlockNumber]: event.blockNumber,
              [ATTR.releaseBlockHash]: event.blockHash,
              [ATTR.releaseBlockTimestamp]: event.blockTimestamp,
              'seqflow.release.log_index': event.logIndex,
              ...(event.recovered ? { 'seqflow.release.recovered': true } : {}),
            },
          },
        ],
  );
}

/** What seqflow's inbound and outbound interceptors of one activity attempt share. */
interface Attempt {
  span?: SpanContext;
}

class SeqflowActivityInbound implements ActivityInboundCallsInterceptor {
  constructor(
    private readonly ctx: ActivityContext,
    private readonly tracer: Tracer,
    private readonly attempt: Attempt,
  ) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const span = trace.getActiveSpan();
    span?.setAttributes(inputAttributes(input.args[0]));
    this.attempt.span = span?.spanContext();
    const result = await next(input);
    if (span && this.ctx.info.activityType === 'followChain') {
      const links: Link[] = [{ context: span.spanContext() }];
      for (const release of releaseSpans(this.ctx.info.namespace, input.args[0] as FollowChainInput, result as FollowChainResult)) {
        const parent = trace.setSpanContext(context.active(), { ...release.parent, traceFlags: TraceFlags.SAMPLED, isRemote: true });
        this.tracer.startSpan('EpochReleased', { kind: SpanKind.INTERNAL, attributes: release.attributes, links }, parent).end();
      }
    }
    return result;
  }
}

class SeqflowActivityOutbound implements ActivityOutboundCallsInterceptor {
  constructor(private readonly attempt: Attempt) {}

  getLogAttributes(input: GetLogAttributesInput, next: Next<ActivityOutboundCallsInterceptor, 'getLogAttributes'>): Record<string, unknown> {
    // Inside the span the logger's mixin reads the active one; this covers the lines after it.
    const span = this.attempt.span;
    return next(span ? { ...input, trace_id: span.traceId, span_id: span.spanId } : input);
  }
}

/** The worker's activity interceptors, outermost first, with spans from `tracer`. */
export function activityInterceptors(tracer: Tracer): ActivityInterceptorsFactory[] {
  return [
    (ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }) }),
    (ctx) => {
      const attempt: Attempt = {};
      return { inbound: new SeqflowActivityInbound(ctx, tracer, attempt), outbound: new SeqflowActivityOutbound(attempt) };
    },
  ];
}
