import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadApiConfig, type ApiConfig } from '../../src/config.js';

// EIP-55 test vectors from the EIP itself.
const PS_CHECKSUM = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const DM1_CHECKSUM = '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359';

type Env = Record<string, string | undefined>;

/** What the read API needs, no more (no relayer, no batch settings, no Temporal). */
const validEnv = (): Env => ({
  RPC_NODES: JSON.stringify(['http://rpc1.example:8545']),
  PROTOCOL_STATE_CONTRACT: PS_CHECKSUM.toLowerCase(),
  DATA_MARKET_ADDRESSES: JSON.stringify([DM1_CHECKSUM.toLowerCase()]),
  REDIS_HOST: 'redis.internal',
  REDIS_PORT: '6380',
  AUTH_READ_TOKEN: 'read-token',
});

function problemsOf(env: Env): string[] {
  try {
    loadApiConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('loadApiConfig', () => {
  test('a minimal environment, with the defaults: every interface, port 8080 (as upstream), no public URL', () => {
    assert.deepEqual(loadApiConfig(validEnv()), {
      rpcNodes: ['http://rpc1.example:8545'],
      protocolStateContract: PS_CHECKSUM,
      dataMarkets: [DM1_CHECKSUM],
      redis: { host: 'redis.internal', port: 6380, db: 0, password: undefined },
      authReadToken: 'read-token',
      publicUrl: undefined,
      listen: { host: '0.0.0.0', port: 8080 },
      logLevel: 'info',
    } satisfies ApiConfig);
  });

  test('API_HOST as upstream uses it: the host of the OpenAPI document, https unless a scheme is given', () => {
    const env = { ...validEnv(), API_HOST: 'sequencer-api.example.org', API_LISTEN_HOST: '127.0.0.1', API_PORT: '9090', LOG_LEVEL: 'debug' };
    const config = loadApiConfig(env);
    assert.equal(config.publicUrl, 'https://sequencer-api.example.org');
    assert.deepEqual(config.listen, { host: '127.0.0.1', port: 9090 });
    assert.equal(config.logLevel, 'debug');
    assert.equal(loadApiConfig({ ...validEnv(), API_HOST: 'api.example:8443' }).publicUrl, 'https://api.example:8443');
    assert.equal(loadApiConfig({ ...validEnv(), API_HOST: 'http://localhost:8080/' }).publicUrl, 'http://localhost:8080/');
  });

  test('every problem at once, each naming its variable', () => {
    assert.deepEqual(problemsOf({ ...validEnv(), AUTH_READ_TOKEN: '  ', API_PORT: '70000', API_HOST: 'https://', LOG_LEVEL: 'loud', PROTOCOL_STATE_CONTRACT: undefined }), [
      'PROTOCOL_STATE_CONTRACT is required',
      'AUTH_READ_TOKEN is required',
      'API_HOST must be a host name (with an optional port) or an http(s) URL, got "https://"',
      'API_PORT must be between 1 and 65535, got 70000',
      'LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, got "loud"',
    ]);
    assert.deepEqual(problemsOf({ AUTH_READ_TOKEN: 't' }), [
      'RPC_NODES (a JSON array of URLs) or PROST_RPC_URL is required',
      'PROTOCOL_STATE_CONTRACT is required',
      'DATA_MARKET_ADDRESSES is required: a non-empty JSON array of data market addresses',
      'REDIS_HOST is required',
      'REDIS_PORT is required',
    ]);
  });
});
