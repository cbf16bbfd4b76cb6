/**
 * Tracing of a seqflow process (the worker, a CLI command), installed when TracingConfig is set:
 * a global tracer provider exporting by OTLP/HTTP (JSON) through a batch span processor, W3C
 * Trace Context propagation, every span recorded (sampling, if any, is the collector's), and
 * OpenTelemetry's own warnings (a collector that refuses or cannot be reached) to `warn`, with
 * the exporter's headers removed. What the worker and the client add to it: `workerOptions`
 * (activity interceptors, the workflow interceptor module, the workflows' span sink) and
 * `clientInterceptors`. README, Traces.
 */
import { DiagLogLevel, SpanStatusCode, diag, type Attributes, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator, setGlobalErrorHandler } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { ClientInterceptors } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import type { TracingConfig } from '../config.js';
import { redact } from '../domain/redact.js';
import { siblingModule } from '../services/module-path.js';
import { activityInterceptors } from './activity.js';
import { workflowSpanSinks } from './sinks.js';
import type { TracingSinks } from './workflow/interceptors.js';

type ExporterConfig = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>;

/** The workflow interceptor module (bundled into the workflow sandbox). */
export const WORKFLOW_INTERCEPTORS_MODULE = siblingModule(import.meta.url, './workflow/interceptors.ts');

export interface Tracing {
  tracer: Tracer;
  /** The collector's scheme and host, for the start-up line (never its credentials, path or query). */
  endpoint: string;
  /** For Worker.create (and a replay worker). */
  workerOptions: { interceptors: Pick<WorkerInterceptors, 'activity' | 'workflowModules'>; sinks: InjectedSinks<TracingSinks> };
  /** For a Client: starts, signals, updates and queries in spans, their context in the header. */
  clientInterceptors: ClientInterceptors;
  /** Runs `fn` in a span `name` of its own trace (a CLI command); a throw sets status ERROR. */
  inRootSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T>;
  /** Exports what is left (bounded by OTEL_BSP_EXPORT_TIMEOUT) and stops; a failed export is warned of, never thrown. */
  shutdown(): Promise<void>;
}

/** Installs tracing for this process; `warn` gets OpenTelemetry's warnings and errors (no secrets). */
export function startTracing(config: TracingConfig, warn: (message: string) => void): Tracing {
  const secrets = Object.values(config.headers);
  const clean = (parts: unknown[]) => secrets.reduce((text, secret) => redact(text, secret), parts.map((p) => (p instanceof Error ? p.message : String(p))).join(' '));
  const ignore = () => undefined;
  diag.setLogger(
    { error: (...parts: unknown[]) => warn(clean(parts)), warn: (...parts: unknown[]) => warn(clean(parts)), info: ignore, debug: ignore, verbose: ignore },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  // A batch that could not be exported (its spans are dropped): one line, not the error's JSON.
  setGlobalErrorHandler((err) => warn(`spans not exported: ${clean([err])}`));
  const exporter = new OTLPTraceExporter({
    url: config.url,
    headers: config.headers,
    timeoutMillis: config.timeoutMs,
    // Its type is a string enum ('gzip', 'none') of a package seqflow does not depend on directly.
    compression: config.compression as ExporterConfig['compression'],
  });
  const processor = new BatchSpanProcessor(exporter, config.batch);
  const provider = new NodeTracerProvider({
    resource: new Resource({ ...config.resourceAttributes, 'service.name': config.serviceName }),
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    spanProcessors: [processor],
  });
  // Pinned to W3C Trace Context: the workflow interceptors write `traceparent` themselves.
  provider.register({ propagator: new W3CTraceContextPropagator() });
  const tracer = provider.getTracer('seqflow');
  const url = new URL(config.url);
  return {
    tracer,
    endpoint: `${url.protocol}//${url.host}`,
    workerOptions: {
      interceptors: { activity: activityInterceptors(tracer), workflowModules: [WORKFLOW_INTERCEPTORS_MODULE] },
      sinks: workflowSpanSinks(processor, provider.resource),
    },
    clientInterceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor({ tracer })] },
    inRootSpan: (name, attributes, fn) =>
      tracer.startActiveSpan(name, { root: true, attributes }, async (span) => {
        try {
          return await fn();
        } catch (err) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
          throw err;
        } finally {
          span.end();
        }
      }),
    shutdown: async () => {
      try {
        await provider.shutdown();
      } catch (err) {
        // A collector that is down must not fail the worker's clean exit.
        warn(`spans not exported at shutdown: ${clean([err])}`);
      }
    },
  };
}
