/**
 * The OTEL_* variables seqflow reads (loadTracingConfig, and the worker's config): off without an
 * endpoint, the exporter's own URL rules, every bad value a problem naming its variable, and
 * header values (credentials) in no problem.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { ConfigError, loadTracingConfig, loadWorkerConfig, type TracingConfig } from '../../src/config.js';

type Env = Record<string, string | undefined>;

const DEFAULTS: Omit<TracingConfig, 'url'> = {
  headers: {},
  timeoutMs: 10_000,
  compression: 'none',
  serviceName: 'seqflow',
  resourceAttributes: {},
  batch: { scheduledDelayMillis: 5000, exportTimeoutMillis: 30_000, maxQueueSize: 2048, maxExportBatchSize: 512 },
};

function problems(env: Env): string[] {
  try {
    loadTracingConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqflow-tracing-config-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('off without an OTLP endpoint, whatever else is set', () => {
  assert.equal(loadTracingConfig({}), undefined);
  assert.equal(loadTracingConfig({ OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_HEADERS: 'a=b', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }), undefined);
});

test('on with OTEL_EXPORTER_OTLP_ENDPOINT: the signal path is appended, as the exporter does', () => {
  assert.deepEqual(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), { ...DEFAULTS, url: 'http://collector:4318/v1/traces' });
  assert.equal(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example/tenant/' })?.url, 'https://otlp.example/tenant/v1/traces');
});

test('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is taken as it is, over the general one', () => {
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4318/otlp/v1/traces' };
  assert.equal(loadTracingConfig(env)?.url, 'http://tempo:4318/otlp/v1/traces');
  assert.equal(loadTracingConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4318/x' })?.url, 'http://tempo:4318/x');
});

test('OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none turn it off; other exporters are refused', () => {
  const on = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
  assert.equal(loadTracingConfig({ ...on, OTEL_SDK_DISABLED: 'true' }), undefined);
  assert.equal(loadTracingConfig({ ...on, OTEL_TRACES_EXPORTER: 'none' }), undefined);
  assert.ok(loadTracingConfig({ ...on, OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'false' }));
  assert.deepEqual(problems({ ...on, OTEL_TRACES_EXPORTER: 'zipkin' }), ['OTEL_TRACES_EXPORTER must be otlp or none (seqflow exports traces by OTLP only), got "zipkin"']);
  assert.deepEqual(problems({ ...on, OTEL_SDK_DISABLED: 'maybe' }), ['OTEL_SDK_DISABLED must be true or false, got "maybe"']);
});

test('every setting, with the traces-specific variables over the general ones', () => {
  const config = loadTracingConfig({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20general,x-tenant=a',
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'authorization=Bearer%20traces',
    OTEL_EXPORTER_OTLP_TIMEOUT: '20000',
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '3000',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    OTEL_SERVICE_NAME: 'seqflow-eu',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod, service.name=ignored,team=sequencer%20ops',
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_BSP_EXPORT_TIMEOUT: '1000',
    OTEL_BSP_MAX_QUEUE_SIZE: '100',
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '50',
  });
  assert.deepEqual(config, {
    url: 'http://collector:4318/v1/traces',
    headers: { authorization: 'Bearer traces', 'x-tenant': 'a' },
    timeoutMs: 3000,
    compression: 'gzip',
    serviceName: 'seqflow-eu',
    resourceAttributes: { 'deployment.environment': 'prod', 'service.name': 'ignored', team: 'sequencer ops' },
    batch: { scheduledDelayMillis: 200, exportTimeoutMillis: 1000, maxQueueSize: 100, maxExportBatchSize: 50 },
  });
  assert.equal(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attributes' })?.serviceName, 'from-attributes');
});

test('headers from a file (OTEL_EXPORTER_OTLP_HEADERS_FILE), as every secret', () => {
  const file = path.join(dir, 'otlp-headers');
  fs.writeFileSync(file, 'authorization=Basic%20c2VjcmV0\n');
  assert.deepEqual(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_HEADERS_FILE: file })?.headers, { authorization: 'Basic c2VjcmV0' });
  assert.deepEqual(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_HEADERS: 'a=b', OTEL_EXPORTER_OTLP_HEADERS_FILE: file }), [
    'OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_HEADERS_FILE are both set: set one of them',
  ]);
});

test('bad values fail, each naming its variable, and no header value is ever in a problem', () => {
  const secret = 's3cr3t-t0ken';
  const found = problems({
    OTEL_EXPORTER_OTLP_ENDPOINT: `collector:4318/${secret}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${secret},${secret},bad header=${secret},x=%E0%A4%A`,
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '0',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd',
    OTEL_RESOURCE_ATTRIBUTES: 'env',
    OTEL_BSP_SCHEDULE_DELAY: 'soon',
    OTEL_BSP_MAX_QUEUE_SIZE: '10',
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '20',
  });
  assert.deepEqual(found, [
    'OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL (OTLP over HTTP, e.g. http://collector:4318)',
    'OTEL_EXPORTER_OTLP_PROTOCOL must be http/json: seqflow exports OTLP over HTTP as JSON (a collector\'s port 4318 takes it), got "http/protobuf"',
    'OTEL_EXPORTER_OTLP_HEADERS: entry 2 is no key=value pair (a list of key=value, separated by commas)',
    'OTEL_EXPORTER_OTLP_HEADERS: entry 3 has a key that is no HTTP header name',
    'OTEL_EXPORTER_OTLP_HEADERS: entry 4 is not percent-encoded correctly',
    'OTEL_EXPORTER_OTLP_COMPRESSION must be gzip or none, got "zstd"',
    'OTEL_RESOURCE_ATTRIBUTES: entry 1 is no key=value pair (a list of key=value, separated by commas)',
    'OTEL_BSP_SCHEDULE_DELAY must be an integer, got "soon"',
    'OTEL_BSP_MAX_EXPORT_BATCH_SIZE (20) must not exceed OTEL_BSP_MAX_QUEUE_SIZE (10)',
    'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT must be between 1 and 600000, got 0',
  ]);
  assert.ok(!found.join('\n').includes(secret));
});

test('the worker reads them with the rest of its configuration: absent when off, problems reported with the others', () => {
  const worker: Env = {
    RPC_NODES: '["http://rpc:8545"]',
    PROTOCOL_STATE_CONTRACT: '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed',
    DATA_MARKET_ADDRESSES: '["0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359"]',
    REDIS_HOST: 'redis',
    REDIS_PORT: '6379',
    TX_RELAYER_URL: 'http://relayer:8080',
    TX_RELAYER_AUTH_WRITE_TOKEN: 'token',
    HTTP_TIMEOUT: '5',
    BATCH_SIZE: '10',
    REWARDS_UPDATE_BATCH_SIZE: '50',
    REWARDS_UPDATE_EPOCH_INTERVAL: '10',
  };
  assert.ok(!('tracing' in loadWorkerConfig(worker)));
  assert.deepEqual(loadWorkerConfig({ ...worker, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing, { ...DEFAULTS, url: 'http://collector:4318/v1/traces' });
  assert.throws(
    () => loadWorkerConfig({ ...worker, BATCH_SIZE: '0', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_COMPRESSION: 'br' }),
    (err: unknown) => err instanceof ConfigError && err.problems.length === 2 && err.problems[1] === 'OTEL_EXPORTER_OTLP_COMPRESSION must be gzip or none, got "br"',
  );
});
