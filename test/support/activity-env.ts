/**
 * Runs activities in Temporal's MockActivityEnvironment, one fresh environment per run (an
 * environment stays cancelled once cancelled), capturing its heartbeats and log entries.
 */
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import type { Info } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';

export interface ActivityRun<R> {
  env: MockActivityEnvironment;
  result: Promise<R>;
  /** Details of every heartbeat, in order. */
  heartbeats: unknown[];
  /** Every log entry of the run (activity `log.*` calls and the SDK's own), in order. */
  logs: LogEntry[];
}

/** Starts `fn(...args)` in a new environment; `info` is merged into the default ActivityInfo. */
export function startActivity<P extends unknown[], R>(fn: (...args: P) => Promise<R>, args: P, info: Partial<Info> = {}): ActivityRun<R> {
  const logs: LogEntry[] = [];
  const heartbeats: unknown[] = [];
  const env = new MockActivityEnvironment(info, { logger: new DefaultLogger('DEBUG', (entry) => logs.push(entry)) });
  env.on('heartbeat', (details: unknown) => heartbeats.push(details));
  const result = env.run<P, R, typeof fn>(fn, ...args);
  result.catch(() => undefined); // the caller awaits it; no unhandled rejection meanwhile
  return { env, result, heartbeats, logs };
}

/** Runs `fn(...args)` to completion in a new environment. */
export function runActivity<P extends unknown[], R>(fn: (...args: P) => Promise<R>, ...args: P): Promise<R> {
  return startActivity(fn, args).result;
}

/** An assert.rejects validator: an ApplicationFailure of this type and retryability. */
export function failure(check: { nonRetryable: boolean; type: string; message?: RegExp }) {
  return (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    assert.equal(err.nonRetryable, check.nonRetryable);
    assert.equal(err.type, check.type);
    if (check.message) assert.match(err.message, check.message);
    return true;
  };
}
