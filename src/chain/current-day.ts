/**
 * A market's current day as Powerloom's services agree on it: `CurrentDayKey.<market lower>` when
 * it holds a day number (seqflow, the finalizer and the protocol-state-cacher keep it), else the
 * ProtocolState contract's `dayCounter(market)` (upstream's FetchCurrentDay, cache then contract).
 * Used by the resolveCurrentDay activity and by the read API.
 */
import type { Redis } from 'ioredis';
import * as keys from '../domain/keys.js';

/**
 * The day as a decimal string. `dayCounter` reads the contract; `onNotADay` hears of a
 * CurrentDayKey that holds something other than a day number (then the contract answers).
 * Rejects with Redis's or the contract call's error.
 */
export async function readCurrentDay(redis: Redis, market: string, dayCounter: () => Promise<string>, onNotADay: (value: string) => void): Promise<string> {
  const cached = await redis.get(keys.currentDay(market.toLowerCase()));
  if (cached !== null && /^[1-9][0-9]*$/.test(cached)) return cached;
  if (cached !== null) onNotADay(cached);
  return dayCounter();
}
