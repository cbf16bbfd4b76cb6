/**
 * Lua scripts that make an epoch's Redis effects atomic, so that an activity that runs twice
 * (a retry after a crash or a timeout) can never count or push twice.
 */
import type { Redis } from 'ioredis';

/**
 * KEYS: guard, batch count, N batch keys, then slot counter keys.
 * ARGV: summary, guard TTL, batch count, count TTL, batch TTL, N, N batch JSONs, then one
 * increment per slot key (slot key j sits at ARGV[4 + j]).
 * Returns the stored summary if the guard exists (nothing written), else nil after writing all.
 */
const storeEpochBatches = `
local summary = redis.call('GET', KEYS[1])
if summary then return summary end
local n = tonumber(ARGV[6])
for i = 1, n do redis.call('SET', KEYS[2 + i], ARGV[6 + i], 'EX', ARGV[5]) end
for j = 3 + n, #KEYS do redis.call('INCRBY', KEYS[j], ARGV[4 + j]) end
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false
`;

/**
 * KEYS: a guard set, a queue. ARGV: guard TTL, then pairs of (member, message) in push order.
 * Each message is LPUSHed only if its member was not yet in the guard set, and the member is
 * added in the same atomic step. Returns how many were pushed now.
 */
const pushOncePerMember = `
local pushed = 0
for i = 2, #ARGV, 2 do
  if redis.call('SADD', KEYS[1], ARGV[i]) == 1 then
    redis.call('LPUSH', KEYS[2], ARGV[i + 1])
    pushed = pushed + 1
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return pushed
`;

export interface EpochBatchWrite {
  guardKey: string;
  summary: string;
  guardTtlSeconds: number;
  batchCountKey: string;
  batchCountTtlSeconds: number;
  batches: Array<{ key: string; json: string }>;
  batchTtlSeconds: number;
  slotIncrements: Array<{ key: string; by: number }>;
}

export function createRedisScripts(redis: Redis) {
  return {
    /** Writes slot counts, batches and the batch count at once; returns the earlier summary if already done. */
    async storeEpochBatches(w: EpochBatchWrite): Promise<string | null> {
      const keys = [w.guardKey, w.batchCountKey, ...w.batches.map((b) => b.key), ...w.slotIncrements.map((s) => s.key)];
      const args = [
        w.summary,
        w.guardTtlSeconds,
        w.batches.length,
        w.batchCountTtlSeconds,
        w.batchTtlSeconds,
        w.batches.length,
        ...w.batches.map((b) => b.json),
        ...w.slotIncrements.map((s) => s.by),
      ];
      return (await redis.eval(storeEpochBatches, keys.length, ...keys, ...args)) as string | null;
    },

    /** LPUSHes each message unless its member (a BatchID, a batch CID) is in the guard set already. */
    async pushOncePerMember(guardSetKey: string, queueKey: string, ttlSeconds: number, messages: Array<{ member: string; message: string }>): Promise<number> {
      const args = messages.flatMap((m) => [m.member, m.message]);
      return (await redis.eval(pushOncePerMember, 2, guardSetKey, queueKey, ttlSeconds, ...args)) as number;
    },
  };
}
