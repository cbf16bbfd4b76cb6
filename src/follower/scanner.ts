/**
 * One step of following the chain for a market, in two zones:
 * - far from the head (deeper than MAX_REORG_DEPTH, where no reorg may reach), wide eth_getLogs
 *   ranges of adaptive size; only the blocks holding an event are fetched, for their time and
 *   to check that each log's hash is its block's; the delayed re-scan reads these ranges again;
 * - near the head, block by block: each block's parentHash must be the recorded hash of the
 *   block before, and each block's logsBloom says whether it may hold a followed event; only
 *   then are its logs fetched (by block hash), and their bloom must be the block's bloom, so an
 *   empty or short answer is refused. A parent mismatch walks back to the fork point.
 * The reads go through the worker's ContractReader, shared with the other markets; the market's
 * own logs are picked out of its answers here.
 */
import { log } from '@temporalio/activity';
import { zeroPadValue } from 'ethers';
import { protocolState } from '../chain/abi.js';
import { RejectedRpcAnswer, type BlockHeader, type CallOptions, type ChainClient, type RawLog, type TopicFilter } from '../chain/rpc.js';
import { eventId } from '../domain/events.js';
import type { ChainCursor, FinalityViolation, MarketEvent } from '../domain/types.js';
import { bloomMayMatch, parseBloom } from './bloom.js';
import type { ContractReader } from './contract-reader.js';
import { assertLinked, findForkPoint } from './fork.js';
import { rangeRefusalOf, type AdaptiveRange } from './range.js';
import type { FollowerRecord } from './record.js';

/** The node's chain and seqflow's record part deeper than MAX_REORG_DEPTH allows (refused, so other nodes are asked). */
export class ForkBelowReorgDepth extends RejectedRpcAnswer {
  override name = 'ForkBelowReorgDepth';
}

export interface ScannerConfig {
  /** ProtocolState address, lower case. */
  contract: string;
  /** EIP-55 market address. */
  market: string;
  /** topic0 of each followed event, lower case. */
  topic0s: string[];
  confirmations: number;
  maxReorgDepth: number;
}

export type ScanStep =
  | { kind: 'advanced'; cursor: ChainCursor; events: MarketEvent[]; skippedLogs: number; wideRange?: { from: number; to: number } }
  | { kind: 'reorg'; cursor: ChainCursor; forkBlock: number; depth: number }
  | { kind: 'violation'; violation: FinalityViolation };

/** Most blocks checked one by one per step (the near zone is MAX_REORG_DEPTH blocks deep). */
const NEAR_BATCH = 256;
/** Refused spans in a row before a step gives up (the range is then at its smallest). */
const MAX_RANGE_REFUSALS = 24;


/**
 * eth_getLogs over blocks `from..to` in spans that adapt to the provider (see range.ts): a
 * refused span is narrowed and asked again at once, up to MAX_RANGE_REFUSALS times in a row.
 */
export async function logsInSpans(chain: ChainClient, range: AdaptiveRange, filter: { address: string; topics: TopicFilter }, from: number, to: number, opts: CallOptions): Promise<RawLog[]> {
  const entries: RawLog[] = [];
  let refusals = 0;
  for (let start = from; start <= to; ) {
    const end = Math.min(to, start + range.size - 1);
    try {
      entries.push(...(await chain.logs({ ...filter, fromBlock: start, toBlock: end }, opts)));
      range.grow();
      start = end + 1;
      refusals = 0;
    } catch (err) {
      const refusal = rangeRefusalOf(err);
      if (refusal === null || ++refusals > MAX_RANGE_REFUSALS) throw err;
      range.shrink(end - start + 1, refusal);
      log.info('eth_getLogs span refused: narrowing', { from: start, to: end, nowBlocks: range.size, error: String(err) });
    }
  }
  return entries;
}

export class ChainScanner {
  private readonly marketTopic: string;
  private readonly chain: ChainClient;

