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
