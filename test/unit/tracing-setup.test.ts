/**
 * A process's tracing (startTracing) against a real HTTP collector stand-in: spans arrive as
 * OTLP/JSON with the configured headers and resource; a collector that refuses a batch (echoing
 * the request's headers) or is gone makes a warning without the headers' values, and
 * shutdown still resolves.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { trace } from '@opentelemetry/api';
import { startTracing, type Tracing } from '../../src/tracing/setup.js';
import { spansOfRequest, type ReceivedSpan } from '../support/otlp.js';

const SECRET = 'collector-token-41c2';

let collector: http.Server;
let url: string;
let refuse = false;
const received: Array<{ headers: http.IncomingHttpHeaders; spans: ReceivedSpan[] }> = [];
const warnings: string[] = [];
let tracing: Tracing;

before(async () => {
  collector = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (refuse) {
        // The echo in the reason phrase, which the exporter makes its error's message.
        res.writeHead(401, `refused ${String(req.headers.authorization)}`, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'bad token', got: req.headers.authorization }));
        return;
      }
      received.push({ headers: req.headers, spans: spansOfRequest(JSON.parse(body) as Parameters<typeof spansOfRequest>[0]) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(collector.address() as { port: number }).port}/v1/traces`;
  tracing = startTracing(
    {
      url,
      headers: { authorization: `Bearer ${SECRET}`, 'x-scope-orgid': 'tenant-1' },
      timeoutMs: 2000,
      compression: 'none',
      serviceName: 'seqflow-setup-test',
      resourceAttributes: { 'deployment.environment': 'test' },
      batch: { scheduledDelayMillis: 50, exportTimeoutMillis: 3000, maxQueueSize: 100, maxExportBatchSize: 100 },
    },
    (message) => warnings.push(message),
  );
});

after(async () => {
  await new Promise((resolve) => collector.close(resolve));
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 500));

test('spans reach the collector with the headers, the resource and W3C propagation installed', async () => {
  await tracing.inRootSpan('seqflow start', { 'seqflow.command': 'start' }, async () => {
    assert.ok(trace.getActiveSpan(), 'the command\'s span is active inside');
  });
  await settle();
  const [request] = received;
  assert.equal(request?.headers.authorization, `Bearer ${SECRET}`);
  assert.equal(request?.headers['x-scope-orgid'], 'tenant-1');
  const [span] = request!.spans;
  assert.deepEqual([span?.name, span?.parentSpanId, span?.attributes['seqflow.command']], ['seqflow start', undefined, 'start']);
  assert.equal(span?.resource['service.name'], 'seqflow-setup-test');
  assert.equal(span?.resource['deployment.environment'], 'test');
  assert.equal(tracing.endpoint, new URL(url).origin);
});

test('a refused batch and a collector gone at shutdown are warnings without the headers\' values; shutdown resolves', async () => {
  refuse = true;
  await tracing.inRootSpan('refused', {}, async () => undefined);
  await settle();
  assert.ok(warnings.includes('spans not exported: refused [redacted]'), JSON.stringify(warnings));
  await tracing.inRootSpan('left at shutdown', {}, async () => undefined);
  await new Promise((resolve) => collector.close(resolve));
  collector.closeAllConnections();
  await tracing.shutdown();
  assert.ok(warnings.some((w) => w.startsWith('spans not exported at shutdown: ')), JSON.stringify(warnings));
  assert.ok(!warnings.join('\n').includes(SECRET), JSON.stringify(warnings));
});
