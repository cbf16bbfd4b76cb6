/**
 * The worker's (and the read API's) Redis connection, over TLS when REDIS_TLS is true, as an ACL
 * user when REDIS_USERNAME is set. At start-up it is checked against the server (reachable, its
 * certificate trusted and ours accepted, authenticated, `REDIS_DB` a database the server has),
 * each failure a ConfigError naming its variables; a refused certificate or login fails at once,
 * as waiting cannot cure it, an unreachable server after the start-up wait. Afterwards an outage is logged once when it starts and once when it ends (ioredis
 * reports every failed reconnect), and while it lasts `outage` says since when and why: the
 * follower shows it as the market's `redis-unavailable` problem.
 */
import { Redis } from 'ioredis';
import { ConfigError, type RedisSettings } from '../config.js';
import { STARTUP_WAIT_MS } from './startup.js';

/**
 * The ACL rules of a least-privilege Redis user for seqflow (worker and read API): the commands
 * seqflow sends (ioredis's HELLO and AUTH need no rule; INFO is its ready check, SELECT our
 * REDIS_DB check; TYPE, EXISTS, INCRBY, LPUSH run inside the Lua scripts, which Redis checks
 * command by command) and the keys of src/domain/keys.ts and src/api/keys.ts: read and write
 * (`~`) for what seqflow writes, read-only (`%R~`) for what the dequeuer, the finalizer and the
 * snapshotters write. The README's recipe quotes this line; the TLS test creates its user with it.
 */
export const REDIS_ACL_RULES = [
  'resetkeys', 'resetchannels', '-@all',
  '+info', '+select', '+multi', '+exec', '+eval',
  '+get', '+strlen', '+set', '+mget', '+del', '+exists', '+type', '+expire', '+incrby',
  '+sadd', '+smembers', '+scard', '+sscan', '+sismember', '+lpush',
  '+hset', '+hget', '+hmget', '+hgetall', '+zadd', '+zrangebyscore', '+zremrangebyscore',
  '~seqflow:*', '~finalizerQueue', '~attestorQueue', '~BlockHashByNumberKey.*',
  '~SlotSubmissionsKey.*', '~BatchCountKey.*', '~BatchSubmissionsKey.*', '~CurrentDayKey.*', '~LastKnownDayKey.*',
  '~ZeroCountKey.*', '~SubmissionLimitTable', '~DaySizeTableKey', '~DailySnapshotQuotaTableKey', '~ProtocolState.*.EpochsInADay',
  '%R~SnapshotCollector.*', '%R~EligibleNodeByDayKey.*', '%R~EligibleSlotSubmissionsKey.*', '%R~TotalNodesCount',
  '%R~EpochSubmissionsKey.*', '%R~EligibleSlotSubmissionByEpochKey.*', '%R~DiscardedSubmissionKey.*',
  '%R~LastSimulatedSubmissionKey.*', '%R~LastSnapshotSubmissionKey.*', '%R~snapshotter:*:node_version', '%R~ActiveSnapshottersForEpoch.*',
].join(' ');

/**
 * Names what an ACL denial denied: Redis says only that some key or command was refused, in a
 * Lua script not even with NOPERM. The message gains the command and its keys (a script's:
 * every key it was given), in place as readingKey does for WRONGTYPE; other errors are left.
 */
export function namingRedisDenial(err: unknown): void {
  if (!(err instanceof Error)) return;
  const denied = (e: unknown): e is Error & { command?: { name: string; args: unknown[] } } =>
    e instanceof Error && /^NOPERM|user executing the script can't/.test(e.message);
  // A transaction refused at queueing time fails as EXECABORT; ioredis keeps the refusals.
  const cause = denied(err) ? err : (err as { previousErrors?: unknown[] }).previousErrors?.find(denied);
  if (cause === undefined || !denied(cause) || cause.command === undefined) return;
  const { name, args } = cause.command;
  const upper = name.toUpperCase();
  const keys = upper === 'EVAL' || upper === 'EVALSHA' ? args.slice(2, 2 + Number(args[1])) : ['MGET', 'DEL', 'EXISTS'].includes(upper) ? args : args.slice(0, 1);
  err.message = `NOPERM the Redis user (REDIS_USERNAME) may not run ${upper} on ${keys.map(String).join(', ')}, or a command the script runs (see the ACL rules in the README): ${cause.message}`;
}

export interface RedisOutage {
  /** Wall clock. */
  sinceMs: number;
  lastError: string;
}

/** What the follower asks about the worker's Redis connection. */
export interface RedisStatus {
  /** The outage going on, if any. */
  readonly outage: RedisOutage | null;
}

/** Where the connection logs its outages (a pino logger). */
export interface ConnectionLogger {
  warn(fields: object, message: string): void;
  info(fields: object, message: string): void;
}

export class RedisConnection implements RedisStatus {
  readonly client: Redis;
  private started = false;
  private connected = false;
  private down: RedisOutage | null = null;
  private lastError = 'not connected yet';

