/** pino behind Temporal's Logger interface, so SDK, workflow and activity logs share one JSON stream. */
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { LogTimestamp, type LogLevel, type LogMetadata, type Logger } from '@temporalio/worker';
import { pino } from 'pino';

/**
 * `trace_id` and `span_id` of the span active where a line is logged (an activity's, an RPC or
 * relayer call's), W3C hex; none outside a span or with tracing off. Fields a line brings along
 * win: a workflow's lines arrive through sinks, outside any span, with their run's (README, Traces).
 */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan()?.spanContext();
  return span && isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : {};
}

/** The process's JSON logger, to stdout unless `destination` is given. */
export function createPinoLogger(level: string, destination?: pino.DestinationStream): pino.Logger {
  const options = { level, base: { service: 'seqflow' }, mixin: traceFields };
  return destination ? pino(options, destination) : pino(options);
}

export class PinoTemporalLogger implements Logger {
  constructor(private readonly pino: pino.Logger) {}

  log(level: LogLevel, message: string, meta: LogMetadata = {}): void {
    // Workflow logs reach us late through sinks: keep the time they were made at.
    const { [LogTimestamp]: timestampNs, ...fields } = meta as Record<string | symbol, unknown>;
    const method = level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
    this.pino[method](timestampNs === undefined ? fields : { ...fields, loggedAtNs: String(timestampNs) }, message);
  }

  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}
