import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadApiConfig, loadDataMarkets, loadTemporalConfig, loadWorkerConfig, type WorkerConfig } from '../../src/config.js';

// EIP-55 test vectors from the EIP itself: the expected checksum forms are independent of ethers.
const PS_CHECKSUM = '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed';
const DM1_CHECKSUM = '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359';
const DM2_CHECKSUM = '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB';

type Env = Record<string, string | undefined>;

/** A complete, valid environment: addresses in lower and upper case, a duplicate market. */
function validEnv(): Env {
  return {
    RPC_NODES: JSON.stringify(['http://rpc1.example:8545', '"https://rpc2.example/path"']),
    PROTOCOL_STATE_CONTRACT: PS_CHECKSUM.toLowerCase(),
    DATA_MARKET_ADDRESSES: JSON.stringify([
      DM1_CHECKSUM.toLowerCase(),
      '0x' + DM2_CHECKSUM.slice(2).toUpperCase(),
      DM1_CHECKSUM,
    ]),
    REDIS_HOST: 'redis.internal',
    REDIS_PORT: '6380',
    TX_RELAYER_URL: 'http://relayer.internal:8080/',
    TX_RELAYER_AUTH_WRITE_TOKEN: 'write-token',
    HTTP_TIMEOUT: '15',
    BATCH_SIZE: '25',
    REWARDS_UPDATE_BATCH_SIZE: '50',
    REWARDS_UPDATE_EPOCH_INTERVAL: '10',
  };
}

const expectedConfig: WorkerConfig = {
  temporal: { address: 'localhost:7233', namespace: 'default', taskQueue: 'seqflow' },
  rpcNodes: ['http://rpc1.example:8545', 'https://rpc2.example/path'],
  protocolStateContract: PS_CHECKSUM,
  dataMarkets: [DM1_CHECKSUM, DM2_CHECKSUM],
  redis: { host: 'redis.internal', port: 6380, db: 0, password: undefined },
  relayer: { url: 'http://relayer.internal:8080', authToken: 'write-token', timeoutMs: 15_000 },
  batchSize: 25,
  confirmations: 2,
  maxReorgDepth: 64,
  logRangeBlocks: 2000,
  pollIntervalMs: 1000,
  rescanDelayMs: 30_000,
  followerStallMs: 60_000,
  windowCloseWaitMs: 30_000,
  logLevel: 'info',
  rewards: { batchSize: 50, epochInterval: 10, pastDaysBuffer: 5, concurrentUpdates: 10, dayTransitionBufferEpochs: 5 },
  attestorQueuePushEnabled: false,
  metrics: { host: '0.0.0.0', port: 9464 },
  readyMaxLagBlocks: 100,
  alerts: { url: undefined, timeoutMs: 5000, rejectedAnswersThreshold: 20, maxPerMinute: 10 },
};

/** Runs `load` and returns the problems of the ConfigError it must throw. */
function problemsOf(load: () => unknown): string[] {
  let error: unknown;
  try {
    load();
  } catch (err) {
    error = err;
  }
  assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
  assert.equal(error.name, 'ConfigError');
  for (const problem of error.problems) assert.ok(error.message.includes(problem), `message lacks ${problem}`);
  return error.problems;
}

const workerProblems = (env: Env) => problemsOf(() => loadWorkerConfig(env));

