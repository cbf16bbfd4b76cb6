/**
 * What the follower of one market keeps in Redis between calls:
 * - the canonical hashes of the recent blocks it checked one by one, so that a reorg can be
 *   walked back to the block where the chains part (a sorted set scored by block number);
 *   `BlockHashByNumberKey.<n>` is written alongside for the upstream's readers;
 * - the events the market acknowledged receiving, so that the delayed re-scan of wide ranges
 *   reports only what a first answer missed;
 * - the market's marker, a value written once that tells whether Redis still holds what
 *   seqflow wrote (a server restarted without persistence, a FLUSHALL, an eviction lose it).
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
  private readonly markerKey: string;

  constructor(
    private readonly redis: Redis,
    market: string,
    /** Blocks of canonical hashes kept below the newest. */
    private readonly keep: number,
  ) {
    this.chainKey = keys.followerCanonicalChain(market.toLowerCase());
    this.reportedKey = keys.followerReportedEvents(market.toLowerCase());
    this.markerKey = keys.redisMarker(market.toLowerCase());
  }

  /** Writes the market's marker `id` (no TTL: only data loss removes it). */
  async putMarker(id: string): Promise<void> {
    await this.redis.set(this.markerKey, id);
  }

  /** Whether the market's marker `id` is still there. */
  async hasMarker(id: string): Promise<boolean> {
    return (await this.redis.get(this.markerKey)) === id;
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

  /**
   * After a reorg or a rewind: forgets blocks `forkBlock + 1..upTo`, here and in
   * `BlockHashByNumberKey` (written only for the `keep` blocks below the newest), until they are
   * scanned again.
   */
  async forgetAbove(forkBlock: number, upTo: number): Promise<void> {
    const multi = this.redis.multi().zremrangebyscore(this.chainKey, `(${forkBlock}`, '+inf');
    const lowest = Math.max(forkBlock + 1, upTo - this.keep + 1);
    const orphaned = Array.from({ length: Math.max(0, upTo - lowest + 1) }, (_, i) => keys.blockHashByNumber(lowest + i));
    if (orphaned.length > 0) multi.del(...orphaned);
    await exec(multi);
  }

  /**
   * Notes events the market received (ids `blockNumber:blockHash:logIndex`), and forgets those
   * below `keepFrom`: no re-scan will read their blocks again.
   */
  async noteReported(ids: readonly string[], keepFrom: number): Promise<void> {
    const multi = this.redis.multi();
    if (ids.length > 0) multi.zadd(this.reportedKey, ...ids.flatMap((id) => [Number(id.split(':')[0]), id])).expire(this.reportedKey, RECORD_TTL_SECONDS);
    await exec(multi.zremrangebyscore(this.reportedKey, '-inf', `(${keepFrom}`));
  }

  /** Which of these event ids the market never received. */
  async unreported(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const scores = await this.redis.zmscore(this.reportedKey, ...ids);
    return new Set(ids.filter((_, i) => scores[i] === null));
  }
}
