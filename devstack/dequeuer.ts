/**
 * Files submissions in Redis exactly as Powerloom's sequencer-dequeuer does (neighbours.md
 * §2.2): the submission key with its `<uuid>.<protojson>` value, and its name added to the
 * header set of the block hash the snapshotter signed against.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface Submission {
  market: string;
  epochId: number | string;
  projectId: string;
  slotId: number;
  /** The block hash the snapshotter put in `header` (lower-case 0x hex). */
  header: string;
  snapshotCid?: string;
}

export function submissionKey(s: Pick<Submission, 'market' | 'epochId' | 'projectId' | 'slotId'>): string {
  return `${s.market.toLowerCase()}.${s.epochId}.${s.projectId}.${s.slotId}`;
}

export async function fileSubmission(redis: Redis, s: Submission): Promise<string> {
  const market = s.market.toLowerCase();
  const key = submissionKey(s);
  const protojson = JSON.stringify({
    request: { slotId: String(s.slotId), deadline: '1000', snapshotCid: s.snapshotCid ?? `bafy${s.projectId.length}${s.slotId}`, epochId: String(s.epochId), projectId: s.projectId },
    signature: 'ab'.repeat(65),
    header: s.header,
    dataMarket: s.market,
  });
  await redis.set(key, `${randomUUID()}.${protojson}`, 'EX', 1200);
  await fileRawKey(redis, market, s.epochId, s.header, key);
  return key;
}

/** Adds any string to a header set, as a broken or hostile dequeuer might. */
export async function fileRawKey(redis: Redis, market: string, epochId: number | string, header: string, member: string): Promise<void> {
  const set = `SnapshotCollector.${market.toLowerCase()}.${epochId}.${header}`;
  await redis.sadd(set, member);
  await redis.expire(set, 1200);
}
