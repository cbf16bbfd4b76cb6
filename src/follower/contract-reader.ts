/**
 * The worker's reader of one ProtocolState contract, under the followers of all its markets:
 * each market keeps its own workflow, cursor, record, reorg handling and failures, and asks
 * the reader instead of the node, so that RPC requests do not grow with the number of markets.
 *
 * - The head: one read per poll interval serves every market (a market whose floor is above
 *   it reads again).
 * - Far from the head (final blocks): eth_getLogs for the contract and the followed topic0s,
 *   every market's logs, with the headers of the blocks holding them (each log's hash must be
 *   its block's). An answer over `from..to` serves every market whose cursor lies in it, for
 *   KEEP_FINAL_MS; a market that asks again gets a new answer. The re-scan's second opinion
 *   is shared the same way, apart from first answers.
 * - Near the head: header batches are shared between markets reading under the same head
 *   (a reorg changes the head's hash, so no answer outlives the chain it was read from), as is
 *   the check that a resumed cursor's block is still canonical; the logs of a block are asked
 *   by its hash, checked against its logsBloom, and kept by hash. A head whose bloom may hold
 *   an event of a market following near the head has its logs asked with the next head read,
 *   in the same JSON-RPC batch: by the time the block is confirmed, they are at hand.
 * - dayCounter: the markets' checks fall due at the same moments and go out as one batch.
 *
 * Concurrent asks for the same read share one request. Only accepted answers are kept or
 * shared; a refused one is told to every market that waited for it (one asked with a head
 * read, to the first market that reads that block). With N worker processes, there are N
 * readers per contract.
 */
import { protocolState, topics } from '../chain/abi.js';
import { RejectedRpcAnswer, type BlockHeader, type CallOptions, type ChainClient, type RawLog } from '../chain/rpc.js';
import { bloomMayMatch, bloomOfLogs, parseBloom } from './bloom.js';
import { assertLinked } from './fork.js';
import type { AdaptiveRange } from './range.js';
import { logsInSpans } from './scanner.js';
import { DuePerPeriod, Gathered, RecentRanges, SharedCall, untilAborted } from './sharing.js';

export interface ContractReaderSettings {
  /** ProtocolState address. */
  contract: string;
  /** topic0 of each followed event. */
  topic0s: string[];
  /** How long one head read serves every market. */
  pollIntervalMs: number;
}

/** The followed events' logs of the contract over `from..to`, and the header of each block holding one. */
export interface FinalLogs {
  to: number;
  logs: RawLog[];
  headers: ReadonlyMap<number, BlockHeader>;
}

/** The topic0s followed: releases and day starts, and batch submissions when the attestor queue is fed. */
export function followedTopics(followSnapshotBatches: boolean): string[] {
  return [topics.EpochReleased, topics.DayStartedEvent, ...(followSnapshotBatches ? [topics.SnapshotBatchSubmitted] : [])];
}

/** How often a market's dayCounter is checked, at the same moments for every market. */
export const DAY_CHECK_MS = 10_000;
/** How long answers over final blocks are kept for markets behind (a catch-up reads 100k blocks in a second or so). */
const KEEP_FINAL_MS = 60_000;
const MAX_FINAL_RANGES = 64;
const MAX_NEAR_RANGES = 32;
const MAX_BLOCK_LOGS = 4096;
/** A market that stepped near the head this recently still has its events' logs asked with head reads. */
const NEAR_HEAD_KEEP_MS = 60_000;
/** Heads whose logs wait for the next head read, at most. */
const MAX_PENDING_LOGS = 16;

interface KeptBlockLogs {
  call: SharedCall<RawLog[][]>;
  index: number;
  atMs: number;
}

export class ContractReader {
  /** Lower case. */
  readonly contract: string;
  /** Lower case. */
  readonly topic0s: string[];
  private readonly pollIntervalMs: number;
  private latest: { header: BlockHeader; atMs: number } | null = null;
  private headRead: { call: SharedCall<BlockHeader>; floor: number } | null = null;
  private readonly finalRanges = new RecentRanges<Omit<FinalLogs, 'to'>>(KEEP_FINAL_MS, MAX_FINAL_RANGES);
  private readonly nearRanges: RecentRanges<BlockHeader[]>;
  /** By block hash, oldest first. */
  private readonly blockLogsKept = new Map<string, KeptBlockLogs>();
  /** Heads whose logs are asked with the next head read, oldest first. */
  private pendingLogs: BlockHeader[] = [];
  /** Refusals of logs asked with a head read, by block hash: told to the first market that reads the block. */
  private readonly refusedLogs = new Map<string, RejectedRpcAnswer[]>();
  /** Topic (the padded address) of each market stepping near the head, and when it last did. */
  private readonly nearHeadMarkets = new Map<string, number>();
  private readonly dayChecks = new DuePerPeriod(DAY_CHECK_MS);
  private readonly dayCounters: Gathered<{ market: string; block: number }, string>;

