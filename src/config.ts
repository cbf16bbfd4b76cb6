/**
 * Configuration from the environment, with the upstream collector's variable names so that an
 * operator can swap the Go service for seqflow. Everything is validated at start-up and every
 * problem is reported at once, each naming its variable.
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { TLSConfig } from '@temporalio/client';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile } from '@temporalio/envconfig';
import { getAddress, isAddress } from 'ethers';
import { pino } from 'pino';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  /** TLS as the SDK takes it (`true`: TLS with the system's CAs); absent: plain gRPC. */
  tls?: TLSConfig | true;
  /** TEMPORAL_API_KEY(_FILE): sent as `authorization: Bearer`; a secret, never logged. */
  apiKey?: string;
  /** TEMPORAL_GRPC_META_* and a profile's grpc_meta: headers sent with every call. */
  metadata?: Record<string, string>;
}

export interface WorkerConfig {
  temporal: TemporalConfig;
  rpcNodes: string[];
  protocolStateContract: string;
  /** EIP-55 addresses, in the configured order, without duplicates. */
  dataMarkets: string[];
  redis: RedisSettings;
  relayer: RelayerSettings;
  batchSize: number;
  /** Blocks a block must be behind the head before the follower scans it. */
  confirmations: number;
  /** The deepest reorg followed: blocks within it of the head are checked one by one; a deeper fork is a finality violation. */
  maxReorgDepth: number;
  /** Most blocks per eth_getLogs request (the adaptive range's cap). */
  logRangeBlocks: number;
  pollIntervalMs: number;
  /** How long after a wide eth_getLogs range was read it is read again. */
  rescanDelayMs: number;
  /** No follower progress for this long while the chain moves: the market reports `follower-stalled`. */
  followerStallMs: number;
  /** How long after a window's end its preparation waits for the first block past it. */
  windowCloseWaitMs: number;
  logLevel: string;
  rewards: RewardSettings;
  /** Push SnapshotBatchSubmitted details to `attestorQueue`. */
  attestorQueuePushEnabled: boolean;
  /** The worker's HTTP server: /metrics, /health, /ready, /status. */
  metrics: { host: string; port: number };
  /** `/ready` answers 503 while a market's cursor is further than this behind the head. */
  readyMaxLagBlocks: number;
  alerts: AlertSettings;
  /** OpenTelemetry traces; absent: off (no OTLP endpoint set). */
  tracing?: TracingConfig;
}

/**
 * Traces exported by OTLP over HTTP, as JSON (the OpenTelemetry exporter seqflow ships speaks only
 * that), from OpenTelemetry's standard variables
 * (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/ and
 * .../protocol/exporter/). On when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
 * is set, unless OTEL_SDK_DISABLED is true or OTEL_TRACES_EXPORTER is `none`.
 */
export interface TracingConfig {
  /** Where spans are POSTed: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given, else OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`. */
  url: string;
  /** OTEL_EXPORTER_OTLP_HEADERS(_FILE), with OTEL_EXPORTER_OTLP_TRACES_HEADERS(_FILE) over them: may carry credentials, never logged. */
  headers: Record<string, string>;
  /** Per export request, ms (OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, else OTEL_EXPORTER_OTLP_TIMEOUT; default 10 s). */
  timeoutMs: number;
  /** OTEL_EXPORTER_OTLP_TRACES_COMPRESSION, else OTEL_EXPORTER_OTLP_COMPRESSION (default none). */
  compression: 'gzip' | 'none';
  /** `service.name`: OTEL_SERVICE_NAME, else OTEL_RESOURCE_ATTRIBUTES's, else `seqflow`. */
  serviceName: string;
  /** OTEL_RESOURCE_ATTRIBUTES: more resource attributes of every span. */
  resourceAttributes: Record<string, string>;
  /** The batch span processor: OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_EXPORT_TIMEOUT (ms), OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE. */
  batch: { scheduledDelayMillis: number; exportTimeoutMillis: number; maxQueueSize: number; maxExportBatchSize: number };
}

