/**
 * Temporal over mutual TLS, configured as the `temporal` CLI and every SDK are
 * (@temporalio/envconfig): the TEMPORAL_TLS_* variables, or a profile of a TOML file. The dev
 * server speaks plain gRPC, so a TLS proxy wanting a client certificate of a throwaway CA (made
 * by the openssl CLI) stands in front of it. The worker and the CLI reach Temporal through it; a
 * client certificate of another CA, or none, stops them with exit code 2 naming the settings.
 * (The API key is not checked here: the proxy does not read the HTTP/2 headers; the unit
 * `config` test checks it reaches the connection options.)
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { certificate } from '../support/certs.js';
import { seqflow, seqflowJson } from '../../devstack/cli.js';
import { freePort, spawnService } from '../../devstack/process.js';
import { startRedis, type RedisServer } from '../../devstack/redis.js';
import { PROJECT_ROOT, connectTemporal, minimalWorkerEnv, runWorkerToExit, type TemporalServer } from '../../devstack/temporal.js';
import { startTlsProxy, type TlsProxy } from '../support/tls-proxy.js';

let dir = '';
let redis: RedisServer | undefined;
let temporal: TemporalServer | undefined;
let proxy: TlsProxy | undefined;

const file = (name: string) => path.join(dir, name);

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqflow-temporal-tls-'));
  certificate(dir, 'ca', 'seqflow test CA');
  certificate(dir, 'other-ca', 'another CA');
  certificate(dir, 'server', 'temporal', { ca: 'ca', san: 'DNS:localhost' });
  certificate(dir, 'client', 'seqflow', { ca: 'ca' });
  certificate(dir, 'stranger', 'seqflow', { ca: 'other-ca' });
  [redis, temporal] = await Promise.all([startRedis(), connectTemporal()]);
  proxy = await startTlsProxy({ target: temporal.address, cert: fs.readFileSync(file('server.crt')), key: fs.readFileSync(file('server.key')), ca: fs.readFileSync(file('ca.crt')) });
});

after(async () => {
  await proxy?.close();
  await Promise.all([redis?.stop(), temporal?.stop()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The proxy, with the server's certificate checked against the CA for the name it was made for. */
const tlsEnv = (client = 'client'): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  TEMPORAL_ADDRESS: `127.0.0.1:${proxy!.port}`,
  TEMPORAL_TLS: 'true',
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('ca.crt'),
  TEMPORAL_TLS_SERVER_NAME: 'localhost',
  TEMPORAL_TLS_CLIENT_CERT_PATH: file(`${client}.crt`),
  TEMPORAL_TLS_CLIENT_KEY_PATH: file(`${client}.key`),
  TEMPORAL_TASK_QUEUE: 'temporal-tls-test',
});

const workerEnv = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ ...minimalWorkerEnv(redis!.port), ...env });

/** What `list --json` answers straight from the dev server: through the proxy it must be the same. */
const direct = () => seqflowJson(['list'], { PATH: process.env.PATH, TEMPORAL_ADDRESS: temporal!.address });

test('the worker starts through the mTLS proxy with the TEMPORAL_TLS_* variables', async () => {
  const worker = await spawnService({
    name: 'worker-temporal-tls',
    command: process.execPath,
    args: ['--import', 'tsx', path.join(PROJECT_ROOT, 'src/worker.ts')],
    cwd: PROJECT_ROOT,
    env: { ...workerEnv(tlsEnv()), METRICS_HOST: '127.0.0.1', METRICS_PORT: String(await freePort()) },
    ready: async (w) => w.log().includes('"msg":"seqflow worker ready"'),
  });
  await worker.stop('SIGTERM');
  assert.equal(await worker.exited, 0);
});

test('the CLI lists through the mTLS proxy with the TEMPORAL_TLS_* variables', async () => {
  assert.deepEqual(await seqflowJson(['list'], tlsEnv()), await direct());
});

test('the CLI lists through the mTLS proxy with a profile of a TOML file (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE)', async () => {
  fs.writeFileSync(file('temporal.toml'), [
    '[profile.default]', 'address = "127.0.0.1:1"', '',
    '[profile.proxied]', `address = "127.0.0.1:${proxy!.port}"`, '',
    '[profile.proxied.tls]', `server_ca_cert_path = "${file('ca.crt')}"`, 'server_name = "localhost"',
    `client_cert_path = "${file('client.crt')}"`, `client_key_path = "${file('client.key')}"`, '',
  ].join('\n'));
  const env = { PATH: process.env.PATH, TEMPORAL_CONFIG_FILE: file('temporal.toml'), TEMPORAL_PROFILE: 'proxied' };
  assert.deepEqual(await seqflowJson(['list'], env), await direct());
  const missing = await seqflow(['list'], { ...env, TEMPORAL_PROFILE: 'nope' });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE: Profile 'nope' not found in config data/);
});

const runWorker = (env: NodeJS.ProcessEnv) => runWorkerToExit(env, 30000);

test('a client certificate of another CA: the worker exits 2 naming the client certificate settings, without waiting', async () => {
  const { code, stderr, ms } = await runWorker(workerEnv(tlsEnv('stranger')));
  assert.equal(code, 2);
  assert.match(stderr, /TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH: Temporal at 127\.0\.0\.1:\d+ refused the client certificate: it closed the connection after the handshake/);
  assert.ok(ms < 10_000, `gave up after ${ms} ms: a refused certificate is no reason to wait for the server`);
});

test('no client certificate: the CLI exits 2 naming the client certificate settings', async () => {
  const result = await seqflow(['list'], { ...tlsEnv(), TEMPORAL_TLS_CLIENT_CERT_PATH: undefined, TEMPORAL_TLS_CLIENT_KEY_PATH: undefined });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH: Temporal at 127\.0\.0\.1:\d+ refused a connection without a client certificate: .*alert certificate required/);
});

test('an unreadable TEMPORAL_TLS_CLIENT_KEY_PATH: exit 2 naming it', async () => {
  const result = await seqflow(['list'], { ...tlsEnv(), TEMPORAL_TLS_CLIENT_KEY_PATH: file('no-such.key') });
  assert.equal(result.code, 2);
  assert.equal(result.stderr, `seqflow: invalid configuration:\n  - TEMPORAL_TLS_CLIENT_KEY_PATH: cannot read it: ENOENT: no such file or directory, open '${file('no-such.key')}'\n`);
});

test("a TEMPORAL_TLS_SERVER_CA_CERT_PATH that did not sign the frontend's certificate: exit 2 naming it", async () => {
  const result = await seqflow(['list'], { ...tlsEnv(), TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('other-ca.crt') });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME: the certificate of Temporal at 127\.0\.0\.1:\d+ fails the check: self-signed certificate in certificate chain/);
});

test('TEMPORAL_TLS_SERVER_NAME other than the name in the frontend\'s certificate: exit 2 naming it', async () => {
  const result = await seqflow(['list'], { ...tlsEnv(), TEMPORAL_TLS_SERVER_NAME: 'temporal.example' });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME: the certificate of Temporal at 127\.0\.0\.1:\d+ fails the check: Hostname\/IP does not match certificate's altnames: Host: temporal\.example\. is not in the cert's altnames: DNS:localhost/);
});
