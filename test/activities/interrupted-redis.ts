/**
 * A Redis client for activities that stops where a killed worker would, or lets something
 * happen there first: at the n-th EVAL of one of seqflow's scripts (named by its first line,
 * `-- seqflow <name>`), or the n-th SET of a key with a given prefix. Every other call goes to
 * the real client unchanged.
 */
import type { Redis } from 'ioredis';

export interface Interruption {
  command: 'eval' | 'set';
  /** The script's name (eval), or a prefix of the key (set). */
  target: string;
  /** Which matching call, from 1. */
  nth: number;
  /**
   * `crash before`: the call is never sent, the attempt fails; `crash after`: it runs, then the
   * attempt fails as if its reply were lost; a function: runs first, then the call goes on.
   */
  then: 'crash before' | 'crash after' | (() => Promise<void>);
}

/** The error of an interrupted attempt. */
export class WorkerKilled extends Error {}

export function interrupted(redis: Redis, at: Interruption): Redis {
  let seen = 0;
  const matches = (args: unknown[]) =>
    at.command === 'eval' ? String(args[0]).startsWith(`-- seqflow ${at.target}\n`) : String(args[0]).startsWith(at.target);
  return new Proxy(redis, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const call = (...args: unknown[]) => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      if (prop !== at.command) return call;
      return async (...args: unknown[]) => {
        if (!matches(args) || ++seen !== at.nth) return call(...args);
        if (at.then === 'crash before') throw new WorkerKilled(`killed before ${at.command} ${at.target} #${at.nth}`);
        if (at.then === 'crash after') {
          await call(...args);
          throw new WorkerKilled(`killed after ${at.command} ${at.target} #${at.nth}`);
        }
        await at.then();
        return call(...args);
      };
    },
  });
}
