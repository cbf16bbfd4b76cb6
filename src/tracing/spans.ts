/**
 * Client spans around seqflow's own outgoing calls (a JSON-RPC request to a node, a relayer
 * request), through the global tracer: a no-op until the worker or the CLI installs tracing
 * (setup.ts). Attributes follow OpenTelemetry's semantic conventions for RPC and HTTP clients
 * (`rpc.*`, `http.*`, `server.*`); they never hold a URL's path, query or credentials.
 */
import { SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';

const tracer = trace.getTracer('seqflow');

/**
 * Runs `fn` in a client span `name` with `attributes` when a trace is active (an activity's, a
 * CLI command's), else just runs it: a call outside any (the worker's /ready reads the chain head)
 * starts no trace of its own. The span ends when `fn` settles; a throw sets status ERROR with the
 * error's message (callers' messages carry no secrets: see domain/redact.ts).
 */
export function clientSpan<T>(name: string, attributes: Attributes, fn: (span: Span | undefined) => Promise<T>): Promise<T> {
  return activeSpan(SpanKind.CLIENT, name, attributes, fn);
}

/** As clientSpan, for a step of seqflow's own that makes several calls (an INTERNAL span). */
export function internalSpan<T>(name: string, attributes: Attributes, fn: (span: Span | undefined) => Promise<T>): Promise<T> {
  return activeSpan(SpanKind.INTERNAL, name, attributes, fn);
}

async function activeSpan<T>(kind: SpanKind, name: string, attributes: Attributes, fn: (span: Span | undefined) => Promise<T>): Promise<T> {
  if (trace.getActiveSpan() === undefined) return fn(undefined);
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** `server.address` and `server.port` of a URL: its host alone, never its credentials or path. */
export function serverAttributes(url: string): Attributes {
  const parsed = new URL(url);
  const port = parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
  return { 'server.address': parsed.hostname.replace(/^\[|\]$/g, ''), 'server.port': port };
}
