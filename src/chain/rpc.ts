/**
 * JSON-RPC access to the protocol chain over one or more nodes (`RPC_NODES`). Every answer is
 * checked before anyone uses it: a malformed answer, a head below one already seen, a block the
 * node says it has but does not serve, a log outside the asked range or filter, or a log of
 * another block than asked for is refused (RejectedRpcAnswer) and the call is asked of the
 * next node. Nothing built on a refused answer is ever acted on.
 */
import type { Interface } from 'ethers';
import { runLimited } from '../domain/concurrency.js';
import { JsonRpcEndpoint, type RpcObserver, type RpcOutcome } from './jsonrpc.js';

export interface BlockHeader {
  number: number;
  /** Lower-case 0x hash, the form snapshotters put in their `header`. */
  hash: string;
  parentHash: string;
  /** Seconds. */
  timestamp: number;
  /** 0x + 512 hex digits: the 2048-bit bloom of every log of the block. */
  logsBloom: string;
}

export interface RawLog {
  /** Lower case. */
  address: string;
  /** Lower case. */
  topics: string[];
  data: string;
  blockNumber: number;
  blockHash: string;
  logIndex: number;
}

/** An answer that must not be acted on: malformed, impossible, or contradicting what is known. */
export class RejectedRpcAnswer extends Error {
  override name = 'RejectedRpcAnswer';
}

/** Headers that do not form a chain: block `atBlock`'s parentHash is not the hash of the block before. */
export class BrokenHashChain extends RejectedRpcAnswer {
  override name = 'BrokenHashChain';
  constructor(
    message: string,
    readonly atBlock: number,
  ) {
    super(message);
  }
}

/** Per-call options: who hears about refused answers, and the caller's cancellation. */
export interface CallOptions {
  /** Told of every refused answer (its message names the node), also of those a later node made good. */
  onRejected?: (err: RejectedRpcAnswer) => void;
  signal?: AbortSignal;
  /** A second opinion: ask another node than the preferred one first (with one node, that node). */
  otherNodeFirst?: boolean;
}

/** eth_getLogs topic filter: per position, one topic, any of several, or anything (null). */
export type TopicFilter = Array<string | string[] | null>;

const HASH = /^0x[0-9a-f]{64}$/;
const QUANTITY = /^0x[0-9a-f]+$/i;
const BLOOM = /^0x[0-9a-f]{512}$/;

function quantity(value: unknown, what: string): number {
  if (typeof value !== 'string' || !QUANTITY.test(value)) throw new RejectedRpcAnswer(`${what}: expected a hex quantity, got ${JSON.stringify(value)}`);
  const n = Number(BigInt(value));
  if (!Number.isSafeInteger(n)) throw new RejectedRpcAnswer(`${what}: ${value} is out of range`);
  return n;
}

function hash(value: unknown, what: string): string {
  const lower = typeof value === 'string' ? value.toLowerCase() : value;
  if (typeof lower !== 'string' || !HASH.test(lower)) throw new RejectedRpcAnswer(`${what}: expected a 32-byte hash, got ${JSON.stringify(value)}`);
  return lower;
}

export function parseBlockHeader(raw: unknown, expectedNumber: number): BlockHeader {
  if (raw === null || typeof raw !== 'object') throw new RejectedRpcAnswer(`block ${expectedNumber}: no block in the answer`);
  const b = raw as Record<string, unknown>;
  const bloom = typeof b.logsBloom === 'string' ? b.logsBloom.toLowerCase() : b.logsBloom;
  if (typeof bloom !== 'string' || !BLOOM.test(bloom)) throw new RejectedRpcAnswer(`block ${expectedNumber} logsBloom: expected 256 bytes, got ${JSON.stringify(b.logsBloom)?.slice(0, 80)}`);
  const header = {
    number: quantity(b.number, `block ${expectedNumber} number`),
    hash: hash(b.hash, `block ${expectedNumber} hash`),
    parentHash: hash(b.parentHash, `block ${expectedNumber} parentHash`),
    timestamp: quantity(b.timestamp, `block ${expectedNumber} timestamp`),
    logsBloom: bloom,
  };
  if (header.number !== expectedNumber) throw new RejectedRpcAnswer(`asked for block ${expectedNumber}, got block ${header.number}`);
  return header;
}

