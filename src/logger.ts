/** pino behind Temporal's Logger interface, so SDK, workflow and activity logs share one JSON stream. */
import { LogTimestamp, type LogLevel, type LogMetadata, type Logger } from '@temporalio/worker';
import { pino } from 'pino';

export function createPinoLogger(level: string): pino.Logger {
  return pino({ level, base: { service: 'seqflow' } });
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