function withEnv(changes: Env): Env {
  const env = validEnv();
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

describe('loadWorkerConfig', () => {
  test('a complete valid environment gives the exact config', () => {
    assert.deepEqual(loadWorkerConfig(validEnv()), expectedConfig);
  });

  test('explicit optional values override the defaults', () => {
    const config = loadWorkerConfig(
      withEnv({
        TEMPORAL_ADDRESS: 'temporal:7233',
        TEMPORAL_NAMESPACE: 'prod',
        TEMPORAL_TASK_QUEUE: 'q1',
        REDIS_DB: '3',
        REDIS_PASSWORD: 'pw',
        CONFIRMATIONS: '0',
        MAX_REORG_DEPTH: '128',
        LOG_RANGE_BLOCKS: '500',
        POLL_INTERVAL_MS: '250',
        RESCAN_DELAY_SECONDS: '120',
        FOLLOWER_STALL_SECONDS: '300',
        WINDOW_CLOSE_WAIT_SECONDS: '0',
        LOG_LEVEL: 'debug',
      }),
    );
    assert.deepEqual(config, {
      ...expectedConfig,
      temporal: { address: 'temporal:7233', namespace: 'prod', taskQueue: 'q1' },
      redis: { host: 'redis.internal', port: 6380, db: 3, password: 'pw' },
      confirmations: 0,
      maxReorgDepth: 128,
      logRangeBlocks: 500,
      pollIntervalMs: 250,
      rescanDelayMs: 120_000,
      followerStallMs: 300_000,
      windowCloseWaitMs: 0,
      logLevel: 'debug',
    });
  });

  test('addresses in upper-case hex are normalised to EIP-55', () => {
    const config = loadWorkerConfig(withEnv({ PROTOCOL_STATE_CONTRACT: '0x' + PS_CHECKSUM.slice(2).toUpperCase() }));
    assert.equal(config.protocolStateContract, PS_CHECKSUM);
  });

  test('duplicate markets in different cases are removed, first occurrence order kept', () => {
    const config = loadWorkerConfig(
      withEnv({ DATA_MARKET_ADDRESSES: JSON.stringify([DM2_CHECKSUM.toLowerCase(), DM1_CHECKSUM, DM2_CHECKSUM, DM1_CHECKSUM.toLowerCase()]) }),
    );
    assert.deepEqual(config.dataMarkets, [DM2_CHECKSUM, DM1_CHECKSUM]);
  });

  test('several trailing slashes of the relayer URL are removed', () => {
    assert.equal(loadWorkerConfig(withEnv({ TX_RELAYER_URL: 'https://relayer.example/api//' })).relayer.url, 'https://relayer.example/api');
  });

  test('values are trimmed; a blank value counts as unset', () => {
    const config = loadWorkerConfig(withEnv({ BATCH_SIZE: ' 7 ', REDIS_DB: '   ', LOG_LEVEL: '' }));
    assert.equal(config.batchSize, 7);
    assert.equal(config.redis.db, 0);
    assert.equal(config.logLevel, 'info');
  });

  describe('RPC nodes', () => {
    test('PROST_RPC_URL is the fallback when RPC_NODES is absent', () => {
      assert.deepEqual(loadWorkerConfig(withEnv({ RPC_NODES: undefined, PROST_RPC_URL: 'https://prost.example' })).rpcNodes, [
        'https://prost.example',
      ]);
    });

    test('PROST_RPC_URL is the fallback when RPC_NODES is []', () => {
      assert.deepEqual(loadWorkerConfig(withEnv({ RPC_NODES: '[]', PROST_RPC_URL: 'https://prost.example' })).rpcNodes, [
        'https://prost.example',
      ]);
    });

    test('RPC_NODES wins over PROST_RPC_URL', () => {
      assert.deepEqual(loadWorkerConfig(withEnv({ PROST_RPC_URL: 'https://prost.example' })).rpcNodes, expectedConfig.rpcNodes);
    });

    test('surrounding double quotes of RPC_NODES elements are trimmed', () => {
      const config = loadWorkerConfig(withEnv({ RPC_NODES: JSON.stringify(['"http://a.example"', '""https://b.example""', ' "http://c.example" ']) }));
      assert.deepEqual(config.rpcNodes, ['http://a.example', 'https://b.example', 'http://c.example']);
    });

    test('neither RPC_NODES nor PROST_RPC_URL: one problem naming both', () => {
      const problems = workerProblems(withEnv({ RPC_NODES: undefined }));
      assert.equal(problems.length, 1);
      assert.match(problems[0]!, /RPC_NODES/);
      assert.match(problems[0]!, /PROST_RPC_URL/);
    });

    test('a non-http RPC_NODES URL is reported under RPC_NODES', () => {
      const problems = workerProblems(withEnv({ RPC_NODES: JSON.stringify(['http://ok.example', 'ws://node.example']) }));
      assert.equal(problems.length, 1);
      assert.match(problems[0]!, /^RPC_NODES .*ws:\/\/node\.example/);
    });

    test('a non-http PROST_RPC_URL is reported under PROST_RPC_URL', () => {
      const problems = workerProblems(withEnv({ RPC_NODES: undefined, PROST_RPC_URL: 'ftp://prost.example' }));
      assert.equal(problems.length, 1);
      assert.match(problems[0]!, /^PROST_RPC_URL .*ftp:\/\/prost\.example/);
    });

    test(
      'a non-http PROST_RPC_URL is reported under PROST_RPC_URL even when RPC_NODES is []',
      () => {
        const problems = workerProblems(withEnv({ RPC_NODES: '[]', PROST_RPC_URL: 'ftp://prost.example' }));
        assert.equal(problems.length, 1);
        assert.match(problems[0]!, /^PROST_RPC_URL /);
      },
    );

    test('RPC_NODES that is not JSON is reported', () => {
      const problems = workerProblems(withEnv({ RPC_NODES: 'http://a.example' }));
      assert.ok(problems.some((p) => p.startsWith('RPC_NODES must be a JSON array')), problems.join('; '));
    });

    test('an unparseable URL is reported', () => {
      const problems = workerProblems(withEnv({ RPC_NODES: JSON.stringify(['not a url']) }));
      assert.equal(problems.length, 1);
      assert.match(problems[0]!, /^RPC_NODES must be an http\(s\) URL/);
    });
  });

  for (const name of ['BATCH_SIZE', 'HTTP_TIMEOUT', 'REDIS_PORT'] as const) {
    describe(name, () => {
      for (const [label, value] of [
        ['missing', undefined],
        ['"abc"', 'abc'],
        ['"0"', '0'],
        ['"-3"', '-3'],
        ['"1.5"', '1.5'],
      ] as const) {
        test(`${label} is a ConfigError naming ${name}`, () => {
          const problems = workerProblems(withEnv({ [name]: value }));
          assert.equal(problems.length, 1, problems.join('; '));
          assert.ok(problems[0]!.startsWith(`${name} `), problems[0]);
        });
      }
    });
  }

  test('REDIS_PORT above 65535 is a problem; 65535 is fine', () => {
    const problems = workerProblems(withEnv({ REDIS_PORT: '65536' }));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^REDIS_PORT /);
    assert.equal(loadWorkerConfig(withEnv({ REDIS_PORT: '65535' })).redis.port, 65535);
  });

  test('every integer variable is bounded: a value past the bound (or past 2^53, e.g. 99999999999999999999) names the variable and its range', () => {
    const bounds: Array<[string, number]> = [
      ['BATCH_SIZE', 10_000],
      ['REDIS_DB', 2_147_483_647],
      ['REDIS_PORT', 65_535],
      ['HTTP_TIMEOUT', 3600],
      ['REWARDS_UPDATE_BATCH_SIZE', 10_000],
      ['REWARDS_UPDATE_EPOCH_INTERVAL', 1_000_000_000],
      ['PAST_DAYS_BUFFER', 365],
      ['CONCURRENT_SUBMISSION_COUNT_UPDATES', 100],
      ['DAY_TRANSITION_BUFFER_EPOCHS', 10_000],
      ['CONFIRMATIONS', 1000],
      ['MAX_REORG_DEPTH', 10_000],
      ['LOG_RANGE_BLOCKS', 100_000],
      ['POLL_INTERVAL_MS', 60_000],
      ['RESCAN_DELAY_SECONDS', 86_400],
      ['FOLLOWER_STALL_SECONDS', 86_400],
      ['WINDOW_CLOSE_WAIT_SECONDS', 3600],
    ];
    for (const [name, max] of bounds) {
      const env = name === 'CONFIRMATIONS' ? { CONFIRMATIONS: String(max), MAX_REORG_DEPTH: '10000' } : { [name]: String(max) };
      assert.doesNotThrow(() => loadWorkerConfig(withEnv(env)), `${name}=${max} is accepted`);
      for (const bad of [String(max + 1), '99999999999999999999']) {
        const problems = workerProblems(withEnv({ [name]: bad }));
        assert.ok(problems.length >= 1 && problems[0]!.startsWith(`${name} must be between `) && problems[0]!.endsWith(`and ${max}, got ${bad}`), `${name}=${bad}: ${problems.join('; ')}`);
      }
    }
  });

  test('BATCH_SIZE=99999999999999999999 is refused, not rounded to 1e20', () => {
    assert.deepEqual(workerProblems(withEnv({ BATCH_SIZE: '99999999999999999999' })), ['BATCH_SIZE must be between 1 and 10000, got 99999999999999999999']);
  });

  test('BATCH_SIZE 1 and HTTP_TIMEOUT 1 are the smallest valid values', () => {
    const config = loadWorkerConfig(withEnv({ BATCH_SIZE: '1', HTTP_TIMEOUT: '1' }));
    assert.equal(config.batchSize, 1);
    assert.equal(config.relayer.timeoutMs, 1000);
  });

  for (const bad of ['0x123', 'not-an-address', '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedd', '5aaeb6053f3e94c9b9a09f33669435e7ef1beaed0']) {
    test(`PROTOCOL_STATE_CONTRACT ${JSON.stringify(bad)} is a problem naming it`, () => {
      const problems = workerProblems(withEnv({ PROTOCOL_STATE_CONTRACT: bad }));
      assert.equal(problems.length, 1);
      assert.ok(problems[0]!.startsWith('PROTOCOL_STATE_CONTRACT '), problems[0]);
      assert.ok(problems[0]!.includes(bad), problems[0]);
    });
  }

  test('PROTOCOL_STATE_CONTRACT missing is a problem naming it', () => {
    const problems = workerProblems(withEnv({ PROTOCOL_STATE_CONTRACT: undefined }));
    assert.deepEqual(problems, ['PROTOCOL_STATE_CONTRACT is required']);
  });

  test('an invalid DATA_MARKET_ADDRESSES entry is reported with its value', () => {
    const problems = workerProblems(withEnv({ DATA_MARKET_ADDRESSES: JSON.stringify([DM1_CHECKSUM, '0xdeadbeef']) }));
    assert.equal(problems.length, 1);
    assert.ok(problems[0]!.startsWith('DATA_MARKET_ADDRESSES '), problems[0]);
    assert.ok(problems[0]!.includes('0xdeadbeef'), problems[0]);
  });

  test('two invalid DATA_MARKET_ADDRESSES entries are two problems', () => {
    const problems = workerProblems(withEnv({ DATA_MARKET_ADDRESSES: JSON.stringify(['0x01', DM2_CHECKSUM, '0x02']) }));
    assert.equal(problems.length, 2);
    assert.ok(problems[0]!.includes('"0x01"') && problems[1]!.includes('"0x02"'), problems.join('; '));
  });

  for (const [label, value] of [
    ['missing', undefined],
    ['[]', '[]'],
    ['a list of blanks', '["", "\\"\\""]'],
  ] as const) {
    test(`DATA_MARKET_ADDRESSES ${label} is one problem naming it`, () => {
      const problems = workerProblems(withEnv({ DATA_MARKET_ADDRESSES: value }));
      assert.equal(problems.length, 1, problems.join('; '));
      assert.ok(problems[0]!.startsWith('DATA_MARKET_ADDRESSES '), problems[0]);
    });
  }

  for (const [label, value] of [
    ['not JSON', DM1_CHECKSUM],
    ['a JSON object', '{"a":"b"}'],
    ['a JSON array of numbers', '[1,2]'],
  ] as const) {
    test(`DATA_MARKET_ADDRESSES ${label} is reported as not a JSON array of strings`, () => {
      const problems = workerProblems(withEnv({ DATA_MARKET_ADDRESSES: value }));
      assert.ok(problems.length >= 1);
      assert.ok(
        problems.every((p) => p.startsWith('DATA_MARKET_ADDRESSES ')),
        problems.join('; '),
      );
      assert.ok(
        problems.some((p) => p.startsWith('DATA_MARKET_ADDRESSES must be a JSON array of strings')),
        problems.join('; '),
      );
    });
  }

  test(
    'DATA_MARKET_ADDRESSES not JSON is reported once, not also as "required"',
    () => {
      const problems = workerProblems(withEnv({ DATA_MARKET_ADDRESSES: 'not json' }));
      assert.deepEqual(problems, ['DATA_MARKET_ADDRESSES must be a JSON array of strings, got "not json"']);
    },
  );

  test('LOG_LEVEL invalid is a problem naming it', () => {
    const problems = workerProblems(withEnv({ LOG_LEVEL: 'verbose' }));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^LOG_LEVEL .*"verbose"/);
  });

  for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) {
    test(`LOG_LEVEL ${level} is accepted`, () => {
      assert.equal(loadWorkerConfig(withEnv({ LOG_LEVEL: level })).logLevel, level);
    });
  }

  test('required strings: REDIS_HOST, TX_RELAYER_URL, TX_RELAYER_AUTH_WRITE_TOKEN', () => {
    const problems = workerProblems(withEnv({ REDIS_HOST: undefined, TX_RELAYER_URL: undefined, TX_RELAYER_AUTH_WRITE_TOKEN: undefined }));
    assert.deepEqual(
      [...problems].sort(),
      ['REDIS_HOST is required', 'TX_RELAYER_AUTH_WRITE_TOKEN is required', 'TX_RELAYER_URL is required'],
    );
  });

  test('CONFIRMATIONS and LOG_RANGE_BLOCKS outside their ranges are problems', () => {
    const problems = workerProblems(withEnv({ CONFIRMATIONS: '1001', LOG_RANGE_BLOCKS: '0', POLL_INTERVAL_MS: '0' }));
    assert.equal(problems.length, 3);
    assert.deepEqual(
      problems.map((p) => p.split(' ')[0]).sort(),
      ['CONFIRMATIONS', 'LOG_RANGE_BLOCKS', 'POLL_INTERVAL_MS'],
    );
  });

  test('the follower and window variables outside their ranges are problems, each named', () => {
    const problems = workerProblems(withEnv({ MAX_REORG_DEPTH: '0', RESCAN_DELAY_SECONDS: '0', FOLLOWER_STALL_SECONDS: 'soon', WINDOW_CLOSE_WAIT_SECONDS: '3601' }));
    assert.deepEqual(problems, [
      'MAX_REORG_DEPTH must be between 1 and 10000, got 0',
      'RESCAN_DELAY_SECONDS must be between 1 and 86400, got 0',
      'FOLLOWER_STALL_SECONDS must be an integer, got "soon"',
      'WINDOW_CLOSE_WAIT_SECONDS must be between 0 and 3600, got 3601',
    ]);
  });

  test('MAX_REORG_DEPTH must be greater than CONFIRMATIONS: the blocks checked one by one must reach below the scanned ones', () => {
    assert.deepEqual(workerProblems(withEnv({ CONFIRMATIONS: '64' })), ['MAX_REORG_DEPTH (64) must be greater than CONFIRMATIONS (64)']);
    assert.equal(loadWorkerConfig(withEnv({ CONFIRMATIONS: '64', MAX_REORG_DEPTH: '65' })).maxReorgDepth, 65);
  });

  test('several problems at once are all reported in one ConfigError', () => {
    const problems = workerProblems(
      withEnv({
        BATCH_SIZE: 'abc',
        HTTP_TIMEOUT: undefined,
        REDIS_PORT: '0',
        PROTOCOL_STATE_CONTRACT: '0x123',
        DATA_MARKET_ADDRESSES: '[]',
        TX_RELAYER_URL: 'ftp://relayer',
        LOG_LEVEL: 'loud',
      }),
    );
    assert.equal(problems.length, 7, problems.join('\n'));
    assert.deepEqual(
      problems.map((p) => p.split(' ')[0]).sort(),
      ['BATCH_SIZE', 'DATA_MARKET_ADDRESSES', 'HTTP_TIMEOUT', 'LOG_LEVEL', 'PROTOCOL_STATE_CONTRACT', 'REDIS_PORT', 'TX_RELAYER_URL'],
    );
  });

  test('an empty environment reports every required variable', () => {
    const problems = workerProblems({});
    const named = new Set(problems.map((p) => p.split(' ')[0]));
    for (const name of [
      'RPC_NODES',
      'PROTOCOL_STATE_CONTRACT',
      'DATA_MARKET_ADDRESSES',
      'REDIS_HOST',
      'REDIS_PORT',
      'TX_RELAYER_URL',
      'TX_RELAYER_AUTH_WRITE_TOKEN',
      'HTTP_TIMEOUT',
      'BATCH_SIZE',
    ]) {
      assert.ok(named.has(name), `${name} not reported: ${problems.join('; ')}`);
    }
  });
});