  constructor(
    private readonly settings: RedisSettings,
    private readonly logger: ConnectionLogger,
  ) {
    // No retries inside ioredis: a command the connection lost fails at its next reconnect
    // attempt (within seconds), and Temporal retries the activity, named as a Redis outage.
    this.client = new Redis({
      host: settings.host,
      port: settings.port,
      db: settings.db,
      username: settings.username,
      password: settings.password,
      // Node's defaults otherwise: the server's certificate checked against the CA and REDIS_HOST.
      tls: settings.tls,
      maxRetriesPerRequest: 0,
    });
    this.client.on('error', (err: Error) => {
      this.lastError = err.message;
      this.wentDown();
    });
    this.client.on('close', () => {
      // Only an established connection's close is news; after a failed attempt the error says why.
      if (this.connected) this.lastError = `the connection to ${this.address} closed`;
      this.connected = false;
      this.wentDown();
    });
    this.client.on('ready', () => {
      this.connected = true;
      if (!this.started || this.down === null) return;
      this.logger.info({ redis: this.address, downForMs: Date.now() - this.down.sinceMs }, 'Redis is available again');
      this.down = null;
    });
  }

  private get address(): string {
    return `${this.settings.host}:${this.settings.port}`;
  }

  private wentDown(): void {
    if (!this.started || this.down !== null) return;
    this.down = { sinceMs: Date.now(), lastError: this.lastError };
    this.logger.warn({ redis: this.address, error: this.lastError }, 'Redis is unavailable: effects wait until it is back');
  }

  get outage(): RedisOutage | null {
    return this.down && { ...this.down, lastError: this.lastError };
  }

  /**
   * What a start-up error says about the configuration, naming its variables, if waiting cannot
   * cure it: a certificate refused either way, or a refused login. Undefined for the rest
   * (refused connections, resets while a compose stack starts), which the start-up wait outlasts.
   */
  private refusal(err: Error & { code?: string }): string | undefined {
    const code = err.code ?? '';
    const at = `Redis at ${this.address}`;
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH') return `REDIS_HOST, REDIS_TLS_CA_FILE: ${at} has a certificate for another name: ${err.message}`;
    // The server's alert that it refused our certificate, or wanted one we did not send.
    if (/^ERR_SSL_.*ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|UNSUPPORTED_CERTIFICATE)$/.test(code)) {
      return `REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE: ${at} refused the client certificate${this.settings.tls?.cert === undefined ? ' (none is configured)' : ''}: ${err.message}`;
    }
    if (code.startsWith('ERR_SSL_')) return `REDIS_TLS: no TLS session with ${at} (is it a TLS port?): ${err.message}`;
    // OpenSSL's verification results, as Node names them (UNABLE_TO_VERIFY_LEAF_SIGNATURE, SELF_SIGNED_CERT_IN_CHAIN, CERT_HAS_EXPIRED, ...).
    if (/CERT|UNABLE_TO_|INVALID_CA|INVALID_PURPOSE|PATH_LENGTH_EXCEEDED/.test(code)) {
      return `REDIS_TLS_CA_FILE: ${at} has a certificate that ${this.settings.tls?.ca === undefined ? "the system's CAs do" : 'REDIS_TLS_CA_FILE does'} not trust: ${err.message}`;
    }
    if (/^(WRONGPASS|NOAUTH)/.test(err.message)) {
      return this.settings.username === undefined ? `REDIS_PASSWORD: ${at} refused it: ${err.message}` : `REDIS_USERNAME, REDIS_PASSWORD: ${at} refused them: ${err.message}`;
    }
    return undefined;
  }

  /** Waits until Redis answers and checks the database index against the server; a ConfigError names the variables at fault. */
  async open(): Promise<void> {
    if (this.client.status !== 'ready') {
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          this.client.off('error', onError);
          this.client.off('ready', onReady);
        };
        const onReady = () => {
          done();
          resolve();
        };
        const onError = (err: Error) => {
          const problem = this.refusal(err);
          if (problem === undefined) return;
          done();
          reject(new ConfigError([problem]));
        };
        const timer = setTimeout(() => {
          done();
          reject(new ConfigError([`REDIS_HOST, REDIS_PORT: no Redis answers at ${this.address} within ${STARTUP_WAIT_MS / 1000} s: ${this.lastError}`]));
        }, STARTUP_WAIT_MS);
        this.client.on('error', onError);
        this.client.once('ready', onReady);
      });
    }
    try {
      // ioredis reports a failed SELECT only as an event, then runs every command on database 0.
      await this.client.select(this.settings.db);
    } catch (err) {
      const message = (err as Error).message;
      if (message.startsWith('NOPERM')) throw new ConfigError([`REDIS_USERNAME: Redis at ${this.address} does not let ${this.settings.username ?? 'the default user'} run SELECT (see the ACL rules in the README): ${message}`]);
      throw new ConfigError([`REDIS_DB: Redis at ${this.address} has no database ${this.settings.db}: ${message}`]);
    }
    this.started = true;
  }

  close(): void {
    this.started = false;
    this.client.disconnect();
  }
}
