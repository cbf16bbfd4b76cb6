/**
 * `seqflow status --watch`: the markets' status sampled every second and drawn in place while
 * stdout is a terminal (log-update), or written as one plain block of lines per sample, with no
 * escape codes, when it is not (a pipe, a file). What is drawn: src/cli/watch-view.ts.
 */
import type { Client } from '@temporalio/client';
import { createLogUpdate } from 'log-update';
import { describeMarket } from '../status.js';
import { SpeedTracker, formatFrame, marketView, type MarketView, type Speeds } from './watch-view.js';

/** One sample, and one redraw, per second. */
export const WATCH_INTERVAL_MS = 1000;

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** `work`, or null as soon as `signal` aborts (a status query may wait up to its 10 s deadline: Ctrl-C does not). */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T | null> {
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
    const settled = () => signal.removeEventListener('abort', onAbort);
    work.then(
      (value) => {
        settled();
        resolve(value);
      },
      (err: unknown) => {
        settled();
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/**
 * Samples `markets` through `describeMarket` every WATCH_INTERVAL_MS (a sample that takes longer
 * is drawn when it comes) and draws each frame to `out`, until `signal` aborts; then leaves the
 * last frame on screen and the cursor shown. A sample that fails (Temporal gone for a moment)
 * redraws the last markets with the error, and the next second tries again.
 */
export async function watchStatus(client: Client, markets: readonly string[], out: NodeJS.WriteStream, signal: AbortSignal): Promise<void> {
  const tracker = new SpeedTracker();
  const live = out.isTTY ? createLogUpdate(out) : null;
  const draw = (frame: string) => (live ? live(frame) : out.write(`${frame}\n\n`));
  let shown: Array<{ view: MarketView; speeds: Speeds | null }> = [];
  try {
    while (!signal.aborted) {
      const started = Date.now();
      let note: string | undefined;
      try {
        const rows = await unlessAborted(Promise.all(markets.map((m) => describeMarket(client, m))), signal);
        if (rows === null) break;
        const atMs = Date.now();
        shown = rows.map((row) => {
          const view = marketView(row);
          return { view, speeds: tracker.add(view.market, { atMs, nextBlock: view.nextBlock, head: view.head }) };
        });
      } catch (err) {
        note = `cannot read the status now (retrying every second): ${err instanceof Error ? err.message : String(err)}`;
      }
      draw(formatFrame(new Date(), shown, note));
      await pause(WATCH_INTERVAL_MS - (Date.now() - started), signal);
    }
  } finally {
    live?.done();
  }
}
