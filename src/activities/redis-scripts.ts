/**
 * Lua scripts that make each of an epoch's Redis effects happen once, so that an activity that
 * runs twice (a retry after a crash or a timeout) can never count or push twice. Each does a
 * bounded part of an epoch (one chunk of its plan, some of its pushes), so that none holds
 * Redis for long; each starts with a `-- seqflow <name>` line, which names it in the slow log.
 *
 * Redis runs a script's commands up to the first error and keeps what they wrote, so each
 * script checks every key it writes (its type, a counter's value) before its first write: a
 * key of the wrong type (an operator's mistake, a neighbour's bug) fails the script with
 * nothing written and nothing marked done, and the activity retries until the key is repaired.
 */
import type { Redis } from 'ioredis';

/** The error of a command on `key`, a WRONGTYPE one naming the key (Redis's own message does not), in place. */
export function namingWrongType(key: string, err: unknown): unknown {
  if (err instanceof Error && err.message.startsWith('WRONGTYPE')) err.message = `WRONGTYPE ${key} holds a value of another type: ${err.message}`;
  return err;
}

/** A read of `key`: a WRONGTYPE error names the key. */
export async function readingKey<T>(key: string, read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch (err) {
    throw namingWrongType(key, err);
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
 * KEYS: the applied-chunks set, the chunk's hash, the guard, the batch count, the chunk's N batch
 * keys (BatchIDs first..first + N - 1), then its slot counter keys.
 * ARGV: chunk index, chunk count, first BatchID, N, batch TTL, guard TTL, count TTL, batch count,
 * summary, then one increment per slot key (slot key j sits at ARGV[5 + j - N]).
 * Unless the chunk is applied already (returns 0): SETs each batch from the chunk's hash, INCRBYs
 * the counters, marks the chunk applied and deletes its hash; the chunk that completes the set
 * also SETs the batch count and the guard (returns 2, else 1). Returns -1, writing nothing, when
 * the chunk's hash lacks a batch (the plan expired). (SET replaces a key of any type: only the
 * set, the hash, the guard and the counters can refuse a write.)
 */
const applyEpochChunk = `-- seqflow applyEpochChunk${EXPECT}
expect(KEYS[1], 'set')
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end
expect(KEYS[2], 'hash')
expect(KEYS[3], 'string')
local first, n = tonumber(ARGV[3]), tonumber(ARGV[4])
local batches = {}
for i = 1, n do
  batches[i] = redis.call('HGET', KEYS[2], tostring(first + i - 1))
  if not batches[i] then return -1 end
end
for j = 5 + n, #KEYS do
  expect(KEYS[j], 'string')
  local count = redis.call('GET', KEYS[j])
  if count and not string.match(count, '^%-?%d+$') then
    error({err = 'ERR ' .. KEYS[j] .. ' holds ' .. count .. ', not a counter: nothing written'})
  end
end
for i = 1, n do redis.call('SET', KEYS[4 + i], batches[i], 'EX', ARGV[5]) end
for j = 5 + n, #KEYS do redis.call('INCRBY', KEYS[j], ARGV[5 + j - n]) end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('DEL', KEYS[2])
if redis.call('SCARD', KEYS[1]) < tonumber(ARGV[2]) then return 1 end
redis.call('SET', KEYS[4], ARGV[8], 'EX', ARGV[7])
redis.call('SET', KEYS[3], ARGV[9], 'EX', ARGV[6])
return 2
`;

/**
 * KEYS: the pushed-batches guard set, the queue, then N batch keys. ARGV: guard TTL, the member
 * of the batch before these (empty for an epoch's first), then per batch key its member (the
 * BatchID) and the message's bytes before and after the batch JSON. Pushes nothing and returns
 * {-2} unless the batch before is in the guard set: the scripts of an epoch are sent together,
 * and none may push past a batch not pushed. Then, writing nothing: every batch not yet in the
 * guard set must exist, else returns {-1, member...} of those missing. Then, in order, LPUSHes
 * head .. batch .. tail for each batch not yet pushed and adds its member. Returns {pushed}.
 */
const pushBatchRange = `-- seqflow pushBatchRange${EXPECT}
expect(KEYS[1], 'set')
expect(KEYS[2], 'list')
if ARGV[2] ~= '' and redis.call('SISMEMBER', KEYS[1], ARGV[2]) == 0 then return {-2} end
local missing, due = {}, {}
for i = 3, #KEYS do
  if redis.call('SISMEMBER', KEYS[1], ARGV[3 * i - 6]) == 0 then
    local found = redis.call('TYPE', KEYS[i]).ok
    if found == 'none' then missing[#missing + 1] = ARGV[3 * i - 6]
    elseif found == 'string' then due[#due + 1] = i
    else expect(KEYS[i], 'string') end
  end
end
if #missing > 0 then
  table.insert(missing, 1, -1)
  return missing
end
for _, i in ipairs(due) do
  redis.call('SADD', KEYS[1], ARGV[3 * i - 6])
  redis.call('LPUSH', KEYS[2], ARGV[3 * i - 5] .. redis.call('GET', KEYS[i]) .. ARGV[3 * i - 4])
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return {#due}
`;

/**
 * KEYS: a guard set, a queue. ARGV: guard TTL, then pairs of (member, message) in push order.
 * Each message is LPUSHed only if its member was not yet in the guard set, and the member is
 * added in the same atomic step. Returns how many were pushed now.
 */
const pushOncePerMember = `-- seqflow pushOncePerMember${EXPECT}
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
const storeRewardUpdateOnce = `-- seqflow storeRewardUpdateOnce${EXPECT}
expect(KEYS[1], 'hash')
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HGET', KEYS[1], 'meta') end
redis.call('HSET', KEYS[1], 'meta', ARGV[2])
for i = 3, #ARGV do redis.call('HSET', KEYS[1], tostring(i - 3), ARGV[i]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return ARGV[2]
`;

/** One chunk of an epoch's plan, as applyEpochChunk applies it. */
export interface EpochChunkWrite {
  appliedSetKey: string;
  chunkKey: string;
  chunk: number;
  chunkCount: number;
  guardKey: string;
  summary: string;
  guardTtlSeconds: number;
  batchCountKey: string;
  batchCount: number;
  batchCountTtlSeconds: number;
  firstBatch: number;
  /** BatchSubmissionsKey of firstBatch, firstBatch + 1, ... */
  batchKeys: string[];
  batchTtlSeconds: number;
  slotIncrements: Array<{ key: string; by: number }>;
}

/** What applying a chunk did: `completed` when it was the epoch's last, `gone` when the plan's hash lacked a batch. */
export type ChunkApplied = 'already' | 'applied' | 'completed' | 'gone';

/** One finalizer batch for pushBatchRange: its key, guard member and the message around it. */
export interface BatchPush {
  key: string;
  member: string;
  head: string;
  tail: string;
}

export function createRedisScripts(redis: Redis) {
  return {
    /** Applies one chunk of an epoch's plan once; see applyEpochChunk above. */
    async applyEpochChunk(w: EpochChunkWrite): Promise<ChunkApplied> {
      const keys = [w.appliedSetKey, w.chunkKey, w.guardKey, w.batchCountKey, ...w.batchKeys, ...w.slotIncrements.map((s) => s.key)];
      const args = [w.chunk, w.chunkCount, w.firstBatch, w.batchKeys.length, w.batchTtlSeconds, w.guardTtlSeconds, w.batchCountTtlSeconds, w.batchCount, w.summary, ...w.slotIncrements.map((s) => s.by)];
      const status = (await redis.eval(applyEpochChunk, keys.length, ...keys, ...args)) as number;
      return (({ 0: 'already', 1: 'applied', 2: 'completed', [-1]: 'gone' }) as const)[status as 0 | 1 | 2 | -1];
    },

    /**
     * LPUSHes the batches not yet in the guard set, in order, each once, if the batch before them
     * (`after`, a member; '' for none) was pushed: `blocked` if it was not, `missing` the members
     * of those gone from Redis before they were pushed (then nothing was pushed).
     */
    async pushBatchRange(guardSetKey: string, queueKey: string, ttlSeconds: number, after: string, batches: BatchPush[]): Promise<{ pushed: number } | { missing: string[] } | { blocked: true }> {
      const args = batches.flatMap((b) => [b.member, b.head, b.tail]);
      const reply = (await redis.eval(pushBatchRange, 2 + batches.length, guardSetKey, queueKey, ...batches.map((b) => b.key), ttlSeconds, after, ...args)) as [number, ...unknown[]];
      if (reply[0] === -2) return { blocked: true };
      if (reply[0] === -1) return { missing: reply.slice(1).map(String) };
      return { pushed: reply[0] };
    },

    /** Stores a reward update's chunks (hash field i: chunk i, `meta`: the update) unless stored; returns the stored meta. */
    async storeRewardUpdateOnce(key: string, ttlSeconds: number, meta: string, chunks: string[]): Promise<string> {
      return (await redis.eval(storeRewardUpdateOnce, 1, key, ttlSeconds, meta, ...chunks)) as string;
    },

    /** LPUSHes each message unless its member (a batch CID) is in the guard set already. */
    async pushOncePerMember(guardSetKey: string, queueKey: string, ttlSeconds: number, messages: Array<{ member: string; message: string }>): Promise<number> {
      const args = messages.flatMap((m) => [m.member, m.message]);
      return (await redis.eval(pushOncePerMember, 2, guardSetKey, queueKey, ttlSeconds, ...args)) as number;
    },
  };
}
