/**
 * What `seqflow status --watch` draws, as pure functions of what `describeMarket` (src/status.ts)
 * returns: the per-market view, the follower's speed from successive samples of its cursor,
 * the time left to catch up, and the text of one frame. No I/O, no clock: the caller passes
 * the sample times, so that everything here is tested directly (test/unit/watch-view.test.ts).
 */
import type { MarketRow } from '../status.js';

/** A market's lag (blocks behind the head) up to which it counts as following, not catching up. */
export const CAUGHT_UP_LAG = 16;

/** How far back the speed looks: heartbeats come every second or so, a 10 s span smooths them. */
export const RATE_WINDOW_MS = 10_000;

/** The fields of a status row the live view shows, typed; absent or mistyped fields are null. */
export interface MarketView {
  market: string;
  /** Temporal's status of the market workflow: RUNNING, COMPLETED, TERMINATED, NOT STARTED, ... */
  workflow: string | null;
  /** following, paused, halted, stopping, stopped, waiting for a worker, unknown; null when the row has none. */
  state: string | null;
  health: string | null;
  /** The follower's cursor: the next block it scans (so the last block followed is one below). */
  nextBlock: number | null;
  head: number | null;
  /** Blocks between the head and the last block followed. */
  headLag: number | null;
  day: string | null;
  lastEpochId: string | null;
  openEpochs: string[];
  epochsBatched: number | null;
  epochsFailed: number | null;
  epochsOrphaned: number | null;
  problems: Array<{ kind: string; since: string; detail: string }>;
  /** Why the status could not be read (a status query no worker answered). */
  error: string | null;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The typed view of one row of `describeMarket`; the row's shape is not changed, only read. */
export function marketView(row: MarketRow): MarketView {
  const problems = Array.isArray(row.problems)
    ? row.problems.flatMap((p: unknown) => {
        if (p === null || typeof p !== 'object') return [];
        const { kind, since, detail } = p as Record<string, unknown>;
        return typeof kind === 'string' ? [{ kind, since: str(since) ?? '', detail: str(detail) ?? '' }] : [];
      })
    : [];
  return {
    market: row.market,
    workflow: str(row.workflow),
    state: str(row.state),
    health: str(row.health),
    nextBlock: num(row.nextBlock),
    head: num(row.head),
    headLag: num(row.headLag),
    day: str(row.day),
    lastEpochId: str(row.lastEpochId),
    openEpochs: Array.isArray(row.openEpochs) ? row.openEpochs.filter((e): e is string => typeof e === 'string') : [],
    epochsBatched: num(row.epochsBatched),
    epochsFailed: num(row.epochsFailed),
    epochsOrphaned: num(row.epochsOrphaned),
    problems,
    error: str(row.error),
  };
}

/** One sample of a market's follower: when (ms since the epoch), its cursor and the head. */
export interface CursorSample {
  atMs: number;
  nextBlock: number;
  head: number;
}

/** Speeds in blocks per second over the samples kept: the follower's and the chain head's. */
export interface Speeds {
  cursorPerSecond: number;
  headPerSecond: number;
}

/**
 * Successive cursor samples per market, RATE_WINDOW_MS of them, and the speeds they give. A
 * cursor that goes back (a rewind, a reorg walked back, a new run) starts the samples again.
 */
export class SpeedTracker {
  private readonly samples = new Map<string, CursorSample[]>();

