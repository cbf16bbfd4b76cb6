/**
 * JSON-RPC access to the protocol chain through ethers, over one or more nodes (`RPC_NODES`):
 * a call that fails on one node is tried on the next, and the node that answered is preferred
 * from then on. Answers are checked before use: a malformed one is an error to retry, never
 * a number silently taken as zero.
 */
import { FetchRequest, JsonRpcProvider, type Interface } from 'ethers';
import { runLimited } from '../domain/concurrency.js';

export interface BlockHeader {
  number: number;
  /** Lower-case 0x hash, the form snapshotters put in their `header`. */
  hash: string;
  parentHash: string;
  timestamp: number;
}

export interface RawLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: number;
  blockHash: string;
  logIndex: number;
  removed: boolean;
}

export class MalformedRpcAnswer extends Error {
  override name = 'MalformedRpcAnswer';
}

const HASH = /^0x[0-9a-f]{64}$/;
const QUANTITY = /^0x[0-9a-f]+$/i;

function quantity(value: unknown, what: string): number {
  if (typeof value !== 'string' || !QUANTITY.test(value)) throw new MalformedRpcAnswer(`${what}: expected a hex quantity, got ${JSON.stringify(value)}`);
  const n = Number(BigInt(value));
  if (!Number.isSafeInteger(n)) throw new MalformedRpcAnswer(`${what}: ${value} is out of range`);
  return n;
}

function hash(value: unknown, what: string): string {
  const lower = typeof value === 'string' ? value.toLowerCase() : value;
  if (typeof lower !== 'string' || !HASH.test(lower)) throw new MalformedRpcAnswer(`${what}: expected a 32-byte hash, got ${JSON.stringify(value)}`);
  return lower;
}

export function parseBlockHeader(raw: unknown, expectedNumber: number): BlockHeader {
  if (raw === null || typeof raw !== 'object') throw new MalformedRpcAnswer(`block ${expectedNumber}: no block in the answer`);
  const b = raw as Record<string, unknown>;
  const header = {
    number: quantity(b.number, `block ${expectedNumber} number`),
    hash: hash(b.hash, `block ${expectedNumber} hash`),
    parentHash: hash(b.parentHash, `block ${expectedNumber} parentHash`),
    timestamp: quantity(b.timestamp, `block ${expectedNumber} timestamp`),
  };
  if (header.number !== expectedNumber) throw new MalformedRpcAnswer(`asked for block ${expectedNumber}, got block ${header.number}`);
  return header;
}

export function parseLog(raw: unknown): RawLog {
  if (raw === null || typeof raw !== 'object') throw new MalformedRpcAnswer(`log entry is ${JSON.stringify(raw)}`);
  const l = raw as Record<string, unknown>;
  if (typeof l.address !== 'string' || typeof l.data !== 'string' || !Array.isArray(l.topics) || !l.topics.every((t) => typeof t === 'string')) {
    throw new MalformedRpcAnswer(`log entry lacks address, data or topics: ${JSON.stringify(raw).slice(0, 300)}`);
  }
  return {
    address: l.address,
    topics: l.topics as string[],
    data: l.data,
    blockNumber: quantity(l.blockNumber, 'log blockNumber'),
    blockHash: hash(l.blockHash, 'log blockHash'),
    logIndex: quantity(l.logIndex, 'log logIndex'),
    removed: l.removed === true,
  };
}

const toHex = (n: number) => `0x${n.toString(16)}`;

const HEADER_BATCH = 500;
const HEADER_BATCHES_IN_FLIGHT = 3;

async function batchHeaders(provider: JsonRpcProvider, numbers: readonly number[]): Promise<BlockHeader[]> {
  const answers = await provider._send(numbers.map((n, id) => ({ id, jsonrpc: '2.0', method: 'eth_getBlockByNumber', params: [toHex(n), false] })));
  const byId = new Map(answers.map((a) => [a.id, a]));
  return numbers.map((n, id) => {
    const answer = byId.get(id);
    if (!answer) throw new MalformedRpcAnswer(`no answer for block ${n} in a batch of ${numbers.length}`);
    if ('error' in answer) throw new Error(`eth_getBlockByNumber(${n}) failed: ${JSON.stringify(answer.error)}`);
    return parseBlockHeader(answer.result, n);
  });
}

let fetchTransportInstalled = false;

/**
 * ethers' default Node transport rebuilds the body on every chunk, which makes large
 * eth_getLogs answers quadratically slow (toolchain.md §9); use fetch instead.
 */
