/**
 * Ethereum log blooms (Yellow Paper §4.3.1, `M3:2048`): every log adds its address and each of
 * its topics; each item sets the 3 bits given by the low 11 bits of the first three byte pairs
 * of its keccak-256 hash. A block's `logsBloom` is the union over its logs. Two uses here:
 * - a bloom without the followed items proves a block has no followed log (no request needed);
 * - the bloom of a block's logs as a node answered them must be the block's `logsBloom`, or the
 *   answer is missing logs (a lagging replica's `[]`, a truncated list).
 */
import { getBytes, keccak256 } from 'ethers';

export const BLOOM_BYTES = 256;

/** The three bit positions (0..2047, counted from the least significant bit) of one item. */
function bitsOf(item: string): [number, number, number] {
  const h = getBytes(keccak256(item));
  return [((h[0]! << 8) | h[1]!) & 2047, ((h[2]! << 8) | h[3]!) & 2047, ((h[4]! << 8) | h[5]!) & 2047];
}

const hasBit = (bloom: Uint8Array, bit: number) => (bloom[BLOOM_BYTES - 1 - (bit >> 3)]! & (1 << (bit & 7))) !== 0;

/** `0x` + 512 hex digits → 256 bytes. */
export function parseBloom(hex: string): Uint8Array {
  const bytes = getBytes(hex);
  if (bytes.length !== BLOOM_BYTES) throw new RangeError(`a bloom has ${BLOOM_BYTES} bytes, got ${bytes.length}`);
  return bytes;
}

/** Whether the bloom may hold `item` (an address or a topic, 0x hex): false is certain, true may be a false positive. */
export function bloomMayContain(bloom: Uint8Array, item: string): boolean {
  return bitsOf(item).every((bit) => hasBit(bloom, bit));
}

/** The bloom of these logs, as `0x` hex: what a block holding exactly them has as `logsBloom`. */
export function bloomOfLogs(logs: ReadonlyArray<{ address: string; topics: readonly string[] }>): string {
  const bloom = new Uint8Array(BLOOM_BYTES);
  for (const log of logs) {
    for (const item of [log.address, ...log.topics]) {
      for (const bit of bitsOf(item)) bloom[BLOOM_BYTES - 1 - (bit >> 3)]! |= 1 << (bit & 7);
    }
  }
  return `0x${Buffer.from(bloom).toString('hex')}`;
}

/**
 * Whether a block with this bloom may hold a log from `address` whose topic at each position
 * is one of the given topics (null: any). False means certainly not.
 */
export function bloomMayMatch(bloom: Uint8Array, address: string, topics: ReadonlyArray<readonly string[] | null>): boolean {
  if (!bloomMayContain(bloom, address)) return false;
  return topics.every((alternatives) => alternatives === null || alternatives.some((t) => bloomMayContain(bloom, t)));
}