/** Alerts to the upstream's SLACK_REPORTING_URL webhook; none when it is not set. */
export interface AlertSettings {
  url: string | undefined;
  /** Per webhook request (upstream: 5 s). */
  timeoutMs: number;
  /** Rejected RPC answers in a streak from which the `rpc-answers-rejected` problem is alerted. */
  rejectedAnswersThreshold: number;
  /** Alerts per market per minute at most; more wait their turn. */
  maxPerMinute: number;
}

export interface RelayerSettings {
  url: string;
  authToken: string;
  timeoutMs: number;
}

/** Reward bookkeeping settings; the workflows get them through an activity result. */
export interface RewardSettings {
  /** Slots per `/submitUpdateRewards` request. */
  batchSize: number;
  /** Periodic intra-day updates at epochs that are multiples of this. */
  epochInterval: number;
  /** Previous days the eligible-node catch-up checks. */
  pastDaysBuffer: number;
  /** Reward chunks in flight at once. */
  concurrentUpdates: number;
  /** Epochs of a new day before the previous day's final update. */
  dayTransitionBufferEpochs: number;
}

type Env = Record<string, string | undefined>;

/** Reads variables, collecting problems instead of throwing at the first one. */
class EnvReader {
  readonly problems: string[] = [];
  constructor(readonly env: Env) {}

  raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === '' ? undefined : value;
  }

  string(name: string, fallback?: string): string {
    const value = this.raw(name) ?? fallback;
    if (value === undefined) this.problems.push(`${name} is required`);
    return value ?? '';
  }

  /**
   * A secret: the variable `name`, or the content of the file `<name>_FILE` names (the Docker
   * secrets convention, so that the value need not sit in the environment), its trailing line
   * ends trimmed as `echo` and editors end a file. Problems name the variables and the path,
   * never the value.
   */
  secret(name: string, opts: { required: true }): string;
  secret(name: string): string | undefined;
  secret(name: string, opts: { required: boolean } = { required: false }): string | undefined {
    const fileName = `${name}_FILE`;
    // What a problem leaves: '' keeps a required secret a string, as string() does.
    const none = opts.required ? '' : undefined;
    const value = this.raw(name);
    const path = this.raw(fileName);
    if (value !== undefined && path !== undefined) {
      this.problems.push(`${name} and ${fileName} are both set: set one of them`);
      return none;
    }
    if (path === undefined) {
      if (value === undefined && opts.required) this.problems.push(`${name} is required`);
      return value ?? none;
    }
    let content: string;
    try {
      content = fs.readFileSync(path, 'utf8');
    } catch (err) {
      // Node's message names the path and the reason (ENOENT, EACCES, EISDIR), nothing of the content.
      this.problems.push(`${fileName}: cannot read it: ${(err as Error).message}`);
      return none;
    }
    const secret = content.replace(/(\r?\n)+$/, '');
    if (secret.trim() === '') {
      this.problems.push(`${fileName}: ${path} is empty`);
      return none;
    }
    return secret;
  }

  /** A decimal integer from `min` to `max` (both safe integers, so the value is exact). */
  integer(name: string, opts: { fallback?: number; min: number; max: number }): number {
    const text = this.raw(name);
    if (text === undefined) {
      if (opts.fallback !== undefined) return opts.fallback;
      this.problems.push(`${name} is required`);
      return opts.min;
    }
    if (!/^-?[0-9]+$/.test(text)) {
      this.problems.push(`${name} must be an integer, got ${JSON.stringify(text)}`);
      return opts.min;
    }
    // Compared as BigInt: 99999999999999999999 is no number Node can hold exactly.
    const value = BigInt(text);
    if (value < BigInt(opts.min) || value > BigInt(opts.max)) {
      this.problems.push(`${name} must be between ${opts.min} and ${opts.max}, got ${text}`);
      return opts.min;
    }
    return Number(value);
  }

  url(name: string, value: string | undefined = this.raw(name)): string {
    if (value === undefined) {
      this.problems.push(`${name} is required`);
      return '';
    }
    try {
      const url = new URL(value);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
    } catch {
      this.problems.push(`${name} must be an http(s) URL, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const text = this.raw(name);
    if (text === undefined) return fallback;
    // What Go's strconv.ParseBool accepts, as upstream parses these.
    if (/^(true|t|1)$/i.test(text)) return true;
    if (/^(false|f|0)$/i.test(text)) return false;
    this.problems.push(`${name} must be true or false, got ${JSON.stringify(text)}`);
    return fallback;
  }

  /** A JSON array of strings; like upstream, surrounding double quotes of elements are trimmed. */
  stringArray(name: string): string[] | undefined {
    const text = this.raw(name);
    if (text === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.problems.push(`${name} must be a JSON array of strings, got ${JSON.stringify(text)}`);
      return [];
    }
    if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string')) {
      this.problems.push(`${name} must be a JSON array of strings`);
      return [];
    }
    return parsed.map((v: string) => v.trim().replace(/^"+|"+$/g, '')).filter((v) => v !== '');
  }

  /**
   * OpenTelemetry's `key1=value1,key2=value2` list (W3C Baggage's format: keys and values
   * percent-encoded), as OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES take it.
   * `headerNames`: keys must be HTTP header names. Problems name the variable and the entry's
   * position, never its text (headers carry credentials).
   */
  keyValueList(name: string, text: string, opts: { headerNames: boolean }): Record<string, string> {
    const pairs: Record<string, string> = {};
    text.split(',').forEach((entry, index) => {
      if (entry.trim() === '') return;
      const at = entry.indexOf('=');
      let key = '';
      let value = '';
      try {
        key = decodeURIComponent(entry.slice(0, Math.max(at, 0)).trim());
        value = decodeURIComponent(entry.slice(at + 1).trim());
      } catch {
        this.problems.push(`${name}: entry ${index + 1} is not percent-encoded correctly`);
        return;
      }
      if (at <= 0 || key === '' || value === '') this.problems.push(`${name}: entry ${index + 1} is no key=value pair (a list of key=value, separated by commas)`);
      else if (opts.headerNames && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) this.problems.push(`${name}: entry ${index + 1} has a key that is no HTTP header name`);
      else pairs[key] = value;
    });
    return pairs;
  }

  /**
   * Any letter case is accepted (upstream demands EIP-55) and normalised to EIP-55; surrounding
   * double quotes are trimmed, as upstream does.
   */
  address(name: string, raw: string | undefined = this.raw(name)): string {
    if (raw === undefined) {
      this.problems.push(`${name} is required`);
      return '';
    }
    const value = raw.replace(/^"+|"+$/g, '');
    if (!isAddress(value.toLowerCase())) {
      this.problems.push(`${name} has an invalid address ${JSON.stringify(value)}`);
      return '';
    }
    return getAddress(value.toLowerCase());
  }
}

export function loadTemporalConfig(env: Env = process.env): TemporalConfig {
  const r = new EnvReader(env);
  const config = readTemporal(r);
  if (r.problems.length) throw new ConfigError(r.problems);
  return config;
}

/** The profile file's TLS path fields, each with the variable that overrides it. */
const TEMPORAL_TLS_FILES = {
  clientCert: ['TEMPORAL_TLS_CLIENT_CERT_PATH', 'client_cert_path'],
  clientKey: ['TEMPORAL_TLS_CLIENT_KEY_PATH', 'client_key_path'],
  serverCACert: ['TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'server_ca_cert_path'],
} as const;

/**
 * Temporal's own client configuration, read by @temporalio/envconfig as the `temporal` CLI and
 * every SDK read it: the TEMPORAL_* variables over a profile (TEMPORAL_PROFILE, else `default`)
 * of the TOML file TEMPORAL_CONFIG_FILE (else the user's temporalio/temporal.toml, if any), with
 * seqflow's defaults where neither says. What envconfig leaves to the first connect (an unreadable
 * file, a certificate without its key, a key not matching its certificate) is checked here, so
 * that the problem names its setting.
 */
function readTemporal(r: EnvReader): TemporalConfig {
  const taskQueue = r.string('TEMPORAL_TASK_QUEUE', 'seqflow');
  const apiKey = r.secret('TEMPORAL_API_KEY');
  // Blank counts as unset, as for every seqflow variable; the key may have come from its file.
  const env: Record<string, string> = {};
  for (const name of Object.keys(r.env)) {
    const value = r.raw(name);
    if (value !== undefined && name !== 'TEMPORAL_API_KEY' && name !== 'TEMPORAL_API_KEY_FILE') env[name] = value;
  }
  if (apiKey !== undefined) env.TEMPORAL_API_KEY = apiKey;
  for (const name of ['TEMPORAL_TLS', 'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION']) {
    // envconfig takes anything but `true` and `1` as false: TEMPORAL_TLS=TRUE would mean plain text.
    const value = env[name];
    if (value !== undefined && !['true', '1', 'false', '0'].includes(value)) r.problems.push(`${name} must be true, 1, false or 0, got ${JSON.stringify(value)}`);
  }
  if (env.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION === 'true' || env.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION === '1') {
    r.problems.push('TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: the TypeScript SDK always verifies the server\'s host name; set TEMPORAL_TLS_SERVER_NAME to the name its certificate has');
  }
  const configFile = env.TEMPORAL_CONFIG_FILE;
  if (configFile !== undefined) {
    // envconfig treats a missing file as no file: a mistyped path would go unnoticed.
    try {
      fs.accessSync(configFile, fs.constants.R_OK);
    } catch (err) {
      r.problems.push(`TEMPORAL_CONFIG_FILE: cannot read it: ${(err as Error).message}`);
    }
  }
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: env });
  } catch (err) {
    r.problems.push(`TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE: ${(err as Error).message}`);
    return { address: 'localhost:7233', namespace: 'default', taskQueue };
  }
  const config: TemporalConfig = { address: profile.address ?? 'localhost:7233', namespace: profile.namespace ?? 'default', taskQueue };
  const problemsBefore = r.problems.length;
  const pem: Partial<Record<keyof typeof TEMPORAL_TLS_FILES, string>> = {};
  for (const [field, [variable, key]] of Object.entries(TEMPORAL_TLS_FILES) as [keyof typeof TEMPORAL_TLS_FILES, (typeof TEMPORAL_TLS_FILES)[keyof typeof TEMPORAL_TLS_FILES]][]) {
    const source = profile.tls?.[field];
    if (source === undefined) continue;
    const setting = env[variable] !== undefined ? variable : `tls.${key} of profile "${env.TEMPORAL_PROFILE ?? 'default'}" (TEMPORAL_CONFIG_FILE)`;
    try {
      pem[field] = 'path' in source ? fs.readFileSync(source.path, 'utf8') : Buffer.from(source.data).toString('utf8');
    } catch (err) {
      r.problems.push(`${setting}: cannot read it: ${(err as Error).message}`);
    }
  }
  if (profile.tls?.disabled !== true) {
    if ((profile.tls?.clientCert === undefined) !== (profile.tls?.clientKey === undefined)) {
      r.problems.push('TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH go together: set both for a client certificate, or neither');
    } else if (pem.clientCert !== undefined && pem.clientKey !== undefined) {
      try {
        createSecureContext({ cert: pem.clientCert, key: pem.clientKey });
      } catch (err) {
        r.problems.push(`TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH: not a PEM certificate and its private key: ${(err as Error).message}`);
      }
    }
    if (pem.serverCACert !== undefined) {
      try {
        new X509Certificate(pem.serverCACert);
      } catch (err) {
        r.problems.push(`TEMPORAL_TLS_SERVER_CA_CERT_PATH: holds no PEM certificate: ${(err as Error).message}`);
      }
    }
  }
  if (r.problems.length > problemsBefore) return config;
  const { connectionOptions } = toClientOptions(profile);
  if (connectionOptions.tls) config.tls = connectionOptions.tls;
  if (connectionOptions.apiKey !== undefined) config.apiKey = connectionOptions.apiKey;
  if (profile.grpcMeta !== undefined) config.metadata = profile.grpcMeta;
  return config;
}

/** `DATA_MARKET_ADDRESSES`, needed by the worker and by the client's `start`. */
export function loadDataMarkets(env: Env = process.env): string[] {
  const r = new EnvReader(env);
  const markets = readDataMarkets(r);
  if (r.problems.length) throw new ConfigError(r.problems);
  return markets;
}

function readDataMarkets(r: EnvReader): string[] {
  const problemsBefore = r.problems.length;
  const list = r.stringArray('DATA_MARKET_ADDRESSES');
  if (r.problems.length > problemsBefore) return [];
  if (list === undefined || list.length === 0) {
    r.problems.push('DATA_MARKET_ADDRESSES is required: a non-empty JSON array of data market addresses');
    return [];
  }
  return [...new Set(list.map((a) => r.address('DATA_MARKET_ADDRESSES', a)).filter((a) => a !== ''))];
}

function readRpcNodes(r: EnvReader): string[] {
  let source = 'RPC_NODES';
  let nodes = r.stringArray('RPC_NODES') ?? [];
  if (nodes.length === 0) {
    source = 'PROST_RPC_URL';
    const single = r.raw('PROST_RPC_URL');
    if (single === undefined) r.problems.push('RPC_NODES (a JSON array of URLs) or PROST_RPC_URL is required');
    else nodes = [single];
  }
  return nodes.map((url) => r.url(source, url));
}

const readConfirmations = (r: EnvReader) => r.integer('CONFIRMATIONS', { fallback: 2, min: 0, max: 1000 });

/** What the CLI needs to read the chain head: the RPC nodes and CONFIRMATIONS. */
/** PROTOCOL_STATE_CONTRACT alone, as the worker reads it: the CLI's `start` checks each market against it. */
export function loadProtocolStateContract(env: Env = process.env): string {
  const r = new EnvReader(env);
  const contract = r.address('PROTOCOL_STATE_CONTRACT');
  if (r.problems.length) throw new ConfigError(r.problems);
  return contract;
}

export function loadChainAccess(env: Env = process.env): { rpcNodes: string[]; confirmations: number } {
  const r = new EnvReader(env);
  const access = { rpcNodes: readRpcNodes(r), confirmations: readConfirmations(r) };
  if (r.problems.length) throw new ConfigError(r.problems);
  return access;
}

export interface RedisSettings {
  host: string;
  port: number;
  db: number;
  password: string | undefined;
  /** REDIS_USERNAME: an ACL user (with REDIS_PASSWORD); absent: the default user. */
  username?: string;
  /** REDIS_TLS: connect over TLS; absent: plain TCP. */
  tls?: RedisTls;
}

/** PEM contents of the REDIS_TLS_*_FILE files, read at start-up; an absent CA: the system's. */
export interface RedisTls {
  ca?: string;
  cert?: string;
  key?: string;
}

const REDIS_TLS_FILES = { ca: 'REDIS_TLS_CA_FILE', cert: 'REDIS_TLS_CERT_FILE', key: 'REDIS_TLS_KEY_FILE' } as const;

function readRedis(r: EnvReader): RedisSettings {
  const settings: RedisSettings = {
    host: r.string('REDIS_HOST'),
    port: r.integer('REDIS_PORT', { min: 1, max: 65535 }),
    // Checked against the server at start-up (SELECT); the bound is Redis's own (an int).
    db: r.integer('REDIS_DB', { fallback: 0, min: 0, max: 2_147_483_647 }),
    password: r.secret('REDIS_PASSWORD'),
  };
  const username = r.raw('REDIS_USERNAME');
  if (username !== undefined) {
    // Redis has no password-less ACL login but the default user's: a username alone is a mistake.
    if (settings.password === undefined) r.problems.push('REDIS_USERNAME is set without REDIS_PASSWORD: an ACL user logs in with both');
    settings.username = username;
  }
  const tls = readRedisTls(r);
  if (tls !== undefined) settings.tls = tls;
  return settings;
}

/**
 * The TLS files are read and parsed now, so that a wrong path or a file of the wrong kind is a
 * problem naming its variable at start-up rather than a handshake failure at the first connect.
 */
function readRedisTls(r: EnvReader): RedisTls | undefined {
  const enabled = r.boolean('REDIS_TLS', false);
  const paths = Object.entries(REDIS_TLS_FILES).filter(([, name]) => r.raw(name) !== undefined);
  if (!enabled) {
    // A CA or certificate given with TLS off would otherwise be ignored, and Redis spoken to in clear.
    for (const [, name] of paths) r.problems.push(`${name} is set but REDIS_TLS is not true`);
    return undefined;
  }
  const tls: RedisTls = {};
  for (const [field, name] of paths) {
    try {
      tls[field as keyof RedisTls] = fs.readFileSync(r.raw(name)!, 'utf8');
    } catch (err) {
      r.problems.push(`${name}: cannot read it: ${(err as Error).message}`);
    }
  }
  if ((r.raw(REDIS_TLS_FILES.cert) === undefined) !== (r.raw(REDIS_TLS_FILES.key) === undefined)) {
    r.problems.push('REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together: set both for a client certificate, or neither');
  }
  if (tls.ca !== undefined) {
    try {
      new X509Certificate(tls.ca);
    } catch (err) {
      r.problems.push(`REDIS_TLS_CA_FILE: ${r.raw(REDIS_TLS_FILES.ca)} holds no PEM certificate: ${(err as Error).message}`);
    }
  }
  if (tls.cert !== undefined && tls.key !== undefined) {
    try {
      createSecureContext({ cert: tls.cert, key: tls.key });
    } catch (err) {
      r.problems.push(`REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE: not a PEM certificate and its private key: ${(err as Error).message}`);
    }
  }
  return tls;
}

export function loadWorkerConfig(env: Env = process.env): WorkerConfig {
  const r = new EnvReader(env);
  const config: WorkerConfig = {
    temporal: readTemporal(r),
    rpcNodes: readRpcNodes(r),
    protocolStateContract: r.address('PROTOCOL_STATE_CONTRACT'),
    dataMarkets: readDataMarkets(r),
    redis: readRedis(r),
    relayer: {
      url: r.url('TX_RELAYER_URL').replace(/\/+$/, ''),
      authToken: r.secret('TX_RELAYER_AUTH_WRITE_TOKEN', { required: true }),
      timeoutMs: r.integer('HTTP_TIMEOUT', { min: 1, max: 3600 }) * 1000,
    },
    // Projects per finalizer batch, each batch one queue message.
    batchSize: r.integer('BATCH_SIZE', { min: 1, max: 10_000 }),
    confirmations: readConfirmations(r),
    maxReorgDepth: r.integer('MAX_REORG_DEPTH', { fallback: 64, min: 1, max: 10_000 }),
    logRangeBlocks: r.integer('LOG_RANGE_BLOCKS', { fallback: 2000, min: 1, max: 100_000 }),
    pollIntervalMs: r.integer('POLL_INTERVAL_MS', { fallback: 1000, min: 1, max: 60_000 }),
    rescanDelayMs: r.integer('RESCAN_DELAY_SECONDS', { fallback: 30, min: 1, max: 86_400 }) * 1000,
    followerStallMs: r.integer('FOLLOWER_STALL_SECONDS', { fallback: 60, min: 1, max: 86_400 }) * 1000,
    windowCloseWaitMs: r.integer('WINDOW_CLOSE_WAIT_SECONDS', { fallback: 30, min: 0, max: 3600 }) * 1000,
    logLevel: r.string('LOG_LEVEL', 'info'),
    rewards: {
      batchSize: r.integer('REWARDS_UPDATE_BATCH_SIZE', { min: 1, max: 10_000 }),
      epochInterval: r.integer('REWARDS_UPDATE_EPOCH_INTERVAL', { min: 1, max: 1_000_000_000 }),
      pastDaysBuffer: r.integer('PAST_DAYS_BUFFER', { fallback: 5, min: 1, max: 365 }),
      concurrentUpdates: r.integer('CONCURRENT_SUBMISSION_COUNT_UPDATES', { fallback: 10, min: 1, max: 100 }),
      dayTransitionBufferEpochs: r.integer('DAY_TRANSITION_BUFFER_EPOCHS', { fallback: 5, min: 1, max: 10_000 }),
    },
    attestorQueuePushEnabled: r.boolean('ATTESTOR_QUEUE_PUSH_ENABLED', false),
    metrics: { host: r.string('METRICS_HOST', '0.0.0.0'), port: r.integer('METRICS_PORT', { fallback: 9464, min: 1, max: 65535 }) },
    readyMaxLagBlocks: r.integer('READY_MAX_LAG_BLOCKS', { fallback: 100, min: 0, max: 1_000_000 }),
    alerts: {
      url: r.raw('SLACK_REPORTING_URL') ? r.url('SLACK_REPORTING_URL') : undefined,
      timeoutMs: 5000,
      rejectedAnswersThreshold: r.integer('ALERT_RPC_REJECTIONS', { fallback: 20, min: 1, max: 1_000_000 }),
      maxPerMinute: r.integer('ALERT_MAX_PER_MINUTE', { fallback: 10, min: 1, max: 1000 }),
    },
  };
  const tracing = readTracing(r);
  if (tracing) config.tracing = tracing;
  const invalid = (name: string) => r.problems.some((p) => p.startsWith(`${name} `));
  if (!invalid('CONFIRMATIONS') && !invalid('MAX_REORG_DEPTH') && config.maxReorgDepth <= config.confirmations) {
    r.problems.push(`MAX_REORG_DEPTH (${config.maxReorgDepth}) must be greater than CONFIRMATIONS (${config.confirmations})`);
  }
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal'].includes(config.logLevel)) {
    r.problems.push(`LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, got ${JSON.stringify(config.logLevel)}`);
  }
  if (r.problems.length) throw new ConfigError(r.problems);
  return config;
}

/** The OTEL_* settings alone, as the CLI reads them (the worker's are in WorkerConfig): undefined when tracing is off. */
export function loadTracingConfig(env: Env = process.env): TracingConfig | undefined {
  const r = new EnvReader(env);
  const tracing = readTracing(r);
  if (r.problems.length) throw new ConfigError(r.problems);
  return tracing;
}

/** The traces-specific variable `OTEL_EXPORTER_OTLP_TRACES_<what>` if set, else the general `OTEL_EXPORTER_OTLP_<what>`. */
function otlpVariable(r: EnvReader, what: string): string {
  const specific = `OTEL_EXPORTER_OTLP_TRACES_${what}`;
  return r.raw(specific) !== undefined ? specific : `OTEL_EXPORTER_OTLP_${what}`;
}

function readTracing(r: EnvReader): TracingConfig | undefined {
  const disabled = r.boolean('OTEL_SDK_DISABLED', false);
  const exporter = r.raw('OTEL_TRACES_EXPORTER') ?? 'otlp';
  if (exporter !== 'otlp' && exporter !== 'none') r.problems.push(`OTEL_TRACES_EXPORTER must be otlp or none (seqflow exports traces by OTLP only), got ${JSON.stringify(exporter)}`);
  const endpointVariable = otlpVariable(r, 'ENDPOINT');
  const endpoint = r.raw(endpointVariable);
  if (endpoint === undefined || disabled || exporter !== 'otlp') return undefined;
  const problemsBefore = r.problems.length;
  // The exporter's own rule: the traces endpoint is taken as it is, the general one gets the signal's path.
  const url = endpointVariable === 'OTEL_EXPORTER_OTLP_ENDPOINT' ? `${endpoint}${endpoint.endsWith('/') ? '' : '/'}v1/traces` : endpoint;
  try {
    if (!['http:', 'https:'].includes(new URL(url).protocol)) throw new Error('not http');
  } catch {
    // Not echoed: an endpoint may carry credentials.
    r.problems.push(`${endpointVariable} must be an http(s) URL (OTLP over HTTP, e.g. http://collector:4318)`);
  }
  const protocolVariable = otlpVariable(r, 'PROTOCOL');
  const protocol = r.raw(protocolVariable);
  if (protocol !== undefined && protocol !== 'http/json') {
    r.problems.push(`${protocolVariable} must be http/json: seqflow exports OTLP over HTTP as JSON (a collector's port 4318 takes it), got ${JSON.stringify(protocol)}`);
  }
  const headers: Record<string, string> = {};
  for (const name of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS']) {
    const text = r.secret(name);
    if (text !== undefined) Object.assign(headers, r.keyValueList(name, text, { headerNames: true }));
  }
  const compressionVariable = otlpVariable(r, 'COMPRESSION');
  const compression = r.raw(compressionVariable) ?? 'none';
  if (compression !== 'gzip' && compression !== 'none') r.problems.push(`${compressionVariable} must be gzip or none, got ${JSON.stringify(compression)}`);
  const resourceText = r.raw('OTEL_RESOURCE_ATTRIBUTES');
  const resourceAttributes = resourceText === undefined ? {} : r.keyValueList('OTEL_RESOURCE_ATTRIBUTES', resourceText, { headerNames: false });
  const batch = {
    scheduledDelayMillis: r.integer('OTEL_BSP_SCHEDULE_DELAY', { fallback: 5000, min: 1, max: 3_600_000 }),
    exportTimeoutMillis: r.integer('OTEL_BSP_EXPORT_TIMEOUT', { fallback: 30_000, min: 1, max: 3_600_000 }),
    maxQueueSize: r.integer('OTEL_BSP_MAX_QUEUE_SIZE', { fallback: 2048, min: 1, max: 1_000_000 }),
    maxExportBatchSize: r.integer('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', { fallback: 512, min: 1, max: 1_000_000 }),
  };
  if (batch.maxExportBatchSize > batch.maxQueueSize) {
    r.problems.push(`OTEL_BSP_MAX_EXPORT_BATCH_SIZE (${batch.maxExportBatchSize}) must not exceed OTEL_BSP_MAX_QUEUE_SIZE (${batch.maxQueueSize})`);
  }
  const config: TracingConfig = {
    url,
    headers,
    timeoutMs: r.integer(otlpVariable(r, 'TIMEOUT'), { fallback: 10_000, min: 1, max: 600_000 }),
    compression: compression === 'gzip' ? 'gzip' : 'none',
    serviceName: r.raw('OTEL_SERVICE_NAME') ?? resourceAttributes['service.name'] ?? 'seqflow',
    resourceAttributes,
    batch,
  };
  return r.problems.length > problemsBefore ? undefined : config;
}

/** The read API process (`seqflow api`): what it reads, whom it answers, where it listens. */
export interface ApiConfig {
  /** For the contract reads: dayCounter when CurrentDayKey is missing, slotSubmissionCount. */
  rpcNodes: string[];
  protocolStateContract: string;
  /** EIP-55 addresses, in the configured order, without duplicates: the markets the API answers for. */
  dataMarkets: string[];
  redis: WorkerConfig['redis'];
  /** AUTH_READ_TOKEN: the `token` every request must carry. */
  authReadToken: string;
  /**
   * API_HOST as upstream uses it: the host (and port) clients reach the API at, put in the
   * OpenAPI document as its server, `https://<API_HOST>` (a value with a scheme is taken as it
   * is); undefined: the document names no server, and Swagger UI calls the host it came from.
   */
  publicUrl: string | undefined;
  /** API_LISTEN_HOST, API_PORT: where the server listens (upstream: every interface, port 8080). */
  listen: { host: string; port: number };
  logLevel: string;
}

export function loadApiConfig(env: Env = process.env): ApiConfig {
  const r = new EnvReader(env);
  const config: ApiConfig = {
    rpcNodes: readRpcNodes(r),
    protocolStateContract: r.address('PROTOCOL_STATE_CONTRACT'),
    dataMarkets: readDataMarkets(r),
    redis: readRedis(r),
    authReadToken: r.secret('AUTH_READ_TOKEN', { required: true }),
    publicUrl: readPublicUrl(r),
    listen: { host: r.string('API_LISTEN_HOST', '0.0.0.0'), port: r.integer('API_PORT', { fallback: 8080, min: 1, max: 65535 }) },
    logLevel: r.string('LOG_LEVEL', 'info'),
  };
  const levels = Object.keys(pino.levels.values);
  if (!levels.includes(config.logLevel)) r.problems.push(`LOG_LEVEL must be one of ${levels.join(', ')}, got ${JSON.stringify(config.logLevel)}`);
  if (r.problems.length) throw new ConfigError(r.problems);
  return config;
}

function readPublicUrl(r: EnvReader): string | undefined {
  const host = r.raw('API_HOST');
  if (host === undefined) return undefined;
  const url = /^https?:\/\//i.test(host) ? host : `https://${host}`;
  try {
    if (new URL(url).host === '') throw new Error('no host');
  } catch {
    r.problems.push(`API_HOST must be a host name (with an optional port) or an http(s) URL, got ${JSON.stringify(host)}`);
  }
  return url;
}
