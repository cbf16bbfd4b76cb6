/**
 * The span of eth_getLogs requests over old blocks: it grows after each answer, shrinks when a
 * provider refuses a span (too many blocks or too many results), and follows a span the
 * provider suggests or states. After a refusal it holds for a while before growing again, so
 * that a provider's limit costs a refusal now and then, not every other request. A stated
 * limit is never exceeded again. `LOG_RANGE_BLOCKS` caps it. Pure: no I/O.
 */
import { JsonRpcError, RpcTransportError } from '../chain/jsonrpc.js';

/** Why a provider refused a span, and the span it suggests or allows, if it says so. */
export interface RangeRefusal {
  /** Largest span, in blocks, that the provider suggested or named as its limit. */
  maxBlocks?: number;
  /** True when the provider states a fixed block limit (not a result count that depends on the blocks). */
  fixedLimit: boolean;
}

const REFUSAL_PHRASES = [
  /more than \d[\d,]* results/i,
  /too many (results|logs|blocks)/i,
  /response size (exceeded|should not exceed|is larger)/i,
  /(block )?range (is )?(too (large|wide|big))/i,
  /range (limit )?exceed/i,
  /exceeds? (the )?(max(imum)?|limit)/i,
  /limit(ed)? (of|to) (a )?\d[\d,.]*k? (block|range)/i,
  /(block )?range limit/i,
  /max(imum)? (block )?range/i,
  /ranges? over \d[\d,]* blocks/i,
  /query timeout|statement timeout|timed? ?out/i,
];

/** A span named in a refusal: a suggested `[0xA, 0xB]`, reth's `A-B`, Infura's `data: {from, to}`, or a stated limit. */
function suggestedSpan(message: string, data: unknown): { blocks: number; fixed: boolean } | undefined {
  if (data !== null && typeof data === 'object') {
    const { from, to } = data as { from?: unknown; to?: unknown };
    if (typeof from === 'string' && typeof to === 'string' && /^0x[0-9a-f]+$/i.test(from) && /^0x[0-9a-f]+$/i.test(to)) {
      return { blocks: Number(BigInt(to) - BigInt(from)) + 1, fixed: false };
    }
  }
  const hexPair = /\[\s*(0x[0-9a-f]+)\s*,\s*(0x[0-9a-f]+)\s*\]/i.exec(message);
  if (hexPair) return { blocks: Number(BigInt(hexPair[2]!) - BigInt(hexPair[1]!)) + 1, fixed: false };
  const decimalPair = /range[^0-9]{0,20}(\d+)\s*(?:-|\.\.|to)\s*(\d+)/i.exec(message);
  if (decimalPair) return { blocks: Number(decimalPair[2]) - Number(decimalPair[1]) + 1, fixed: false };
  // A stated limit: "limited to a 10,000 range", "maximum block range: 5000", "max is 1k blocks", "limit of 1000 blocks".
  const stated = /(?:max(?:imum)?|limit(?:ed)?|range|up to)[^0-9]{0,25}?(\d[\d,]*)(\s*k\b)?/i.exec(message) ?? /(\d[\d,]*)(\s*k)?\s*-?\s*blocks?\b/i.exec(message);
  if (stated) {
    const n = Number(stated[1]!.replace(/,/g, '')) * (stated[2] ? 1000 : 1);
    if (Number.isSafeInteger(n) && n > 0) return { blocks: n, fixed: true };
  }
  return undefined;
}

/**
 * Whether an eth_getLogs error is a provider refusing the span, and what span it names. A
 * timeout counts (a too large answer takes too long); connection errors and other failures do
 * not (returns null): a narrower range would not help them.
 */
export function rangeRefusalOf(err: unknown): RangeRefusal | null {
  if (err instanceof RpcTransportError) return err.timedOut ? { fixedLimit: false } : null;
  if (!(err instanceof JsonRpcError)) return null;
  const text = `${err.rpcMessage} ${typeof err.data === 'string' ? err.data : err.data && typeof err.data === 'object' ? JSON.stringify(err.data) : ''}`;
  // -32005 is EIP-1474's "limit exceeded"; other codes vary by provider, their words do not.
  if (err.code !== -32005 && !REFUSAL_PHRASES.some((p) => p.test(text))) return null;
  const span = suggestedSpan(text, err.data);
  return span ? { maxBlocks: Math.max(1, span.blocks), fixedLimit: span.fixed } : { fixedLimit: false };
}

/** Answers after a refusal before the span grows again. */
export const REGROW_AFTER = 32;

export class AdaptiveRange {
  private current: number;
  /** A provider's stated block limit: growth never passes it again. */
  private ceiling: number;
  private answersSinceRefusal = REGROW_AFTER;

  constructor(
    readonly cap: number,
    initial = Math.min(cap, 1000),
  ) {
    if (!Number.isSafeInteger(cap) || cap < 1) throw new RangeError(`range cap must be a positive integer, got ${cap}`);
    this.current = Math.max(1, Math.min(initial, cap));
    this.ceiling = cap;
  }

  /** Blocks per request now. */
  get size(): number {
    return this.current;
  }

  /** An answer came back: double, up to the cap and any stated limit, unless a refusal is recent. */
  grow(): void {
    if (++this.answersSinceRefusal < REGROW_AFTER) return;
    this.current = Math.min(this.ceiling, this.current * 2);
  }

  /** The provider refused a span of `requested` blocks: take its suggestion if smaller, else half. */
  shrink(requested: number, refusal: RangeRefusal): void {
    const half = Math.max(1, Math.floor(requested / 2));
    const next = refusal.maxBlocks !== undefined && refusal.maxBlocks < requested ? refusal.maxBlocks : half;
    if (refusal.fixedLimit && refusal.maxBlocks !== undefined) this.ceiling = Math.max(1, Math.min(this.ceiling, refusal.maxBlocks));
    this.current = Math.max(1, Math.min(next, this.ceiling));
    this.answersSinceRefusal = 0;
  }
}