function installFetchTransport(): void {
  if (fetchTransportInstalled) return;
  fetchTransportInstalled = true;
  FetchRequest.registerGetUrl(async (req, signal) => {
    const controller = new AbortController();
    signal?.addListener(() => controller.abort());
    const timer = setTimeout(() => controller.abort(), req.timeout);
    try {
      const res = await fetch(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body ? Buffer.from(req.body) : undefined,
        signal: controller.signal,
      });
      const headers: Record<string, string> = {};
      res.headers.forEach((v, k) => (headers[k] = v));
      return { statusCode: res.status, statusMessage: res.statusText, headers, body: new Uint8Array(await res.arrayBuffer()) };
    } finally {
      clearTimeout(timer);
    }
  });
}

export class ChainClient {
  private readonly providers: JsonRpcProvider[];
  private preferred = 0;

  constructor(urls: readonly string[], opts: { timeoutMs?: number } = {}) {
    if (urls.length === 0) throw new Error('ChainClient needs at least one RPC URL');
    installFetchTransport();
    this.providers = urls.map((url) => {
      const request = new FetchRequest(url);
      request.timeout = opts.timeoutMs ?? 30_000;
      // staticNetwork: no eth_chainId probe per call; batchMaxCount: concurrent sends share a request.
      return new JsonRpcProvider(request, undefined, { staticNetwork: true, batchMaxCount: 100 });
    });
  }

  /** Runs `call` on the preferred node, then on each other node in turn, until one answers. */
  private async withFailover<T>(call: (provider: JsonRpcProvider) => Promise<T>): Promise<T> {
    let firstError: unknown;
    for (let i = 0; i < this.providers.length; i++) {
      const index = (this.preferred + i) % this.providers.length;
      try {
        const result = await call(this.providers[index]!);
        this.preferred = index;
        return result;
      } catch (err) {
        firstError ??= err;
      }
    }
    throw firstError;
  }

  /** The head from eth_blockNumber: ethers' getBlockNumber() is cached and goes stale. */
  blockNumber(): Promise<number> {
    return this.withFailover(async (p) => quantity(await p.send('eth_blockNumber', []), 'eth_blockNumber'));
  }

  /** Headers of blocks `from..to` inclusive, fetched concurrently so ethers batches the requests. */
  headers(from: number, to: number): Promise<BlockHeader[]> {
    const numbers = Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
    return this.headersOf(numbers);
  }

  /**
   * Headers of the given blocks, in order. Catch-up needs one per block, so they go out as
   * JSON-RPC batches of HEADER_BATCH calls, a few batches at a time: about three times faster
   * than ethers' own batching of 100.
   */
  headersOf(numbers: readonly number[]): Promise<BlockHeader[]> {
    return this.withFailover(async (p) => {
      const chunks: number[][] = [];
      for (let i = 0; i < numbers.length; i += HEADER_BATCH) chunks.push(numbers.slice(i, i + HEADER_BATCH));
      const headers: BlockHeader[][] = new Array(chunks.length);
      await runLimited(chunks.length, HEADER_BATCHES_IN_FLIGHT, async (c) => {
        headers[c] = await batchHeaders(p, chunks[c]!);
      });
      return headers.flat();
    });
  }

  logs(filter: { address: string; topics: Array<string | string[] | null>; fromBlock: number; toBlock: number }): Promise<RawLog[]> {
    return this.withFailover(async (p) => {
      const answer: unknown = await p.send('eth_getLogs', [
        { address: filter.address, topics: filter.topics, fromBlock: toHex(filter.fromBlock), toBlock: toHex(filter.toBlock) },
      ]);
      if (!Array.isArray(answer)) throw new MalformedRpcAnswer(`eth_getLogs answered ${JSON.stringify(answer).slice(0, 200)}`);
      return answer.map(parseLog);
    });
  }

  /** eth_call of a view returning one uint256, as a canonical decimal string; at `block` if given. */
  viewUint(contract: string, iface: Interface, fn: string, args: readonly unknown[], block?: number): Promise<string> {
    return this.withFailover(async (p) => {
      const data = iface.encodeFunctionData(fn, args);
      const answer: unknown = await p.send('eth_call', [{ to: contract, data }, block === undefined ? 'latest' : toHex(block)]);
      if (typeof answer !== 'string' || answer === '0x') throw new MalformedRpcAnswer(`${fn}: empty answer from ${contract} (no contract there?)`);
      const [value] = iface.decodeFunctionResult(fn, answer);
      return (value as bigint).toString();
    });
  }

  destroy(): void {
    for (const p of this.providers) p.destroy();
  }
}
