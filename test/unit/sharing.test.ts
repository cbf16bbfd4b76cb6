/**
 * The pure parts of the shared contract reader (src/follower/sharing.ts): one request for many
 * askers, its refusals told to each and its cancellation only when all have gone; range answers
 * handed to later askers whose cursor they hold, until they expire; asks gathered into one
 * batch; checks due at the same moments for every market.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RejectedRpcAnswer } from '../../src/chain/rpc.js';
import { DuePerPeriod, Gathered, RecentRanges, SharedCall, untilAborted, type Outcome, type SharedCallOptions } from '../../src/follower/sharing.js';

/** A request the test answers by hand, with the options it was run with. */
function manual<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  let opts!: SharedCallOptions;
  let runs = 0;
  const call = new SharedCall<T>((o) => {
    runs++;
    opts = o;
    return new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
  });
  return { call, resolve: (v: T) => resolve(v), reject: (e: unknown) => reject(e), opts: () => opts, runs: () => runs };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('SharedCall: one request, many askers', () => {
  test('the request runs once; every asker gets its answer', async () => {
    const m = manual<number>();
    const answers = Promise.all([m.call.join(), m.call.join(), m.call.join()]);
    m.resolve(7);
    assert.deepEqual(await answers, [7, 7, 7]);
    assert.equal(m.runs(), 1);
    assert.equal(await m.call.join(), 7, 'an asker after the answer gets it too');
  });

  test('a refusal on the way is told to every asker, also to one that joins after it, once each', async () => {
    const m = manual<string>();
    const heard: string[] = [];
    const first = m.call.join({ onRejected: (e) => heard.push(`first: ${e.message}`) });
    m.opts().onRejected(new RejectedRpcAnswer('node 1 answered []'));
    const late = m.call.join({ onRejected: (e) => heard.push(`late: ${e.message}`) });
    m.resolve('ok');
    assert.deepEqual(await Promise.all([first, late]), ['ok', 'ok']);
    assert.deepEqual(heard, ['first: node 1 answered []', 'late: node 1 answered []']);
  });

  test('a failure fails every asker', async () => {
    const m = manual<number>();
    const asks = [m.call.join(), m.call.join()];
    m.reject(new Error('HTTP 503'));
    for (const ask of asks) await assert.rejects(ask, /HTTP 503/);
  });

  test("an asker's cancellation ends its own wait only; the request is cancelled once every asker has gone", async () => {
    const m = manual<number>();
    const a = new AbortController();
    const b = new AbortController();
    const askA = m.call.join({ signal: a.signal });
    const askB = m.call.join({ signal: b.signal });
    a.abort(new Error('market A stopped'));
    await assert.rejects(askA, /market A stopped/);
    assert.equal(m.opts().signal.aborted, false, 'B still waits: the request goes on');
    assert.equal(m.call.abandoned, false);
    b.abort(new Error('market B stopped'));
    await assert.rejects(askB, /market B stopped/);
    assert.equal(m.opts().signal.aborted, true, 'nobody waits any more: the request is cancelled');
    assert.equal(m.call.abandoned, true, 'and no one may join it');
  });

  test('askers leaving after the answer do not make it abandoned', async () => {
    const m = manual<number>();
    const ask = m.call.join();
    m.resolve(1);
    await ask;
    assert.equal(m.call.abandoned, false);
  });

  test('untilAborted: an already aborted signal rejects at once', async () => {
    const c = new AbortController();
    c.abort(new Error('gone'));
    await assert.rejects(untilAborted(new Promise(() => undefined), c.signal), /gone/);
    assert.equal(await untilAborted(Promise.resolve(3), undefined), 3);
  });
});

