/** Start-up waits for the services seqflow needs: a compose stack starts them together. */
import { ConfigError } from '../config.js';

/** How long start-up waits for a service to answer before it gives up. */
export const STARTUP_WAIT_MS = 10_000;
const RETRY_MS = 500;

/**
 * Runs `attempt` until it succeeds or `waitMs` have passed; then throws what `giveUp` makes of
 * the last error's message. An attempt's ConfigError ends the wait at once: the service answered,
 * and waiting does not change what it answered.
 */
export async function untilDeadline<T>(attempt: () => Promise<T>, giveUp: (lastError: string) => Error, waitMs = STARTUP_WAIT_MS): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      if (Date.now() + RETRY_MS >= deadline) throw giveUp(err instanceof Error ? err.message : String(err));
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}
