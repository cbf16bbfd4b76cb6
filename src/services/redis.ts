/**
 * The worker's Redis connection. At start-up it is checked against the server (reachable,
 * authenticated, `REDIS_DB` a database the server has), each failure a ConfigError naming its
 * variable. Afterwards an outage is logged once when it starts and once when it ends (ioredis
 * reports every failed reconnect), and while it lasts `outage` says since when and why: the
 * follower shows it as the market's `redis-unavailable` problem.
 */
import { Redis } from 'ioredis';
import { ConfigError, type WorkerConfig } from '../config.js';
import { STARTUP_WAIT_MS } from './startup.js';

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
    private readonly settings: WorkerConfig['redis'],
    private readonly logger: ConnectionLogger,
  ) {
    // No retries inside ioredis: a command the connection lost fails at its next reconnect
    // attempt (within seconds), and Temporal retries the activity, named as a Redis outage.
    this.client = new Redis({ host: settings.host, port: settings.port, db: settings.db, password: settings.password, maxRetriesPerRequest: 0 });
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

  /** Waits until Redis answers and checks the database index against the server; a ConfigError names the variable at fault. */
  async open(): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const auth = /WRONGPASS|NOAUTH|invalid password|AUTH/i.test(this.lastError);
        reject(new ConfigError([auth ? `REDIS_PASSWORD: Redis at ${this.address} refused it: ${this.lastError}` : `REDIS_HOST, REDIS_PORT: no Redis answers at ${this.address} within ${STARTUP_WAIT_MS / 1000} s: ${this.lastError}`]));
      }, STARTUP_WAIT_MS);
      this.client.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (this.client.status !== 'ready') await ready;
    try {
      // ioredis reports a failed SELECT only as an event, then runs every command on database 0.
      await this.client.select(this.settings.db);
    } catch (err) {
      throw new ConfigError([`REDIS_DB: Redis at ${this.address} has no database ${this.settings.db}: ${(err as Error).message}`]);
    }
    this.started = true;
  }

  close(): void {
    this.started = false;
    this.client.disconnect();
  }
}
