/**
 * An activity that fails while the worker's Redis is unreachable fails as `RedisUnavailable`,
 * whatever error the command gave (ioredis's retry limit, a closed connection): Temporal retries
 * it as usual, and `status` shows the outage as the market's `redis-unavailable` problem from
 * the pending activity, also when the market waits in an activity other than the follower.
 * An ACL denial is named too (namingRedisDenial), so that the activity's last failure says which
 * command and keys the Redis user lacks.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import { namingRedisDenial, type RedisStatus } from '../services/redis.js';

/** The failure type; its details are `[sinceMs]`, when the outage began (wall clock, ms). */
export const REDIS_UNAVAILABLE = 'RedisUnavailable';

type AnyActivity = (...args: never[]) => Promise<unknown>;

/** The same activities, their failures during a Redis outage named as such (retryable). */
export function namingRedisOutage<T extends Record<string, AnyActivity>>(redis: RedisStatus, activities: T): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, run]) => [
      name,
      async (...args: never[]) => {
        try {
          return await run(...args);
        } catch (err) {
          namingRedisDenial(err);
          const outage = redis.outage;
          // A refusal stays a refusal, a cancellation a cancellation.
          if (!outage || err instanceof CancelledFailure || (err instanceof ApplicationFailure && err.nonRetryable)) throw err;
          throw ApplicationFailure.create({
            type: REDIS_UNAVAILABLE,
            message: `the worker cannot reach Redis: ${outage.lastError}`,
            details: [outage.sinceMs],
            cause: err instanceof Error ? err : undefined,
          });
        }
      },
    ]),
  ) as T;
}
