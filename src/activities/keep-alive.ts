/**
 * Heartbeats that keep going while an activity waits (an RPC call, a Redis command, a relayer
 * request): every second, the activity's last heartbeat details are sent again. A worker killed
 * meanwhile is then noticed within the activity's heartbeat timeout (seconds), not its
 * start-to-close timeout (minutes), and its work runs again on a live worker at once; and a slow
 * answer is never mistaken for a dead worker.
 */
import { Context } from '@temporalio/activity';

const EVERY_MS = 1000;

/** Heartbeats for the running activity: `beat(details)` now, and the last details every second until `stop()`. */
export class KeepAlive {
  private details: unknown;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly ctx = Context.current()) {
    this.timer = setInterval(() => ctx.heartbeat(this.details), EVERY_MS);
  }

  beat(details?: unknown): void {
    this.details = details;
    this.ctx.heartbeat(details);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

type AnyActivity = (...args: never[]) => Promise<unknown>;

/** The same activities, each kept alive while it runs (for those that report no progress of their own). */
export function keptAlive<T extends Record<string, AnyActivity>>(activities: T): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, run]) => [
      name,
      async (...args: never[]) => {
        const alive = new KeepAlive();
        try {
          return await run(...args);
        } finally {
          alive.stop();
        }
      },
    ]),
  ) as T;
}
