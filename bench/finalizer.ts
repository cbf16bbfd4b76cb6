/**
 * The bench as the finalizer: a BRPOP loop on `finalizerQueue` over a Redis connection of its
 * own, taking what else is queued in the same round trip (RPOP with a count), so that a burst of
 * batches is not read one round trip at a time. It reads the messages as bytes, and only their
 * head as text: a real finalizer is a process of its own, and decoding megabytes of batches here
 * would delay the bench's own clock (and the relayer stand-in, which shares its event loop). It
 * records when each batch arrived (wall clock, ms, taken before any parsing) and tells when an
 * epoch has all its batches: as many distinct BatchIDs as Redis `BatchCountKey.<market>.<epochId>`
 * says.
 */
import { Redis } from 'ioredis';
import * as keys from '../src/domain/keys.js';
import { epochKey } from './measures.js';

/** The head of a finalizer message as seqflow writes it (test/e2e/pipeline.test.ts): read without parsing the batch. */
const HEAD = /^\{"DataMarketAddress":"(0x[0-9a-fA-F]{40})","EpochID":(\d+),"BatchID":(\d+),/;
/** Bytes that hold HEAD whatever the numbers (ASCII: one byte a character). */
const HEAD_BYTES = 160;

export class Finalizer {
  /** Every batch received, by epoch: its BatchID and when it came (repeats included). */
  readonly received = new Map<string, Array<{ batchId: number; atMs: number }>>();
  private readonly counts = new Map<string, Promise<number | null>>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private running = true;
  private readonly loop: Promise<void>;

  private constructor(
    private readonly queue: Redis,
    private readonly reader: Redis,
  ) {
    this.loop = this.consume();
  }

  static async start(port: number): Promise<Finalizer> {
    const connect = async () => {
      const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
      await redis.connect();
      return redis;
    };
    return new Finalizer(await connect(), await connect());
  }

  private async consume(): Promise<void> {
    while (this.running) {
      const first = await this.queue.brpopBuffer(keys.finalizerQueue, 1);
      if (!first) continue;
      const firstAt = Date.now();
      this.take(first[1], firstAt);
      const rest = (await this.queue.rpopBuffer(keys.finalizerQueue, 10_000)) ?? [];
      const restAt = Date.now();
      for (const message of rest) this.take(message, restAt);
    }
  }

  private take(message: Buffer, atMs: number): void {
    const head = HEAD.exec(message.toString('latin1', 0, HEAD_BYTES));
    const { DataMarketAddress, EpochID, BatchID } = head
      ? { DataMarketAddress: head[1]!, EpochID: head[2]!, BatchID: Number(head[3]) }
      : (JSON.parse(message.toString('utf8')) as { DataMarketAddress: string; EpochID: number; BatchID: number });
    const key = epochKey(DataMarketAddress, EpochID);
    const batches = this.received.get(key) ?? [];
    batches.push({ batchId: BatchID, atMs });
    this.received.set(key, batches);
    for (const wake of this.waiters.get(key) ?? []) wake();
  }

  /** Redis's batch count of the epoch (read once it has one). */
  private batchCount(key: string): Promise<number | null> {
    let count = this.counts.get(key);
    if (!count) {
      const [market, epochId] = key.split('/') as [string, string];
      count = this.reader.get(keys.batchCount(market, epochId)).then((v) => (v === null ? null : Number(v)));
      this.counts.set(key, count);
      void count.then((n) => n === null && this.counts.delete(key));
    }
    return count;
  }

  /**
   * When the epoch's last batch arrived: the latest first arrival among its BatchIDs, once there
   * are as many as its batch count; null if that did not happen within `timeoutMs`.
   */
  async lastBatchAt(key: string, timeoutMs: number): Promise<number | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const firsts = new Map<number, number>();
      for (const { batchId, atMs } of this.received.get(key) ?? []) if (!firsts.has(batchId)) firsts.set(batchId, atMs);
      const count = firsts.size > 0 ? await this.batchCount(key) : null;
      if (count !== null && firsts.size >= count) return Math.max(...firsts.values());
      const left = deadline - Date.now();
      if (left <= 0 || !this.running) return null;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.get(key)?.delete(wake);
          resolve();
        };
        // Also wakes now and then: the count may be read before the epoch's first batch comes.
        const timer = setTimeout(wake, Math.min(left, 1000));
        this.waiters.set(key, (this.waiters.get(key) ?? new Set()).add(wake));
      });
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.queue.disconnect();
    this.reader.disconnect();
  }
}
