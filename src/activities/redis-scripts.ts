/**
 * Lua scripts that make an epoch's Redis effects atomic, so that an activity that runs twice
 * (a retry after a crash or a timeout) can never count or push twice.
 *
 * Redis runs a script's commands up to the first error and keeps what they wrote, so each
 * script checks every key it writes (its type, a counter's value) before its first write: a
 * key of the wrong type (an operator's mistake, a neighbour's bug) fails the script with
 * nothing written and nothing marked done, and the activity retries until the key is repaired.
 */
import type { Redis } from 'ioredis';

/** A read of `key`: a WRONGTYPE error names the key (Redis's own message does not). */
export async function readingKey<T>(key: string, read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('WRONGTYPE')) err.message = `WRONGTYPE ${key} holds a value of another type: ${err.message}`;
    throw err;
  }
}

/** Lua: `expect(key, type...)` raises an error reply unless the key is absent or of one of the types. */
const EXPECT = `
local function expect(key, ...)
  local found = redis.call('TYPE', key).ok
  if found == 'none' then return end
  for _, want in ipairs({...}) do if found == want then return end end
  error({err = 'WRONGTYPE ' .. key .. ' holds a ' .. found .. ', not a ' .. table.concat({...}, ' or ') .. ': nothing written'})
end
`;

/**
 * KEYS: guard, batch count, N batch keys, then slot counter keys.
 * ARGV: summary, guard TTL, batch count, count TTL, batch TTL, N, N batch JSONs, then one
 * increment per slot key (slot key j sits at ARGV[4 + j]).
 * Returns the stored summary if the guard exists (nothing written), else nil after writing all.
 * (SET replaces a key of any type: only the guard and the counters can refuse a write.)
 */
const storeEpochBatches = `${EXPECT}
expect(KEYS[1], 'string')
local summary = redis.call('GET', KEYS[1])
if summary then return summary end
local n = tonumber(ARGV[6])
for j = 3 + n, #KEYS do
  expect(KEYS[j], 'string')
  local count = redis.call('GET', KEYS[j])
  if count and not string.match(count, '^%-?%d+$') then
    error({err = 'ERR ' .. KEYS[j] .. ' holds ' .. count .. ', not a counter: nothing written'})
  end
end
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
const pushOncePerMember = `${EXPECT}
expect(KEYS[1], 'set')
expect(KEYS[2], 'list')
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

/** KEYS: the update's hash. ARGV: TTL, meta JSON, then each chunk's JSON. Stores the chunks unless stored already; returns the stored meta. */
const storeRewardUpdateOnce = `${EXPECT}
expect(KEYS[1], 'hash')
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HGET', KEYS[1], 'meta') end
redis.call('HSET', KEYS[1], 'meta', ARGV[2])
for i = 3, #ARGV do redis.call('HSET', KEYS[1], tostring(i - 3), ARGV[i]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return ARGV[2]
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

    /** Stores a reward update's chunks (hash field i: chunk i, `meta`: the update) unless stored; returns the stored meta. */
    async storeRewardUpdateOnce(key: string, ttlSeconds: number, meta: string, chunks: string[]): Promise<string> {
      return (await redis.eval(storeRewardUpdateOnce, 1, key, ttlSeconds, meta, ...chunks)) as string;
    },

    /** LPUSHes each message unless its member (a BatchID, a batch CID) is in the guard set already. */
    async pushOncePerMember(guardSetKey: string, queueKey: string, ttlSeconds: number, messages: Array<{ member: string; message: string }>): Promise<number> {
      const args = messages.flatMap((m) => [m.member, m.message]);
      return (await redis.eval(pushOncePerMember, 2, guardSetKey, queueKey, ttlSeconds, ...args)) as number;
    },
  };
}
