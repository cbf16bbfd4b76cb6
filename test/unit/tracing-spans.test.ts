/**
 * Spans and log fields of a traced process, with the SDK's in-memory exporter: a JSON-RPC request
 * and a relayer call are client spans of the active trace (real HTTP servers answer them), with
 * the node's host but never its URL path (an API key) or the relayer body (its token); nothing is
 * started outside a trace; pino lines inside a span carry its ids, and fields a line brings win.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { Writable } from 'node:stream';
import { after, before, beforeEach, test } from 'node:test';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { postToRelayer } from '../../src/activities/relayer.js';
import { JsonRpcEndpoint, JsonRpcError } from '../../src/chain/jsonrpc.js';
import { PinoTemporalLogger, createPinoLogger, traceFields } from '../../src/logger.js';
import { clientSpan } from '../../src/tracing/spans.js';
import { runActivity } from '../support/activity-env.js';
import { startRelayer, type RelayerStandIn } from '../../devstack/relayer.js';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register({ propagator: new W3CTraceContextPropagator() });
const tracer = provider.getTracer('test');

let node: http.Server;
let nodeUrl: string;
let relayer: RelayerStandIn;
const TOKEN = 'relayer-token-5e2a';

before(async () => {
  // A JSON-RPC node: eth_blockNumber answers, anything else is a JSON-RPC error; batches too.
  node = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const answer = (call: { id: number; method: string }) =>
        call.method === 'eth_blockNumber' ? { jsonrpc: '2.0', id: call.id, result: '0x10' } : { jsonrpc: '2.0', id: call.id, error: { code: -32601, message: 'method not found' } };
      const parsed = JSON.parse(body) as { id: number; method: string } | Array<{ id: number; method: string }>;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(Array.isArray(parsed) ? parsed.map(answer) : answer(parsed)));
    });
  });
  await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve));
  nodeUrl = `http://127.0.0.1:${(node.address() as { port: number }).port}/v3/api-key-9c1d`;
  relayer = await startRelayer(TOKEN);
});

after(async () => {
  await new Promise((resolve) => node.close(resolve));
  await relayer.stop();
  await provider.shutdown();
});

beforeEach(() => exporter.reset());

const inParent = <T>(fn: () => Promise<T>) => tracer.startActiveSpan('parent', async (span) => {
  try {
    return await fn();
  } finally {
    span.end();
  }
});
const finished = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);

test('each JSON-RPC request is a client span of the active trace: method, node host, outcome; never the URL path', async () => {
  const endpoint = new JsonRpcEndpoint(nodeUrl, 5000);
  await inParent(async () => {
    await endpoint.call('eth_blockNumber', []);
    await assert.rejects(endpoint.call('eth_nope', []), JsonRpcError);
    await endpoint.batch([{ method: 'eth_blockNumber', params: [] }, { method: 'eth_blockNumber', params: [] }]);
  });
  const [parent] = finished('parent');
  const [ok] = finished('eth_blockNumber');
  const [refused] = finished('eth_nope');
  const [batch] = finished('eth_blockNumber (batch)');
  for (const span of [ok!, refused!, batch!]) {
    assert.equal(span.kind, SpanKind.CLIENT);
    assert.equal(span.parentSpanId, parent!.spanContext().spanId);
    assert.equal(span.spanContext().traceId, parent!.spanContext().traceId);
    assert.ok(!JSON.stringify(span.attributes).includes('api-key'), JSON.stringify(span.attributes));
  }
  const port = Number(new URL(nodeUrl).port);
  assert.deepEqual(ok!.attributes, {
    'rpc.system': 'jsonrpc',
    'rpc.jsonrpc.version': '2.0',
    'rpc.method': 'eth_blockNumber',
    'server.address': '127.0.0.1',
    'server.port': port,
    'seqflow.rpc.node': `http://127.0.0.1:${port}`,
    'seqflow.rpc.outcome': 'ok',
  });
  assert.equal(ok!.status.code, SpanStatusCode.UNSET);
  assert.equal(refused!.attributes['seqflow.rpc.outcome'], 'error');
  assert.deepEqual(refused!.status, { code: SpanStatusCode.ERROR, message: 'eth_nope: method not found (code -32601)' });
  assert.equal(batch!.attributes['seqflow.rpc.batch_size'], 2);
});

test('outside any trace a request starts no span of its own', async () => {
  await new JsonRpcEndpoint(nodeUrl, 5000).call('eth_blockNumber', []);
  await clientSpan('anything', {}, async (span) => assert.equal(span, undefined));
  assert.deepEqual(exporter.getFinishedSpans(), []);
});

test('a relayer call is a client span POST <path> with its status, never the body or its token', async () => {
  const settings = { url: relayer.url, authToken: TOKEN, timeoutMs: 5000 };
  relayer.failNext('/submitBatchSize', [500]);
  await inParent(async () => {
    await assert.rejects(runActivity(postToRelayer, settings, '/submitBatchSize', JSON.stringify({ authToken: TOKEN, epochID: 1 })));
    await runActivity(postToRelayer, settings, '/submitBatchSize', JSON.stringify({ authToken: TOKEN, epochID: 1 }));
  });
  const [parent] = finished('parent');
  const calls = finished('POST /submitBatchSize');
  assert.deepEqual(calls.map((s) => s.attributes['http.response.status_code']), [500, 200]);
  assert.deepEqual(calls.map((s) => s.status.code), [SpanStatusCode.ERROR, SpanStatusCode.UNSET]);
  for (const span of calls) {
    assert.equal(span.kind, SpanKind.CLIENT);
    assert.equal(span.parentSpanId, parent!.spanContext().spanId);
    assert.deepEqual({ ...span.attributes, 'http.response.status_code': 0 }, {
      'http.request.method': 'POST',
      'url.path': '/submitBatchSize',
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(relayer.url).port),
      'http.response.status_code': 0,
    });
    assert.ok(!JSON.stringify({ attributes: span.attributes, events: span.events, status: span.status }).includes(TOKEN));
  }
});

test('log lines: the active span\'s ids inside a span, none outside; a line\'s own ids win', () => {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const logger = createPinoLogger('info', destination);
  assert.deepEqual(traceFields(), {});
  logger.info('outside');
  const ids = tracer.startActiveSpan('activity', (span) => {
    logger.info('inside');
    // A workflow line, logged through Temporal's logger, brings its run's ids.
    new PinoTemporalLogger(logger).info('from a workflow', { trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16) });
    span.end();
    return span.spanContext();
  });
  assert.deepEqual(lines.map((l) => [l.msg, l.trace_id, l.span_id]), [
    ['outside', undefined, undefined],
    ['inside', ids.traceId, ids.spanId],
    ['from a workflow', 'a'.repeat(32), 'b'.repeat(16)],
  ]);
  assert.equal(trace.getActiveSpan(), undefined);
});