describe('RecentRanges: range answers for later askers', () => {
  const answered = (v: number) => new SharedCall(() => Promise.resolve(v));

  test('an answer over from..to serves an asker whose first block it holds, in its scope only', () => {
    const kept = new RecentRanges<number>(1000, 10);
    kept.add('first', 100, 199, answered(1), 'A', 0);
    assert.equal(kept.take('first', 150, 'B', 10)?.from, 100, 'B, 50 blocks ahead of A, reads the rest of the same answer');
    assert.equal(kept.take('first', 199, 'C', 10)?.to, 199);
    assert.equal(kept.take('first', 99, 'D', 10), undefined, 'a cursor below it is not served');
    assert.equal(kept.take('first', 200, 'D', 10), undefined, 'nor one above it');
    assert.equal(kept.take('second-opinion', 150, 'D', 10), undefined, 'another scope is another kind of read');
    assert.equal(kept.take('first', 150, 'E', 10, 200), undefined, 'nor one that must reach past its end');
    assert.ok(kept.take('first', 150, 'E', 10, 199));
  });

  test('an asker is handed an answer once: asking again, it wants the node\'s word now', () => {
    const kept = new RecentRanges<number>(1000, 10);
    kept.add('first', 100, 199, answered(1), 'A', 0);
    assert.equal(kept.take('first', 100, 'A', 10), undefined, 'A had it');
    assert.ok(kept.take('first', 100, 'B', 10));
    assert.equal(kept.take('first', 100, 'B', 10), undefined);
    assert.ok(kept.take('first', 100, undefined, 10), 'without an asker (answers as good at any time), always');
  });

  test('the newest answer is handed out first', () => {
    const kept = new RecentRanges<number>(1000, 10);
    kept.add('first', 100, 199, answered(1), 'A', 0);
    const newer = kept.add('first', 120, 299, answered(2), 'B', 5);
    assert.equal(kept.take('first', 150, 'C', 10), newer);
  });

  test('answers expire after keepMs, and at most max are kept (the oldest go first)', () => {
    const kept = new RecentRanges<number>(1000, 2);
    kept.add('first', 0, 9, answered(1), undefined, 0);
    assert.ok(kept.take('first', 5, undefined, 999));
    assert.equal(kept.take('first', 5, undefined, 1000), undefined, 'expired');
    assert.equal(kept.size, 0, 'and dropped');
    kept.add('first', 0, 9, answered(1), undefined, 2000);
    kept.add('first', 10, 19, answered(2), undefined, 2001);
    kept.add('first', 20, 29, answered(3), undefined, 2002);
    assert.equal(kept.size, 2);
    assert.equal(kept.take('first', 5, undefined, 2003), undefined, 'the oldest went');
  });

  test('a failed request is dropped, never handed out', async () => {
    const kept = new RecentRanges<number>(1000, 10);
    const failing = new SharedCall<number>(() => Promise.reject(new RejectedRpcAnswer('short answer')));
    kept.add('first', 0, 9, failing, 'A', 0);
    await assert.rejects(failing.answer);
    await tick();
    assert.equal(kept.take('first', 5, 'B', 1), undefined);
    assert.equal(kept.size, 0);
  });

  test('an abandoned request (every asker cancelled) is not handed out', async () => {
    const kept = new RecentRanges<number>(1000, 10);
    const call = new SharedCall<number>((o) => new Promise((_, reject) => o.signal.addEventListener('abort', () => reject(o.signal.reason as Error))));
    kept.add('first', 0, 9, call, 'A', 0);
    const c = new AbortController();
    const ask = call.join({ signal: c.signal });
    c.abort(new Error('stopped'));
    await assert.rejects(ask);
    assert.equal(kept.take('first', 5, 'B', 1), undefined);
  });
});

describe('Gathered: asks made meanwhile go out as one batch', () => {
  test('asks within the wait share one run, each with its own outcome; equal asks share an answer', async () => {
    const runs: string[][] = [];
    const gathered = new Gathered<string, string>(20, (a) => a, async (asks) => {
      runs.push(asks);
      return asks.map((a): Outcome<string> => (a === 'bad' ? { ok: false, error: new Error(`no state for ${a}`) } : { ok: true, value: a.toUpperCase() }));
    });
    const a = gathered.ask('a');
    await new Promise((r) => setTimeout(r, 5));
    const [b, again, bad] = [gathered.ask('b'), gathered.ask('a'), gathered.ask('bad')];
    assert.deepEqual(await Promise.all([a, b, again]), ['A', 'B', 'A']);
    await assert.rejects(bad, /no state for bad/);
    assert.deepEqual(runs, [['a', 'b', 'bad']]);
    assert.equal(await gathered.ask('c'), 'C', 'an ask after the run opens the next batch');
    assert.deepEqual(runs.at(-1), ['c']);
  });

  test('a failed run fails every ask of its batch', async () => {
    const gathered = new Gathered<string, string>(1, (a) => a, () => Promise.reject(new Error('connection refused')));
    const asks = [gathered.ask('a'), gathered.ask('b')];
    for (const ask of asks) await assert.rejects(ask, /connection refused/);
  });
});

describe('DuePerPeriod: a check due once per period, at the same moments for every key', () => {
  test('due until done in the period; due again at the next period, whenever it was done in this one', () => {
    const due = new DuePerPeriod(10_000);
    assert.equal(due.due('A', 10_000), true);
    due.done('A', 19_999);
    assert.equal(due.due('A', 19_999), false);
    assert.equal(due.due('B', 19_999), true, 'per key');
    assert.equal(due.due('A', 20_000), true, 'the next period starts at the same moment for every key');
    due.done('B', 12_000);
    assert.equal(due.due('B', 20_000), true, 'B, done early in the period, falls due with A');
  });
});