export function parseLog(raw: unknown): RawLog {
  if (raw === null || typeof raw !== 'object') throw new RejectedRpcAnswer(`log entry is ${JSON.stringify(raw)}`);
  const l = raw as Record<string, unknown>;
  if (typeof l.address !== 'string' || typeof l.data !== 'string' || !Array.isArray(l.topics) || !l.topics.every((t) => typeof t === 'string')) {
    throw new RejectedRpcAnswer(`log entry lacks address, data or topics: ${JSON.stringify(raw).slice(0, 300)}`);
  }
  // A removed log belongs to a block that left the chain: never part of a canonical answer.
  if (l.removed === true) throw new RejectedRpcAnswer(`log ${String(l.logIndex)} of block ${String(l.blockNumber)} is marked removed`);
  return {
    address: l.address.toLowerCase(),
    topics: (l.topics as string[]).map((t) => t.toLowerCase()),
    data: l.data,
    blockNumber: quantity(l.blockNumber, 'log blockNumber'),
    blockHash: hash(l.blockHash, 'log blockHash'),
    logIndex: quantity(l.logIndex, 'log logIndex'),
  };
}

/** Whether `log` passes `topics` (lower-case topics expected). */
export function topicsMatch(log: Pick<RawLog, 'topics'>, topics: TopicFilter): boolean {
  return topics.every((want, i) => want === null || (Array.isArray(want) ? want.includes(log.topics[i]!) : want === log.topics[i]));
}

const toHex = (n: number) => `0x${n.toString(16)}`;

const HEADER_BATCH = 500;
const HEADER_BATCHES_IN_FLIGHT = 3;

function resultOf(outcome: RpcOutcome): unknown {
  if (!outcome.ok) throw outcome.error;
  return outcome.result;
}

export class ChainClient {
  private readonly nodes: JsonRpcEndpoint[];
  private preferred = 0;
  private readonly observer: RpcObserver | undefined;
  /** The highest head any call accepted: heads never go backwards (a lower one is a lagging node). */
  private maxHead = -1;

  constructor(
    urls: readonly string[],
    opts: { timeoutMs?: number; observer?: RpcObserver } = {},
  ) {
    if (urls.length === 0) throw new Error('ChainClient needs at least one RPC URL');
    this.observer = opts.observer;
    this.nodes = urls.map((url) => new JsonRpcEndpoint(url, opts.timeoutMs ?? 30_000, opts.observer));
  }

  /** The highest head accepted so far (null before the first). */
  get highestHead(): number | null {
    return this.maxHead >= 0 ? this.maxHead : null;
  }

  /**
   * Runs `call` on the preferred node (or, for a second opinion, the next one), then on each
   * other node in turn, until one gives an answer `call` accepts; the node that answered is
   * preferred from then on. Throws the first node's error when none does.
   */
  private async onSomeNode<T>(call: (node: JsonRpcEndpoint) => Promise<T>, opts: CallOptions): Promise<T> {
    let firstError: unknown;
    const start = this.preferred + (opts.otherNodeFirst ? 1 : 0);
    for (let i = 0; i < this.nodes.length; i++) {
      const index = (start + i) % this.nodes.length;
      const node = this.nodes[index]!;
      try {
        const result = await call(node);
        if (!opts.otherNodeFirst) this.preferred = index;
        return result;
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        if (err instanceof RejectedRpcAnswer) {
          err.message = `${node.label}: ${err.message}`;
          this.observer?.rpcRejected(node.label);
          opts.onRejected?.(err);
        }
        firstError ??= err;
      }
    }
    throw firstError;
  }

  /**
   * The chain head as a header: an eth_blockNumber answer that is not below `floor` nor below
   * any head accepted before, and whose block the same node then serves (a bogus, absurdly
   * high head is a block nobody has).
   */
  async head(opts: CallOptions & { floor?: number } = {}): Promise<BlockHeader> {
    return (await this.headWithLogs([], opts)).head;
  }