describe('loadTemporalConfig', () => {
  test('defaults', () => {
    assert.deepEqual(loadTemporalConfig({}), { address: 'localhost:7233', namespace: 'default', taskQueue: 'seqflow' });
  });

  test('blank values count as unset', () => {
    assert.deepEqual(loadTemporalConfig({ TEMPORAL_ADDRESS: '  ', TEMPORAL_NAMESPACE: '' }), {
      address: 'localhost:7233',
      namespace: 'default',
      taskQueue: 'seqflow',
    });
  });

  test('explicit values', () => {
    assert.deepEqual(loadTemporalConfig({ TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_NAMESPACE: 'ns', TEMPORAL_TASK_QUEUE: 'tq' }), {
      address: 'temporal:7233',
      namespace: 'ns',
      taskQueue: 'tq',
    });
  });

  test('ignores the worker variables (no problems for a sparse env)', () => {
    assert.deepEqual(loadTemporalConfig({ BATCH_SIZE: 'abc' }), { address: 'localhost:7233', namespace: 'default', taskQueue: 'seqflow' });
  });
});

describe("loadTemporalConfig: Temporal's own client configuration (@temporalio/envconfig)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqflow-config-temporal-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string) => {
    const at = path.join(dir, name);
    fs.writeFileSync(at, content);
    return at;
  };
  const temporalProblems = (env: Env) => problemsOf(() => loadTemporalConfig(env));

  test('TEMPORAL_API_KEY_FILE: the key, trailing line end trimmed, goes to the connection, with TLS as the SDK implies', () => {
    assert.deepEqual(loadTemporalConfig({ TEMPORAL_ADDRESS: 'ns.tmprl.cloud:7233', TEMPORAL_API_KEY_FILE: file('api-key', 'the-key\n') }), {
      address: 'ns.tmprl.cloud:7233',
      namespace: 'default',
      taskQueue: 'seqflow',
      tls: true,
      apiKey: 'the-key',
    });
  });

  test('TEMPORAL_TLS=false keeps an API key in plain text, as for the temporal CLI', () => {
    assert.deepEqual(loadTemporalConfig({ TEMPORAL_API_KEY: 'the-key', TEMPORAL_TLS: 'false' }), { address: 'localhost:7233', namespace: 'default', taskQueue: 'seqflow', apiKey: 'the-key' });
  });

  test('TEMPORAL_API_KEY and TEMPORAL_API_KEY_FILE both set: refused, the key named by its variables only', () => {
    const problems = temporalProblems({ TEMPORAL_API_KEY: 'the-key', TEMPORAL_API_KEY_FILE: file('api-key-2', 'the-key') });
    assert.deepEqual(problems, ['TEMPORAL_API_KEY and TEMPORAL_API_KEY_FILE are both set: set one of them']);
  });

  test('a profile of TEMPORAL_CONFIG_FILE, the variables over it', () => {
    const toml = file('temporal.toml', ['[profile.prod]', 'address = "prod:7233"', 'namespace = "prod-ns"', 'api_key = "from-file"', '[profile.prod.grpc_meta]', 'x-team = "seqflow"', ''].join('\n'));
    assert.deepEqual(loadTemporalConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'prod', TEMPORAL_NAMESPACE: 'override' }), {
      address: 'prod:7233',
      namespace: 'override',
      taskQueue: 'seqflow',
      tls: true,
      apiKey: 'from-file',
      metadata: { 'x-team': 'seqflow' },
    });
  });

  test('a TEMPORAL_CONFIG_FILE that is not there, a TEMPORAL_PROFILE it lacks: refused, naming them', () => {
    assert.deepEqual(temporalProblems({ TEMPORAL_CONFIG_FILE: path.join(dir, 'absent.toml') }), [
      `TEMPORAL_CONFIG_FILE: cannot read it: ENOENT: no such file or directory, access '${path.join(dir, 'absent.toml')}'`,
    ]);
    assert.deepEqual(temporalProblems({ TEMPORAL_CONFIG_FILE: file('default-only.toml', '[profile.default]\naddress = "a:7233"\n'), TEMPORAL_PROFILE: 'prod' }), ["TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE: Profile 'prod' not found in config data"]);
  });

  test('TEMPORAL_TLS values envconfig would read as false, host verification off, a certificate without its key: refused', () => {
    assert.deepEqual(temporalProblems({ TEMPORAL_TLS: 'TRUE', TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' }), [
      'TEMPORAL_TLS must be true, 1, false or 0, got "TRUE"',
      "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: the TypeScript SDK always verifies the server's host name; set TEMPORAL_TLS_SERVER_NAME to the name its certificate has",
    ]);
    assert.deepEqual(temporalProblems({ TEMPORAL_TLS_CLIENT_CERT_PATH: file('client.crt', 'not read: the key is missing') }), [
      'TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH go together: set both for a client certificate, or neither',
    ]);
  });
});

