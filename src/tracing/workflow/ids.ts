/**
 * Trace and span ids that seqflow derives instead of drawing at random, so that two places that
 * never talk can name the same span: the follower, which finds an epoch's release, and the
 * epoch's workflow, started later by the market, both know the epoch's trace and its root span
 * from the market, the epoch id and the release block; a workflow replayed on another worker
 * names its spans as the first run did. Pure and deterministic: it also runs in the workflow
 * sandbox (no Math.random, no clock, no I/O).
 *
 * Formats are W3C Trace Context's (https://www.w3.org/TR/trace-context/): a trace id is 32
 * lower-case hex digits, a span id 16, neither all zeros; `traceparent` is
 * `00-<trace id>-<span id>-<flags>`.
 */

/** The Temporal header that carries the trace context, as @temporalio/interceptors-opentelemetry names it (its TRACE_HEADER). */
export const TRACE_HEADER = '_tracer-data';

/** A span's place: its trace and its own id (W3C hex). */
export interface SpanRef {
  traceId: string;
  spanId: string;
}

const MASK_64 = (1n << 64n) - 1n;
const MASK_128 = (1n << 128n) - 1n;
const FNV_128_OFFSET = 0x6c62272e07bb014262b821756295c58dn;
const FNV_128_PRIME = 0x0000000001000000000000000000013bn;

/** MurmurHash3's 64-bit finaliser: a bijection that spreads every input bit over the output. */
function fmix64(k: bigint): bigint {
  k ^= k >> 33n;
  k = (k * 0xff51afd7ed558ccdn) & MASK_64;
  k ^= k >> 33n;
  k = (k * 0xc4ceb9fe1a85ec53n) & MASK_64;
  return k ^ (k >> 33n);
}

/**
 * 128 bits from `parts`: FNV-1a over each part's UTF-16 code units, each part prefixed with its
 * length (so that no two lists of parts give the same input), then both halves mixed. Distinct
 * inputs of one length never collide (FNV's step and the mix are bijections); ids need no more.
 */
export function hash128(parts: readonly string[]): bigint {
  let h = FNV_128_OFFSET;
  const step = (byte: number) => {
    h = ((h ^ BigInt(byte)) * FNV_128_PRIME) & MASK_128;
  };
  for (const part of parts) {
    const text = `${part.length}:${part}`;
    for (let i = 0; i < text.length; i++) {
      const unit = text.charCodeAt(i);
      step(unit & 0xff);
      step(unit >> 8);
    }
  }
  let hi = h >> 64n;
  let lo = h & MASK_64;
  lo = fmix64(lo ^ hi);
  hi = fmix64(hi ^ lo);
  return (hi << 64n) | lo;
}

const hex = (value: bigint, digits: number) => (value === 0n ? 1n : value).toString(16).padStart(digits, '0');

/** A trace id (32 hex digits, never all zeros) named by `parts`. */
export function traceIdOf(...parts: string[]): string {
  return hex(hash128(['seqflow-trace', ...parts]), 32);
}

/** A span id (16 hex digits, never all zeros) named by `parts`. */
export function spanIdOf(...parts: string[]): string {
  return hex(hash128(['seqflow-span', ...parts]) & MASK_64, 16);
}

/**
 * The epoch's trace: one per epoch of a market in a namespace, whichever release, run or retry.
 * `market` in any letter case; `epochId` as seqflow writes it (a decimal string).
 */
export function epochTraceId(namespace: string, market: string, epochId: string): string {
  return traceIdOf('epoch', namespace, market.toLowerCase(), epochId);
}

/**
 * The epoch's root span, for its release in block `releaseBlockHash` (empty for runs from before
 * 0.3.0, which lack it): the span of the epoch run started for that release, and the parent of
 * the follower's span of that release.
 */
export function epochRootSpan(namespace: string, market: string, epochId: string, releaseBlockHash: string): SpanRef {
  const traceId = epochTraceId(namespace, market, epochId);
  return { traceId, spanId: spanIdOf('epoch', traceId, releaseBlockHash.toLowerCase()) };
}

/** The span of a workflow run in trace `traceId`. */
export function runSpanId(namespace: string, workflowId: string, runId: string): string {
  return spanIdOf('run', namespace, workflowId, runId);
}

/** `traceparent` of a sampled span (flags 01: every span seqflow derives is recorded). */
export function traceparent(ref: SpanRef): string {
  return `00-${ref.traceId}-${ref.spanId}-01`;
}

/** The span a `traceparent` names, or undefined for anything that is no valid version-00 one. */
export function parseTraceparent(text: unknown): SpanRef | undefined {
  if (typeof text !== 'string') return undefined;
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/.exec(text.trim());
  if (!match || /^0+$/.test(match[1]!) || /^0+$/.test(match[2]!)) return undefined;
  return { traceId: match[1]!, spanId: match[2]! };
}
