/**
 * The bench mines the chain itself, so that it knows when each block came to be: automine and
 * interval mining off, then one evm_mine a second, at a random point of each wall-clock second
 * (timestamps follow the wall clock, and seqflow's polls meet blocks at every phase, as on a real
 * chain, not always at the same one). Transactions sent meanwhile wait in the mempool for the
 * next block, so releases sent together land in one block.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { closingBlock, type MinedBlock } from './measures.js';

export interface ChainClock {
  /** Every block mined since the start, ascending. */
  readonly blocks: readonly MinedBlock[];
  /**
   * Runs `send` (which sends transactions and returns without waiting for their receipts) while
   * the clock waits: what it sends goes into one block.
   */
  together<T>(send: () => Promise<T>): Promise<T>;
  /** When the block closing the window of a release in `releaseBlock` was mined (wall clock, ms): waits for it. */
  windowEnd(releaseBlock: number, windowSeconds: number): Promise<number>;
  stop(): Promise<void>;
}

type Rpc = (calls: Array<{ method: string; params: unknown[] }>) => Promise<unknown[]>;

/** JSON-RPC over HTTP, several calls in one batch; throws on any error. */
function rpcAt(url: string): Rpc {
  return async (calls) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(calls.map((c, id) => ({ jsonrpc: '2.0', id, ...c }))),
    });
    const answers = (await res.json()) as Array<{ id: number; result?: unknown; error?: unknown }>;
    const failed = answers.find((a) => a.error);
    if (failed) throw new Error(`${calls[failed.id]!.method}: ${JSON.stringify(failed.error)}`);
    return answers.sort((a, b) => a.id - b.id).map((a) => a.result);
  };
}

/** Takes over the mining of the Hardhat node at `url` (directly, not through a proxy). */
export async function startChainClock(url: string): Promise<ChainClock> {
  const rpc = rpcAt(url);
  await rpc([
    { method: 'evm_setAutomine', params: [false] },
    { method: 'evm_setIntervalMining', params: [0] },
  ]);
  const blocks: MinedBlock[] = [];
  let holding: Promise<unknown> = Promise.resolve();
  let mining: Promise<unknown> = Promise.resolve();
  let running = true;
  let failure: unknown = null;
  const mined = new Set<() => void>();

  const loop = (async () => {
    while (running) {
      const second = Math.floor(Date.now() / 1000) + 1;
      await sleep(second * 1000 + 50 + Math.random() * 900 - Date.now());
      await holding;
      mining = (async () => {
        // One request after the other: Hardhat answers a batch's calls concurrently.
        await rpc([{ method: 'evm_mine', params: [] }]);
        const minedAtMs = Date.now();
        const [block] = await rpc([{ method: 'eth_getBlockByNumber', params: ['latest', false] }]);
        const { number, timestamp } = block as { number: string; timestamp: string };
        blocks.push({ number: Number(number), timestamp: Number(timestamp), minedAtMs });
      })();
      try {
        await mining;
      } catch (err) {
        if (running) failure = err;
        running = false;
      }
      for (const wake of mined) wake();
      mined.clear();
    }
  })();

  const nextBlock = () => new Promise<void>((resolve) => mined.add(resolve));

  return {
    blocks,
    async together(send) {
      // Not while a block is being mined: a transaction could land in it and the others in the next.
      await mining.catch(() => undefined);
      const sent = send();
      holding = Promise.allSettled([holding, sent]);
      return sent;
    },
    async windowEnd(releaseBlock, windowSeconds) {
      for (;;) {
        const block = closingBlock(blocks, releaseBlock, windowSeconds);
        if (block) return block.minedAtMs;
        if ((blocks.at(-1)?.number ?? -1) > releaseBlock && !blocks.some((b) => b.number === releaseBlock)) throw new Error(`block ${releaseBlock} was not mined by the chain clock`);
        if (!running) throw new Error(`the chain clock stopped before the window of block ${releaseBlock} closed${failure ? `: ${String(failure)}` : ''}`);
        await nextBlock();
      }
    },
    async stop() {
      running = false;
      await loop;
    },
  };
}