  /**
   * The head as `head` reads it and, on the side, in the same JSON-RPC batch as the head's
   * block, every log of each of `blocks` (by hash), checked as blockLogs checks them and by
   * `verify`. `logs` holds, per block, its logs or the RejectedRpcAnswer (named by the node)
   * that refused them. A refused side answer neither refuses the head nor is told to
   * `onRejected`: the caller did not need it yet.
   */
  headWithLogs(
    blocks: readonly BlockHeader[],
    opts: CallOptions & { floor?: number; verify?: (block: BlockHeader, logs: RawLog[]) => void } = {},
  ): Promise<{ head: BlockHeader; logs: Array<RawLog[] | RejectedRpcAnswer> }> {
    return this.onSomeNode(async (node) => {
      const n = quantity(await node.call('eth_blockNumber', [], opts.signal), 'eth_blockNumber');
      const floor = Math.max(this.maxHead, opts.floor ?? -1);
      if (n < floor) throw new RejectedRpcAnswer(`head ${n} is below block ${floor}, seen before`);
      const headCall = { method: 'eth_getBlockByNumber', params: [toHex(n), false] };
      let raw: unknown;
      let logs: Array<RawLog[] | RejectedRpcAnswer> = [];
      if (blocks.length === 0) {
        raw = await node.call(headCall.method, headCall.params, opts.signal);
      } else {
        const [first, ...side] = await node.batch([headCall, ...blocks.map(logsCall)], opts.signal);
        raw = resultOf(first!);
        logs = side.map((outcome, i) => {
          try {
            const entries = logsOfBlock(blocks[i]!, outcome);
            opts.verify?.(blocks[i]!, entries);
            return entries;
          } catch (err) {
            if (!(err instanceof RejectedRpcAnswer)) throw err;
            err.message = `${node.label}: ${err.message}`;
            this.observer?.rpcRejected(node.label);
            return err;
          }
        });
      }
      if (raw === null) throw new RejectedRpcAnswer(`head ${n} is a block the node does not serve`);
      const header = parseBlockHeader(raw, n);
      this.maxHead = Math.max(this.maxHead, n);
      return { head: header, logs };
    }, opts);
  }

  /**
   * Headers of the given blocks, in order, every one of them present. They go out as JSON-RPC
   * batches of HEADER_BATCH calls, a few at a time. `verify` may refuse the whole answer
   * (throwing RejectedRpcAnswer), which sends the request to the next node.
   */
  headers(numbers: readonly number[], opts: CallOptions & { verify?: (headers: BlockHeader[]) => void } = {}): Promise<BlockHeader[]> {
    return this.onSomeNode(async (node) => {
      const chunks: number[][] = [];
      for (let i = 0; i < numbers.length; i += HEADER_BATCH) chunks.push(numbers.slice(i, i + HEADER_BATCH));
      const parts: BlockHeader[][] = new Array(chunks.length);
      await runLimited(chunks.length, HEADER_BATCHES_IN_FLIGHT, async (c) => {
        const chunk = chunks[c]!;
        const outcomes = await node.batch(chunk.map((n) => ({ method: 'eth_getBlockByNumber', params: [toHex(n), false] })), opts.signal);
        parts[c] = outcomes.map((o, i) => {
          const raw = resultOf(o);
          if (raw === null) throw new RejectedRpcAnswer(`the node does not serve block ${chunk[i]}`);
          return parseBlockHeader(raw, chunk[i]!);
        });
      });
      const headers = parts.flat();
      opts.verify?.(headers);
      return headers;
    }, opts);
  }

  /**
   * eth_getLogs over blocks `fromBlock..toBlock`. Every log must lie in the range and pass the
   * filter, or the answer is refused. A provider's refusal of the range (too many blocks or
   * results) is thrown as the node's JsonRpcError, for the caller to narrow the range.
   */
  logs(filter: { address: string; topics: TopicFilter; fromBlock: number; toBlock: number }, opts: CallOptions = {}): Promise<RawLog[]> {
    const address = filter.address.toLowerCase();
    const topics = filter.topics.map((t) => (t === null ? null : Array.isArray(t) ? t.map((x) => x.toLowerCase()) : t.toLowerCase()));
    return this.onSomeNode(async (node) => {
      const answer = await node.call('eth_getLogs', [{ address, topics, fromBlock: toHex(filter.fromBlock), toBlock: toHex(filter.toBlock) }], opts.signal);
      if (!Array.isArray(answer)) throw new RejectedRpcAnswer(`eth_getLogs answered ${JSON.stringify(answer).slice(0, 200)}`);
      const logs = answer.map(parseLog);
      for (const l of logs) {
        if (l.blockNumber < filter.fromBlock || l.blockNumber > filter.toBlock) {
          throw new RejectedRpcAnswer(`eth_getLogs ${filter.fromBlock}..${filter.toBlock} answered a log of block ${l.blockNumber}`);
        }
        if (l.address !== address || !topicsMatch(l, topics)) {
          throw new RejectedRpcAnswer(`eth_getLogs answered a log that does not pass the filter (block ${l.blockNumber}, address ${l.address}, topic ${l.topics[0]})`);
        }
      }
      return logs;
    }, opts);
  }