  constructor(
    private readonly reader: ContractReader,
    private readonly record: FollowerRecord,
    private readonly config: ScannerConfig,
  ) {
    this.chain = reader.chain;
    this.marketTopic = zeroPadValue(config.market.toLowerCase(), 32).toLowerCase();
  }

  private decode(entry: RawLog, header: BlockHeader): MarketEvent {
    const parsed = protocolState.parseLog({ topics: entry.topics, data: entry.data });
    const at = { blockNumber: entry.blockNumber, blockHash: entry.blockHash, logIndex: entry.logIndex };
    switch (parsed?.name) {
      case 'EpochReleased':
        return { kind: 'EpochReleased', epochId: (parsed.args.epochId as bigint).toString(), blockTimestamp: header.timestamp, ...at };
      case 'DayStartedEvent':
        return { kind: 'DayStarted', dayId: (parsed.args.dayId as bigint).toString(), blockTimestamp: header.timestamp, ...at };
      case 'SnapshotBatchSubmitted':
        return { kind: 'SnapshotBatchSubmitted', epochId: (parsed.args.epochId as bigint).toString(), batchCid: parsed.args.batchCid as string, ...at };
      default:
        throw new Error(`unexpected log (topic ${entry.topics[0]})`);
    }
  }

  private followed(entry: RawLog): boolean {
    return entry.address === this.config.contract && this.config.topic0s.includes(entry.topics[0]!) && entry.topics[1] === this.marketTopic;
  }