describe('loadDataMarkets', () => {
  test('normalises to EIP-55 and removes duplicates', () => {
    assert.deepEqual(
      loadDataMarkets({ DATA_MARKET_ADDRESSES: JSON.stringify([DM2_CHECKSUM.toLowerCase(), '"' + DM1_CHECKSUM + '"', DM2_CHECKSUM]) }),
      [DM2_CHECKSUM, DM1_CHECKSUM],
    );
  });

  test('missing is a ConfigError naming DATA_MARKET_ADDRESSES', () => {
    const problems = problemsOf(() => loadDataMarkets({}));
    assert.equal(problems.length, 1);
    assert.ok(problems[0]!.startsWith('DATA_MARKET_ADDRESSES '), problems[0]);
  });

  test('[] is a ConfigError', () => {
    const problems = problemsOf(() => loadDataMarkets({ DATA_MARKET_ADDRESSES: '[]' }));
    assert.equal(problems.length, 1);
    assert.ok(problems[0]!.startsWith('DATA_MARKET_ADDRESSES '), problems[0]);
  });

  test('an invalid entry is a ConfigError with the entry', () => {
    const problems = problemsOf(() => loadDataMarkets({ DATA_MARKET_ADDRESSES: '["0xzz"]' }));
    assert.equal(problems.length, 1);
    assert.ok(problems[0]!.includes('"0xzz"'), problems[0]);
  });

  test('does not need the other worker variables', () => {
    assert.deepEqual(loadDataMarkets({ DATA_MARKET_ADDRESSES: JSON.stringify([DM1_CHECKSUM]) }), [DM1_CHECKSUM]);
  });
});

