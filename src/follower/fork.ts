/**
 * Chain-shape checks of the follower, pure: whether a node's headers form a chain, and where a
 * node's chain and the canonical hashes seqflow recorded part (the fork point of a reorg).
 */
import { BrokenHashChain, type BlockHeader } from '../chain/rpc.js';

/** Throws BrokenHashChain unless each header's parentHash is the hash of the header before (and of `anchor`, if given, for the first). */
export function assertLinked(headers: readonly BlockHeader[], anchor?: { number: number; hash: string } | null): void {
  let previous = anchor ?? null;
  for (const h of headers) {
    if (previous !== null && h.number === previous.number + 1 && h.parentHash !== previous.hash) {
      throw new BrokenHashChain(`block ${h.number}'s parentHash ${h.parentHash} is not the hash ${previous.hash} of block ${previous.number} in the same answer`, h.number);
    }
    if (previous !== null && h.number !== previous.number + 1) throw new BrokenHashChain(`headers skip from block ${previous.number} to ${h.number}`, h.number);
    previous = h;
  }
}

/**
 * Walks down from the highest of the node's `headers` (consecutive, linked) to the highest block
 * whose hash equals the recorded canonical one. Returns its number, or null when no block of
 * `headers` matches (the fork lies deeper than the headers reach, or nothing was recorded).
 */
export function findForkPoint(headers: readonly BlockHeader[], recorded: (blockNumber: number) => string | null | undefined): number | null {
  for (let i = headers.length - 1; i >= 0; i--) {
    const h = headers[i]!;
    if (recorded(h.number) === h.hash) return h.number;
  }
  return null;
}