  /**
   * Every log of each given block (eth_getLogs by block hash, no filter), in one batch. Each
   * log must carry the block's number and hash. `verify` may refuse the answer as a whole.
   */
  blockLogs(blocks: ReadonlyArray<Pick<BlockHeader, 'number' | 'hash'>>, opts: CallOptions & { verify?: (logs: RawLog[][]) => void } = {}): Promise<RawLog[][]> {
    return this.onSomeNode(async (node) => {
      const outcomes = await node.batch(blocks.map(logsCall), opts.signal);
      const logs = outcomes.map((o, i) => logsOfBlock(blocks[i]!, o));
      opts.verify?.(logs);
      return logs;
    }, opts);
  }

  /** eth_call of a view returning one uint256, as a canonical decimal string; at `block` if given. */
  viewUint(contract: string, iface: Interface, fn: string, args: readonly unknown[], block?: number, opts: CallOptions = {}): Promise<string> {
    const call: ViewCall = { contract, iface, fn, args, block };
    return this.onSomeNode(async (node) => uintOf(call, await node.call('eth_call', ethCallParams(call), opts.signal)), opts);
  }

  /**
   * Several such eth_calls in one JSON-RPC batch. A call that a node fails or answers wrongly
   * is asked of the next node (in the next batch), the others are done; the preferred node is
   * asked first. Outcomes in call order: the decimal string, or the error of the first node
   * that failed the call.
   */
  async viewUints(calls: readonly ViewCall[], opts: CallOptions = {}): Promise<Array<{ ok: true; value: string } | { ok: false; error: unknown }>> {
    const outcomes = new Array<{ ok: true; value: string } | { ok: false; error: unknown }>(calls.length);
    const firstError = new Array<unknown>(calls.length);
    let pending = calls.map((_, i) => i);
    for (let k = 0; k < this.nodes.length && pending.length > 0; k++) {
      const node = this.nodes[(this.preferred + k) % this.nodes.length]!;
      let answers: RpcOutcome[];
      try {
        answers = await node.batch(pending.map((i) => ({ method: 'eth_call', params: ethCallParams(calls[i]!) })), opts.signal);
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        for (const i of pending) firstError[i] ??= err;
        continue;
      }
      pending = pending.filter((i, j) => {
        try {
          outcomes[i] = { ok: true, value: uintOf(calls[i]!, resultOf(answers[j]!)) };
          return false;
        } catch (err) {
          if (err instanceof RejectedRpcAnswer) {
            err.message = `${node.label}: ${err.message}`;
            this.observer?.rpcRejected(node.label);
            opts.onRejected?.(err);
          }
          firstError[i] ??= err;
          return true;
        }
      });
    }
    for (const i of pending) outcomes[i] = { ok: false, error: firstError[i] };
    return outcomes;
  }
}

const logsCall = (block: Pick<BlockHeader, 'hash'>) => ({ method: 'eth_getLogs', params: [{ blockHash: block.hash }] });

/** The logs of `block` in a node's answer to eth_getLogs by its hash: each must carry the block's number and hash. */
function logsOfBlock(block: Pick<BlockHeader, 'number' | 'hash'>, o: RpcOutcome): RawLog[] {
  // The header came from the chain a moment ago: a node that now denies the block is behind or reorging.
  if (!o.ok) throw new RejectedRpcAnswer(`eth_getLogs of block ${block.number} (${block.hash}): ${o.error.message}`);
  if (!Array.isArray(o.result)) throw new RejectedRpcAnswer(`eth_getLogs of block ${block.number} answered ${JSON.stringify(o.result).slice(0, 200)}`);
  const entries = o.result.map(parseLog);
  for (const l of entries) {
    if (l.blockHash !== block.hash || l.blockNumber !== block.number) {
      throw new RejectedRpcAnswer(`eth_getLogs of block ${block.number} (${block.hash}) answered a log of block ${l.blockNumber} (${l.blockHash})`);
    }
  }
  return entries;
}

/** An eth_call of a view returning one uint256, at `block` (latest when undefined). */
export interface ViewCall {
  contract: string;
  iface: Interface;
  fn: string;
  args: readonly unknown[];
  block?: number;
}

const ethCallParams = (c: ViewCall) => [{ to: c.contract, data: c.iface.encodeFunctionData(c.fn, c.args) }, c.block === undefined ? 'latest' : toHex(c.block)];

function uintOf(c: ViewCall, answer: unknown): string {
  if (typeof answer !== 'string' || answer === '0x') throw new RejectedRpcAnswer(`${c.fn}: empty answer from ${c.contract} (no contract there?)`);
  const [value] = c.iface.decodeFunctionResult(c.fn, answer);
  return (value as bigint).toString();
}