test('HTTP_TIMEOUT above an hour is refused (a timer would overflow)', () => {
  assert.throws(() => loadWorkerConfig({ ...validEnv(), HTTP_TIMEOUT: '99999999999999999999' }), /HTTP_TIMEOUT must be between 1 and 3600/);
});

test('PROTOCOL_STATE_CONTRACT in double quotes is accepted, as upstream trims them', () => {
  const config = loadWorkerConfig({ ...validEnv(), PROTOCOL_STATE_CONTRACT: '"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"' });
  assert.equal(config.protocolStateContract, '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed');
});

describe('reward settings', () => {
  test('explicit values are read', () => {
    const config = loadWorkerConfig({
      ...validEnv(),
      PAST_DAYS_BUFFER: '3',
      CONCURRENT_SUBMISSION_COUNT_UPDATES: '4',
      DAY_TRANSITION_BUFFER_EPOCHS: '2',
      ATTESTOR_QUEUE_PUSH_ENABLED: 'true',
    });
    assert.deepEqual(config.rewards, { batchSize: 50, epochInterval: 10, pastDaysBuffer: 3, concurrentUpdates: 4, dayTransitionBufferEpochs: 2 });
    assert.equal(config.attestorQueuePushEnabled, true);
  });

  for (const name of ['REWARDS_UPDATE_BATCH_SIZE', 'REWARDS_UPDATE_EPOCH_INTERVAL', 'PAST_DAYS_BUFFER', 'CONCURRENT_SUBMISSION_COUNT_UPDATES', 'DAY_TRANSITION_BUFFER_EPOCHS']) {
    test(`${name} of 0 or below is a clear error, not a panic`, () => {
      for (const value of ['0', '-2']) assert.deepEqual(workerProblems({ ...validEnv(), [name]: value }).map((p) => p.split(' ')[0]), [name]);
    });
  }

  test('the two upstream-required reward variables are required', () => {
    assert.deepEqual(workerProblems({ ...validEnv(), REWARDS_UPDATE_BATCH_SIZE: undefined, REWARDS_UPDATE_EPOCH_INTERVAL: undefined }), [
      'REWARDS_UPDATE_BATCH_SIZE is required',
      'REWARDS_UPDATE_EPOCH_INTERVAL is required',
    ]);
  });

  test('ATTESTOR_QUEUE_PUSH_ENABLED accepts true/false/1/0 and names itself otherwise', () => {
    assert.equal(loadWorkerConfig({ ...validEnv(), ATTESTOR_QUEUE_PUSH_ENABLED: 'FALSE' }).attestorQueuePushEnabled, false);
    assert.equal(loadWorkerConfig({ ...validEnv(), ATTESTOR_QUEUE_PUSH_ENABLED: '1' }).attestorQueuePushEnabled, true);
    // Go's strconv.ParseBool spellings, as an upstream environment file may hold them.
    assert.equal(loadWorkerConfig({ ...validEnv(), ATTESTOR_QUEUE_PUSH_ENABLED: 'T' }).attestorQueuePushEnabled, true);
    assert.equal(loadWorkerConfig({ ...validEnv(), ATTESTOR_QUEUE_PUSH_ENABLED: 'f' }).attestorQueuePushEnabled, false);
    assert.deepEqual(workerProblems({ ...validEnv(), ATTESTOR_QUEUE_PUSH_ENABLED: 'yes' }), ['ATTESTOR_QUEUE_PUSH_ENABLED must be true or false, got "yes"']);
  });
});