  /** Adds a sample of `market` (ignored without both a cursor and a head) and returns its speeds, if two samples at least 1 s apart exist. */
  add(market: string, sample: { atMs: number; nextBlock: number | null; head: number | null }): Speeds | null {
    const { atMs, nextBlock, head } = sample;
    if (nextBlock === null || head === null) {
      this.samples.delete(market);
      return null;
    }
    let kept = this.samples.get(market) ?? [];
    const last = kept.at(-1);
    if (last && (nextBlock < last.nextBlock || atMs < last.atMs)) kept = [];
    kept.push({ atMs, nextBlock, head });
    // Keep the newest sample older than the window too, so that the span covers the whole window.
    while (kept.length > 2 && atMs - kept[1]!.atMs >= RATE_WINDOW_MS) kept.shift();
    this.samples.set(market, kept);
    return speedsOf(kept);
  }
}

/** Speeds between the first and the last sample, or null if they are less than 1 s apart. */
export function speedsOf(samples: readonly CursorSample[]): Speeds | null {
  const first = samples[0];
  const last = samples.at(-1);
  if (!first || !last || last.atMs - first.atMs < 1000) return null;
  const seconds = (last.atMs - first.atMs) / 1000;
  return { cursorPerSecond: (last.nextBlock - first.nextBlock) / seconds, headPerSecond: (last.head - first.head) / seconds };
}

/**
 * Seconds until a market catching up reaches the head: its lag over the speed at which it
 * closes the gap (its own speed minus the head's). null when it is not catching up (lag at
 * most CAUGHT_UP_LAG), or when the speeds are not known; Infinity when the gap does not close.
 */
export function etaSeconds(headLag: number | null, speeds: Speeds | null): number | null {
  if (headLag === null || headLag <= CAUGHT_UP_LAG || speeds === null) return null;
  const closing = speeds.cursorPerSecond - speeds.headPerSecond;
  return closing > 0 ? headLag / closing : Infinity;
}

/** A duration for a person: `45s`, `3m05s`, `2h07m`, `3d04h`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${pad(Math.floor((s % 86_400) / 3600))}h`;
}

/** A speed in blocks per second: one decimal below 100, none from there. */
export function formatSpeed(perSecond: number): string {
  return `${perSecond < 100 ? perSecond.toFixed(1) : Math.round(perSecond)} blocks/s`;
}

/** Open epochs shown by id: the last few, the others counted. */
const OPEN_EPOCHS_SHOWN = 5;

const dash = (v: string | number | null) => (v === null ? '-' : String(v));

/**
 * The lines of one market: `<market>  <state>  <health>`, then block / head, lag, and for a
 * running market its speed (and its ETA while it catches up), then epochs and failures, then
 * one line per problem (or the error that kept the status from being read). A market without a
 * state (not started, terminated) shows its workflow status instead.
 */
export function formatMarket(view: MarketView, speeds: Speeds | null): string[] {
  const state = view.state ?? (view.workflow === null ? 'unknown' : view.workflow.toLowerCase());
  const lines = [`${view.market}  ${state}${view.health === null ? '' : `  ${view.health}`}`];
  if (view.nextBlock !== null || view.head !== null) {
    const block = view.nextBlock === null ? null : view.nextBlock - 1;
    const parts = [`block ${dash(block)} / head ${dash(view.head)}`, `lag ${dash(view.headLag)}`];
    // A closed run's cursor no longer moves: a speed or an ETA would say nothing about it.
    if (view.workflow === 'RUNNING') parts.push(speeds === null ? '- blocks/s' : formatSpeed(Math.max(0, speeds.cursorPerSecond)));
    const eta = view.state === 'following' ? etaSeconds(view.headLag, speeds) : null;
    if (eta !== null) parts.push(Number.isFinite(eta) ? `ETA ${formatDuration(eta)}` : 'ETA - (not gaining on the head)');
    lines.push(`  ${parts.join('   ')}`);
  }
  if (view.lastEpochId !== null || view.epochsBatched !== null) {
    const open = view.openEpochs;
    const shown = open.slice(-OPEN_EPOCHS_SHOWN).join(', ');
    const openText = open.length === 0 ? 'open 0' : `open ${open.length}: ${open.length > OPEN_EPOCHS_SHOWN ? `…, ${shown}` : shown}`;
    lines.push(`  epoch ${dash(view.lastEpochId)} (day ${dash(view.day)})   ${openText}   batched ${dash(view.epochsBatched)}   failed ${dash(view.epochsFailed)}   orphaned ${dash(view.epochsOrphaned)}`);
  }
  for (const p of view.problems) lines.push(`  problem: ${p.kind} since ${p.since}: ${p.detail}`);
  if (view.error !== null) lines.push(`  error: ${view.error}`);
  return lines;
}

/** A frame: a title line with the time of the sample, then each market's lines, a blank line between markets. */
export function formatFrame(at: Date, markets: ReadonlyArray<{ view: MarketView; speeds: Speeds | null }>, note?: string): string {
  const title = `seqflow status --watch   ${at.toISOString().replace(/\.\d+Z$/, 'Z')}   (Ctrl-C to quit)`;
  const blocks = markets.map(({ view, speeds }) => formatMarket(view, speeds).join('\n'));
  return [title, ...(note === undefined ? [] : [note]), '', blocks.join('\n\n')].join('\n');
}
