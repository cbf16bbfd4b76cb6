/**
 * Submission window arithmetic. The window opens at the release block's timestamp, so a
 * collector catching up after downtime does not stretch it; a chain clock ahead of ours is
 * clamped to our clock so that a window never lasts longer than its length from now.
 */
export function windowClosesAtMs(releaseBlockTimestampSec: number, windowSeconds: number, nowMs: number): number {
  const opensAtMs = Math.min(releaseBlockTimestampSec * 1000, nowMs);
  return opensAtMs + windowSeconds * 1000;
}

export function msUntilWindowCloses(releaseBlockTimestampSec: number, windowSeconds: number, nowMs: number): number {
  return Math.max(0, windowClosesAtMs(releaseBlockTimestampSec, windowSeconds, nowMs) - nowMs);
}

/** For this long after the first block that can close a window is due, its head is read every FAST_POLL_MS. */
export const FAST_POLL_SPAN_MS = 3000;
export const FAST_POLL_MS = 50;

/**
 * The wait (ms) before the next head read while a window ends at `endSec` (the chain's clock,
 * seconds). Block timestamps are whole seconds, so no block can close the window before
 * `endSec + 1`: until then, at most `pollIntervalMs` (a chain clock ahead of ours is seen
 * within a poll). For FAST_POLL_SPAN_MS from then the closing block is due, and every
 * FAST_POLL_MS of delay would be epoch latency; after, every `pollIntervalMs` again.
 */
export function msUntilNextWindowPoll(endSec: number, nowMs: number, pollIntervalMs: number): number {
  const closerDueMs = (endSec + 1) * 1000;
  if (nowMs < closerDueMs) return Math.max(1, Math.min(closerDueMs - nowMs, pollIntervalMs));
  return nowMs < closerDueMs + FAST_POLL_SPAN_MS ? Math.min(FAST_POLL_MS, pollIntervalMs) : pollIntervalMs;
}