  /** Decodes followed logs in chain order; undecodable ones are logged and counted. */
  private decodeAll(entries: readonly RawLog[], headerOf: (n: number) => BlockHeader): { events: MarketEvent[]; skippedLogs: number } {
    const events: MarketEvent[] = [];
    let skippedLogs = 0;
    for (const entry of [...entries].sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex)) {
      try {
        events.push(this.decode(entry, headerOf(entry.blockNumber)));
      } catch (err) {
        skippedLogs++;
        log.warn('undecodable log skipped', { market: this.config.market, blockNumber: entry.blockNumber, logIndex: entry.logIndex, error: String(err) });
      }
    }
    return { events, skippedLogs };
  }

  /** Advances the cursor by one step towards `head` (a sane head), or reports a reorg or a finality violation. */
  async step(cursor: ChainCursor, head: BlockHeader, opts: CallOptions): Promise<ScanStep> {
    const nearFloor = head.number - this.config.maxReorgDepth + 1;
    if (cursor.nextBlock < nearFloor) return this.wideStep(cursor, head, nearFloor, opts);
    return this.nearStep(cursor, head, opts);
  }

  /**
   * The market's events of final blocks `from..to`, `to` at most `maxTo` and one eth_getLogs
   * span past `from` (see ContractReader.finalLogs), in chain order, with their ids.
   */
  async rangeEvents(from: number, maxTo: number, opts: CallOptions & { secondOpinion?: boolean }): Promise<{ to: number; events: MarketEvent[]; ids: string[]; skippedLogs: number }> {
    const answer = await this.reader.finalLogs(this.config.market, from, maxTo, opts);
    const entries = answer.logs.filter((e) => this.followed(e));
    return { to: answer.to, ...this.decodeAll(entries, (n) => answer.headers.get(n)!), ids: entries.map(eventId) };
  }

  private async wideStep(cursor: ChainCursor, head: BlockHeader, nearFloor: number, opts: CallOptions): Promise<ScanStep> {
    const from = cursor.nextBlock;
    if (cursor.parentHash !== null && from > 0) {
      // The cursor's block was checked one by one before (the market paused, or fell behind): it must still be canonical.
      const [before] = await this.reader.headersUnder(head, from - 1, from - 1, opts);
      if (before!.hash !== cursor.parentHash) return this.walkBack(cursor, opts);
    }
    const { to, events, skippedLogs } = await this.rangeEvents(from, nearFloor - 1, opts);
    return { kind: 'advanced', cursor: { nextBlock: to + 1, parentHash: null, rescan: cursor.rescan ?? null }, events, skippedLogs, wideRange: { from, to } };
  }

  private async nearStep(cursor: ChainCursor, head: BlockHeader, opts: CallOptions): Promise<ScanStep> {
    const from = cursor.nextBlock;
    const to = Math.min(head.number - this.config.confirmations, from + NEAR_BATCH - 1);
    this.reader.nearHead(this.marketTopic);
    // Without a recorded parent, the block before is fetched too: it anchors the checks.
    const withAnchor = cursor.parentHash === null && from > 0;
    const fetched = await this.reader.headersUnder(head, withAnchor ? from - 1 : from, to, opts);
    const anchor = withAnchor ? fetched[0]! : cursor.parentHash === null ? null : { number: from - 1, hash: cursor.parentHash };
    const headers = withAnchor ? fetched.slice(1) : fetched;
    if (anchor !== null && headers[0]!.parentHash !== anchor.hash) return this.walkBack(cursor, opts);

    const address = this.config.contract;
    const candidates = headers.filter((h) => bloomMayMatch(parseBloom(h.logsBloom), address, [this.config.topic0s, [this.marketTopic]]));
    const logs = candidates.length === 0 ? [] : await this.reader.blockLogs(candidates, opts);
    const byNumber = new Map(headers.map((h) => [h.number, h]));
    const { events, skippedLogs } = this.decodeAll(logs.flat().filter((e) => this.followed(e)), (n) => byNumber.get(n)!);
    // The anchor too: a reorg walking back needs the recorded block below the first one checked.
    await this.record.put(anchor ? [anchor, ...headers] : headers);
    const last = headers.at(-1)!;
    return { kind: 'advanced', cursor: { nextBlock: last.number + 1, parentHash: last.hash, rescan: cursor.rescan ?? null }, events, skippedLogs };
  }

  /**
   * The first block after the cursor does not sit on the recorded parent: walk down the blocks
   * recorded as canonical, at most MAX_REORG_DEPTH below the last one, to the highest where the
   * node's chain agrees, forget what was recorded above it, and continue from there. No such
   * block (the fork is deeper, or reaches blocks read as final in wide ranges) is a finality
   * violation.
   */
  private async walkBack(cursor: ChainCursor, opts: CallOptions): Promise<ScanStep> {
    const top = cursor.nextBlock - 1;
    const bottom = Math.max(0, top - this.config.maxReorgDepth);
    const recorded = await this.record.hashes(bottom, top);
    if (cursor.parentHash !== null) recorded.set(top, cursor.parentHash);
    const forkPoint = (hs: readonly BlockHeader[]) => findForkPoint(hs.slice(0, -1), (n) => recorded.get(n));
    let chainHeaders: BlockHeader[];
    try {
      chainHeaders = await this.chain.headers(
        Array.from({ length: top - bottom + 2 }, (_, i) => bottom + i),
        {
          ...opts,
          verify: (hs) => {
            assertLinked(hs);
            if (forkPoint(hs) === null) throw new ForkBelowReorgDepth(`none of blocks ${bottom} to ${top} is the one recorded`);
          },
        },
      );
    } catch (err) {
      if (err instanceof ForkBelowReorgDepth) {
        return {
          kind: 'violation',
          violation: { kind: 'deep-reorg', atBlock: cursor.nextBlock, detail: `block ${cursor.nextBlock} is not on the recorded chain, and ${err.message}: a fork deeper than MAX_REORG_DEPTH (${this.config.maxReorgDepth} blocks)` },
        };
      }
      throw err;
    }
    const fork = forkPoint(chainHeaders)!;
    await this.record.forgetAbove(fork, top);
    return { kind: 'reorg', forkBlock: fork, depth: top - fork, cursor: { nextBlock: fork + 1, parentHash: recorded.get(fork)!, rescan: cursor.rescan ?? null } };
  }
}
