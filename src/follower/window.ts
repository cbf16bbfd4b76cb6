/**
 * An epoch's submission window on chain time. Its blocks are the release block and every later
 * block whose timestamp is at most the release block's plus `snapshotSubmissionWindow` seconds,
 * whenever seqflow gets to it (a catch-up after downtime takes the same blocks as a live run).
 * It is closed once the first block past that time exists; a chain that makes no such block
 * within WINDOW_CLOSE_WAIT_SECONDS of the window's end (on our clock: the workflow's timer)
 * closes it at its sane, confirmed head,
 * so a slow or halted chain delays an epoch and never holds it. At the close, the release must
 * still be canonical; if it is not, the release is looked up by its indexed epochId.
 */
import { toBeHex, zeroPadValue } from 'ethers';
import { topics } from '../chain/abi.js';
import { RejectedRpcAnswer, type BlockHeader, type CallOptions, type ChainClient } from '../chain/rpc.js';
import type { EpochWindow, PrepareEpochInput, ReleaseBlock } from '../domain/types.js';
import { FAST_POLL_MS, msUntilNextWindowPoll } from '../domain/window.js';
import { assertLinked } from './fork.js';
import type { AdaptiveRange } from './range.js';
import { logsInSpans } from './scanner.js';

export interface WindowSettings {
  /** ProtocolState address. */
  contract: string;
  confirmations: number;
  maxReorgDepth: number;
  /** WINDOW_CLOSE_WAIT_SECONDS, in ms. */
  closeWaitMs: number;
  pollIntervalMs: number;
}

export type ClosedWindow =
  | { kind: 'closed'; window: EpochWindow; hashes: string[] }
  | { kind: 'rebased'; release: ReleaseBlock }
  | { kind: 'orphaned'; detail: string };

/** Where the window's head reads come from: the worker's shared ContractReader (or the chain client itself). */
export interface HeadSource {
  /** A sane head not below `floor`, read at most `maxAgeMs` ago (a source without a cache reads it now). */
  head(opts: CallOptions & { floor?: number; maxAgeMs?: number }): Promise<BlockHeader>;
}

export interface WindowIo {
  signal: AbortSignal;
  heartbeat(): void;
  sleep(ms: number): Promise<void>;
  /** When the close was first asked for (the activity's first scheduling, right after the window's timer): the wait counts from there, across retries. */
  scheduledAtMs: number;
  /** Told, at each poll that finds the window still open, the hashes of its blocks so far (from the release block on). */
  stillOpen?(hashes: string[]): void;
}

/** Headers fetched per request while looking for the window's end. */
const WINDOW_CHUNK = 128;

/** Headers from `from` up to and including the first one past `endSec`, or up to `head`; linked, or refused. */
async function headersUntil(chain: ChainClient, from: number, head: BlockHeader, endSec: number, opts: CallOptions): Promise<BlockHeader[]> {
  const headers: BlockHeader[] = [];
  for (let start = from; start <= head.number; start += WINDOW_CHUNK) {
    const numbers = Array.from({ length: Math.min(WINDOW_CHUNK, head.number - start + 1) }, (_, i) => start + i);
    const previous = headers.at(-1);
    const part = await chain.headers(numbers, { ...opts, verify: (hs) => assertLinked(hs, previous) });
    const past = part.findIndex((h) => h.timestamp > endSec);
    headers.push(...(past === -1 ? part : part.slice(0, past + 1)));
    if (past !== -1) break;
  }
  return headers;
}

/**
 * The window's headers read at the last poll, still canonical under `head` and extended by it:
 * the same when `head` is their last block, one more when it is the next block and links to
 * them. Null when they cannot be told canonical from `head` alone (none yet, a reorg at the tip,
 * several new blocks): they are read again from the release block.
 */
export function extendedBy(headers: readonly BlockHeader[] | null, head: BlockHeader): BlockHeader[] | null {
  const last = headers?.at(-1);
  if (!headers || !last) return null;
  if (head.number === last.number && head.hash === last.hash) return [...headers];
  if (head.number === last.number + 1 && head.parentHash === last.hash) return [...headers, head];
  return null;
}

