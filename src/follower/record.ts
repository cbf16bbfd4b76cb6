/**
 * What the follower of one market keeps in Redis between calls:
 * - the canonical hashes of the recent blocks it checked one by one, so that a reorg can be
 *   walked back to the block where the chains part (a sorted set scored by block number);
 *   `BlockHashByNumberKey.<n>` is written alongside for the upstream's readers;
 * - the events the market acknowledged receiving, so that the delayed re-scan of wide ranges
 *   reports only what a first answer missed.
 */
import type { Redis } from 'ioredis';
import type { BlockHeader } from '../chain/rpc.js';
import * as keys from '../domain/keys.js';

/** How long the record outlives the follower's last write: a market stopped for longer resumes in the far zone anyway. */
const RECORD_TTL_SECONDS = 24 * 60 * 60;

async function exec(pipeline: ReturnType<Redis['multi']>): Promise<void> {
  const failed = (await pipeline.exec())?.find(([err]) => err);
  if (failed) throw failed[0];
}

export class FollowerRecord {
  private readonly chainKey: string;
  private readonly reportedKey: string;

  constructor(
    private readonly redis: Redis,
    market: string,
    /** Blocks of canonical hashes kept below the newest. */
    private readonly keep: number,
  ) {
    this.chainKey = keys.followerCanonicalChain(market.toLowerCase());
    this.reportedKey = keys.followerReportedEvents(market.toLowerCase());
  }

  /** The recorded canonical hashes of blocks `from..to` (null where none is recorded). */
  async hashes(from: number, to: number): Promise<Map<number, string>> {
    const members = await this.redis.zrangebyscore(this.chainKey, from, to);
    return new Map(
      members.map((m) => {
        const [n, hash] = m.split(':') as [string, string];
        return [Number(n), hash];
      }),
    );
  }

  /** Records consecutive canonical blocks, replacing what was recorded at their heights, and trims old ones. */
  async put(headers: ReadonlyArray<Pick<BlockHeader, 'number' | 'hash'>>): Promise<void> {
    if (headers.length === 0) return;
    const first = headers[0]!.number;
    const last = headers.at(-1)!.number;
    const multi = this.redis
      .multi()
      .zremrangebyscore(this.chainKey, first, last)
      .zadd(this.chainKey, ...headers.flatMap((h) => [h.number, `${h.number}:${h.hash}`]))
      .zremrangebyscore(this.chainKey, '-inf', `(${last - this.keep}`)
      .expire(this.chainKey, RECORD_TTL_SECONDS);
    for (const h of headers) multi.set(keys.blockHashByNumber(h.number), h.hash, 'EX', keys.BLOCK_HASH_TTL_SECONDS);
    await exec(multi);
  }

  /** After a reorg: forgets blocks `forkBlock + 1..upTo`, here and in `BlockHashByNumberKey`, until they are scanned again. */
  async forgetAbove(forkBlock: number, upTo: number): Promise<void> {
    const multi = this.redis.multi().zremrangebyscore(this.chainKey, `(${forkBlock}`, '+inf');
    const orphaned = Array.from({ length: Math.max(0, upTo - forkBlock) }, (_, i) => keys.blockHashByNumber(forkBlock + 1 + i));
    if (orphaned.length > 0) multi.del(...orphaned);
    await exec(multi);
  }

  /** Notes events the market received (ids `blockHash:logIndex`). */
  async noteReported(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await exec(this.redis.multi().sadd(this.reportedKey, ...ids).expire(this.reportedKey, RECORD_TTL_SECONDS));
  }

  /** Which of these event ids the market never received. */
  async unreported(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const seen = await this.redis.smismember(this.reportedKey, ...ids);
    return new Set(ids.filter((_, i) => seen[i] !== 1));
  }
}