describe('secrets from files (<NAME>_FILE, the Docker secrets convention)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqflow-config-secrets-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string) => {
    const at = path.join(dir, name);
    fs.writeFileSync(at, content);
    return at;
  };
  const apiEnv = (changes: Env): Env => ({
    RPC_NODES: '["http://rpc1.example:8545"]',
    PROTOCOL_STATE_CONTRACT: PS_CHECKSUM,
    DATA_MARKET_ADDRESSES: JSON.stringify([DM1_CHECKSUM]),
    REDIS_HOST: 'redis.internal',
    REDIS_PORT: '6380',
    ...changes,
  });

  test('the worker reads TX_RELAYER_AUTH_WRITE_TOKEN and REDIS_PASSWORD from files, trailing line ends trimmed', () => {
    const config = loadWorkerConfig(
      withEnv({ TX_RELAYER_AUTH_WRITE_TOKEN: undefined, TX_RELAYER_AUTH_WRITE_TOKEN_FILE: file('relayer', 'write\ntoken \n\n'), REDIS_PASSWORD_FILE: file('redis', 'p@ss\r\n') }),
    );
    assert.deepEqual([config.relayer.authToken, config.redis.password], ['write\ntoken ', 'p@ss']);
  });

  test('the read API reads AUTH_READ_TOKEN and REDIS_PASSWORD from files', () => {
    const config = loadApiConfig(apiEnv({ AUTH_READ_TOKEN_FILE: file('read', 'read-token'), REDIS_PASSWORD_FILE: file('redis2', 'pw\n') }));
    assert.deepEqual([config.authReadToken, config.redis.password], ['read-token', 'pw']);
  });

  test('a value and a file both set: one problem naming both', () => {
    assert.deepEqual(workerProblems(withEnv({ TX_RELAYER_AUTH_WRITE_TOKEN_FILE: file('both', 'other') })), [
      'TX_RELAYER_AUTH_WRITE_TOKEN and TX_RELAYER_AUTH_WRITE_TOKEN_FILE are both set: set one of them',
    ]);
  });

  test('a missing file, a directory, an empty file: problems naming <NAME>_FILE and the path', () => {
    const missing = path.join(dir, 'missing');
    const empty = file('empty', '\n');
    assert.deepEqual(problemsOf(() => loadApiConfig(apiEnv({ AUTH_READ_TOKEN_FILE: missing, REDIS_PASSWORD_FILE: dir }))), [
      `REDIS_PASSWORD_FILE: cannot read it: EISDIR: illegal operation on a directory, read`,
      `AUTH_READ_TOKEN_FILE: cannot read it: ENOENT: no such file or directory, open '${missing}'`,
    ]);
    assert.deepEqual(workerProblems(withEnv({ TX_RELAYER_AUTH_WRITE_TOKEN: undefined, TX_RELAYER_AUTH_WRITE_TOKEN_FILE: empty })), [`TX_RELAYER_AUTH_WRITE_TOKEN_FILE: ${empty} is empty`]);
  });

  test('neither the value nor the file of a required secret: required, as before', () => {
    assert.deepEqual(problemsOf(() => loadApiConfig(apiEnv({}))), ['AUTH_READ_TOKEN is required']);
  });
});