  constructor(
    readonly chain: ChainClient,
    /** The worker's eth_getLogs span (see range.ts). */
    readonly range: AdaptiveRange,
    settings: ContractReaderSettings,
  ) {
    this.contract = settings.contract.toLowerCase();
    this.topic0s = settings.topic0s.map((t) => t.toLowerCase());
    this.pollIntervalMs = settings.pollIntervalMs;
    // Near-zone answers are keyed by the head; a few polls is as long as any market still reads under it.
    this.nearRanges = new RecentRanges(Math.max(2000, 4 * settings.pollIntervalMs), MAX_NEAR_RANGES);
    // Markets whose checks fell due together ask within a poll of each other.
    this.dayCounters = new Gathered(
      Math.min(settings.pollIntervalMs, 250),
      (a) => `${a.market}@${a.block}`,
      (asks) => chain.viewUints(asks.map((a) => ({ contract: settings.contract, iface: protocolState, fn: 'dayCounter', args: [a.market], block: a.block }))),
    );
  }

  /**
   * A sane head (see ChainClient.head) not below `floor`: the one read within the last
   * `maxAgeMs` (the poll interval unless given: a window about to close asks fresher), else a
   * new read shared by every market and window asking meanwhile.
   */
  head(opts: CallOptions & { floor?: number; maxAgeMs?: number } = {}): Promise<BlockHeader> {
    const floor = opts.floor ?? -1;
    const latest = this.latest;
    if (latest && Date.now() - latest.atMs < (opts.maxAgeMs ?? this.pollIntervalMs) && latest.header.number >= floor) return Promise.resolve(latest.header);
    let read = this.headRead;
    if (!read || read.call.abandoned || read.floor < floor) {
      const blocks = this.takePendingLogs();
      const call = new SharedCall(async (o) => {
        const answer = await this.chain.headWithLogs(blocks, { ...o, floor, verify: checkBloom });
        answer.logs.forEach((logs, i) => this.keepSideLogs(blocks[i]!, logs));
        return answer.head;
      });
      read = this.headRead = { call, floor };
      call.answer.then(
        (header) => {
          if (this.latest === null || header.number >= this.latest.header.number) this.latest = { header, atMs: Date.now() };
          this.noteHead(header);
        },
        () => undefined,
      );
      const done = () => {
        if (this.headRead?.call === call) this.headRead = null;
      };
      call.answer.then(done, done);
    }
    return read.call.join(opts);
  }

  /** A market steps near the head: heads that may hold its events have their logs asked with the next head read. */
  nearHead(marketTopic: string): void {
    this.nearHeadMarkets.set(marketTopic, Date.now());
  }

  private noteHead(header: BlockHeader): void {
    const now = Date.now();
    for (const [topic, atMs] of this.nearHeadMarkets) if (now - atMs >= NEAR_HEAD_KEEP_MS) this.nearHeadMarkets.delete(topic);
    if (this.nearHeadMarkets.size === 0 || this.blockLogsKept.has(header.hash) || this.pendingLogs.some((h) => h.hash === header.hash)) return;
    if (!bloomMayMatch(parseBloom(header.logsBloom), this.contract, [this.topic0s, [...this.nearHeadMarkets.keys()]])) return;
    this.pendingLogs.push(header);
    if (this.pendingLogs.length > MAX_PENDING_LOGS) this.pendingLogs.shift();
  }

  private takePendingLogs(): BlockHeader[] {
    const blocks = this.pendingLogs.filter((h) => !this.blockLogsKept.has(h.hash));
    this.pendingLogs = [];
    return blocks;
  }

  /** Keeps logs got with a head read, or their refusal for the first market that reads the block (the head is asked again with the next read). */
  private keepSideLogs(block: BlockHeader, logs: RawLog[] | RejectedRpcAnswer): void {
    if (logs instanceof RejectedRpcAnswer) {
      this.refusedLogs.set(block.hash, [...(this.refusedLogs.get(block.hash) ?? []), logs]);
      if (this.refusedLogs.size > MAX_PENDING_LOGS) this.refusedLogs.delete(this.refusedLogs.keys().next().value!);
      return;
    }
    this.blockLogsKept.set(block.hash, { call: new SharedCall(() => Promise.resolve([logs])), index: 0, atMs: Date.now() });
  }

  /** Milliseconds until the head read last is due again (at least 1): followers waiting for blocks wake together then. */
  msUntilNextHead(): number {
    return this.latest ? Math.max(1, this.latest.atMs + this.pollIntervalMs - Date.now()) : this.pollIntervalMs;
  }

  /**
   * The followed events' logs over blocks `from..to`, every one of them final, with `to` at
   * most `maxTo` and at most one eth_getLogs span past `from`: an answer another market got
   * (or is getting) over a range holding `from`, else a new one. `secondOpinion` reads apart
   * from first answers, asking another node first. Refused answers: see ChainClient.
   */
  async finalLogs(market: string, from: number, maxTo: number, opts: CallOptions & { secondOpinion?: boolean } = {}): Promise<FinalLogs> {
    const scope = opts.secondOpinion ? 'second-opinion' : 'first';
    const now = Date.now();
    const kept =
      this.finalRanges.take(scope, from, market, now) ??
      (() => {
        const to = Math.min(maxTo, from + this.range.size - 1);
        return this.finalRanges.add(scope, from, to, new SharedCall((o) => this.readFinal(from, to, { ...o, otherNodeFirst: opts.secondOpinion === true })), market, now);
      })();
    const answer = await kept.call.join(opts);
    const to = Math.min(maxTo, kept.to);
    return { to, logs: answer.logs.filter((l) => l.blockNumber >= from && l.blockNumber <= to), headers: answer.headers };
  }