/**
 * Where the epoch's release is on the canonical chain now: the earliest EpochReleased of this
 * market and epoch from MAX_REORG_DEPTH below the old release block up to the head.
 */
async function relocate(chain: ChainClient, range: AdaptiveRange, s: WindowSettings, input: PrepareEpochInput, head: BlockHeader, opts: CallOptions): Promise<ClosedWindow> {
  const lo = Math.max(0, input.release.blockNumber - s.maxReorgDepth);
  const topicFilter = [topics.EpochReleased, zeroPadValue(input.market.toLowerCase(), 32), zeroPadValue(toBeHex(BigInt(input.epochId)), 32)];
  const found = await logsInSpans(chain, range, { address: s.contract, topics: topicFilter }, lo, head.number, opts);
  const first = found.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex)[0];
  if (!first) return { kind: 'orphaned', detail: `block ${input.release.blockNumber} ${input.release.blockHash} left the chain, and no block from ${lo} to ${head.number} holds the release` };
  const [block] = await chain.headers([first.blockNumber], {
    ...opts,
    verify: ([h]) => {
      if (h!.hash !== first.blockHash) throw new RejectedRpcAnswer(`eth_getLogs gave the release in block ${first.blockNumber} ${first.blockHash}, but block ${first.blockNumber} is ${h!.hash}`);
    },
  });
  return { kind: 'rebased', release: { blockNumber: block!.number, blockHash: block!.hash, timestamp: block!.timestamp } };
}

/**
 * Closes the window of `input.release`: waits (polling `heads`, heartbeating) for the first block
 * past its end until WINDOW_CLOSE_WAIT after that end; headers are read once, then extended by
 * each new head that links to them. RPC failures and refused answers are thrown,
 * for Temporal to retry the activity; the wait's deadline does not move with retries.
 */
export async function closeWindow(chain: ChainClient, heads: HeadSource, range: AdaptiveRange, s: WindowSettings, input: PrepareEpochInput, io: WindowIo): Promise<ClosedWindow> {
  const endSec = input.release.timestamp + input.submissionWindowSeconds;
  const deadlineMs = io.scheduledAtMs + s.closeWaitMs;
  const opts: CallOptions = { signal: io.signal };
  let headers: BlockHeader[] | null = null;
  for (;;) {
    // Windows closing together (markets releasing in one block) share head reads, a fast poll
    // apart once the closing block is due (no block can close the window before endSec + 1).
    const maxAgeMs = Date.now() >= (endSec + 1) * 1000 ? FAST_POLL_MS : s.pollIntervalMs;
    const head = await heads.head({ ...opts, floor: Math.max(input.headFloor ?? -1, input.release.blockNumber), maxAgeMs });
    headers = extendedBy(headers, head) ?? (await headersUntil(chain, input.release.blockNumber, head, endSec, opts));
    if (headers[0]!.hash !== input.release.blockHash) return relocate(chain, range, s, input, head, opts);
    const last = headers.at(-1)!;
    const close = (blocks: BlockHeader[], closedBy: EpochWindow['closedBy']): ClosedWindow => ({
      kind: 'closed',
      window: { fromBlock: blocks[0]!.number, toBlock: blocks.at(-1)!.number, closedBy },
      hashes: blocks.map((h) => h.hash),
    });
    if (last.timestamp > endSec) return close(headers.slice(0, -1), 'next-block');
    if (Date.now() >= deadlineMs) {
      const confirmed = Math.max(input.release.blockNumber, head.number - s.confirmations);
      return close(headers.filter((h) => h.number <= confirmed), 'wait-timeout');
    }
    io.stillOpen?.(headers.map((h) => h.hash));
    io.heartbeat();
    await io.sleep(Math.min(msUntilNextWindowPoll(endSec, Date.now(), s.pollIntervalMs), Math.max(1, deadlineMs - Date.now())));
  }
}