  private async readFinal(from: number, to: number, opts: CallOptions): Promise<Omit<FinalLogs, 'to'>> {
    const logs = await logsInSpans(this.chain, this.range, { address: this.contract, topics: [this.topic0s] }, from, to, opts);
    const blocks = [...new Set(logs.map((l) => l.blockNumber))].sort((a, b) => a - b);
    const headers = blocks.length === 0 ? [] : await this.chain.headers(blocks, {
      ...opts,
      verify: (hs) => {
        const byNumber = new Map(hs.map((h) => [h.number, h.hash]));
        const stray = logs.find((l) => byNumber.get(l.blockNumber) !== l.blockHash);
        if (stray) throw new RejectedRpcAnswer(`eth_getLogs gave a log of block ${stray.blockNumber} with hash ${stray.blockHash}, but block ${stray.blockNumber} is ${byNumber.get(stray.blockNumber)}`);
      },
    });
    return { logs, headers: new Map(headers.map((h) => [h.number, h])) };
  }

  /**
   * Headers of blocks `from..to` as the node has them under `head` (linked, or refused as a
   * BrokenHashChain): from an answer another market got under the same head over a range
   * holding them, else a new one.
   */
  async headersUnder(head: Pick<BlockHeader, 'hash'>, from: number, to: number, opts: CallOptions = {}): Promise<BlockHeader[]> {
    const now = Date.now();
    const kept =
      this.nearRanges.take(head.hash, from, undefined, now, to) ??
      this.nearRanges.add(head.hash, from, to, new SharedCall((o) => this.chain.headers(Array.from({ length: to - from + 1 }, (_, i) => from + i), { ...o, verify: (hs) => assertLinked(hs) })), undefined, now);
    const headers = await kept.call.join(opts);
    return headers.slice(from - kept.from, to - kept.from + 1);
  }

  /**
   * Every log of each block (asked by its hash), in block order: logs that make up the block's
   * logsBloom, or the answer is refused as missing logs. Kept by block hash; blocks another
   * market asked for are not asked again.
   */
  async blockLogs(blocks: readonly BlockHeader[], opts: CallOptions = {}): Promise<RawLog[][]> {
    const now = Date.now();
    for (const [hash, kept] of this.blockLogsKept) {
      if (now - kept.atMs < KEEP_FINAL_MS && this.blockLogsKept.size <= MAX_BLOCK_LOGS) break;
      this.blockLogsKept.delete(hash);
    }
    for (const b of blocks) {
      this.refusedLogs.get(b.hash)?.forEach((err) => opts.onRejected?.(err));
      this.refusedLogs.delete(b.hash);
    }
    const missing = blocks.filter((b) => {
      const kept = this.blockLogsKept.get(b.hash);
      return kept === undefined || kept.call.abandoned;
    });
    if (missing.length > 0) {
      const call = new SharedCall((o) => this.chain.blockLogs(missing, { ...o, verify: (answers) => answers.forEach((entries, i) => checkBloom(missing[i]!, entries)) }));
      missing.forEach((b, index) => this.blockLogsKept.set(b.hash, { call, index, atMs: now }));
      call.answer.catch(() => missing.forEach((b) => this.blockLogsKept.get(b.hash)?.call === call && this.blockLogsKept.delete(b.hash)));
    }
    const kept = blocks.map((b) => this.blockLogsKept.get(b.hash)!);
    // One join per request: a refusal is told to this market once.
    const answers = new Map(await Promise.all([...new Set(kept.map((k) => k.call))].map(async (call) => [call, await call.join(opts)] as const)));
    return kept.map((k) => answers.get(k.call)![k.index]!);
  }

  /** Whether the market's dayCounter check is due: once per DAY_CHECK_MS of the clock, for every market at the same moments. */
  dayCheckDue(market: string): boolean {
    return this.dayChecks.due(market, Date.now());
  }

  /** The market's dayCounter at `block`, in one JSON-RPC batch with the other markets' checks made meanwhile. */
  async dayCounter(market: string, block: number, signal?: AbortSignal): Promise<string> {
    try {
      return await untilAborted(this.dayCounters.ask({ market, block }), signal);
    } finally {
      this.dayChecks.done(market, Date.now());
    }
  }
}

/** Refuses the logs answered for `block` unless they make up its logsBloom. */
function checkBloom(block: BlockHeader, entries: readonly RawLog[]): void {
  if (bloomOfLogs(entries) !== block.logsBloom) {
    throw new RejectedRpcAnswer(`the ${entries.length} logs answered for block ${block.number} do not make up its logsBloom: logs are missing`);
  }
}
