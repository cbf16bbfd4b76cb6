/**
 * What lets the followers of several markets share their RPC reads, pure (promises and the
 * clock, no I/O): one request awaited by every market that asks for it (single flight), range
 * answers kept a short while for the markets that come by later, asks gathered into one batch,
 * and a check due once per period of the clock.
 */
import type { CallOptions, RejectedRpcAnswer } from '../chain/rpc.js';

/** `promise`, or a rejection with the signal's reason as soon as `signal` aborts. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}

/** What a shared request is run with: its own cancellation, and where its refused answers go. */
export type SharedCallOptions = Required<Pick<CallOptions, 'signal' | 'onRejected'>>;

/**
 * One request whose answer several askers await. Every answer refused on the way (and asked
 * again of the next node) is told to every asker, also to one that joins later: the answer
 * they share was got after it. An asker's cancellation ends only its own wait; the request is
 * cancelled once every asker has gone, and is then `abandoned`: no one may join it.
 */
export class SharedCall<T> {
  readonly answer: Promise<T>;
  private readonly controller = new AbortController();
  private readonly refused: RejectedRpcAnswer[] = [];
  private readonly listeners = new Set<(err: RejectedRpcAnswer) => void>();
  private askers = 0;
  private settled = false;

  constructor(request: (opts: SharedCallOptions) => Promise<T>) {
    this.answer = request({
      signal: this.controller.signal,
      onRejected: (err) => {
        this.refused.push(err);
        for (const listener of this.listeners) listener(err);
      },
    });
    // Registered first, so it runs before any asker's continuation; it also keeps a failure nobody awaits from being unhandled.
    this.answer.then(
      () => void (this.settled = true),
      () => void (this.settled = true),
    );
  }

  get abandoned(): boolean {
    return this.controller.signal.aborted && !this.settled;
  }

  /** The answer, for one asker: `opts.onRejected` hears every refusal, `opts.signal` ends this wait. */
  async join(opts: CallOptions = {}): Promise<T> {
    const told = opts.onRejected;
    const listener = told && ((err: RejectedRpcAnswer) => told(err));
    if (listener) {
      this.refused.forEach(listener);
      this.listeners.add(listener);
    }
    this.askers++;
    try {
      return await untilAborted(this.answer, opts.signal);
    } finally {
      this.askers--;
      if (listener) this.listeners.delete(listener);
      if (this.askers === 0 && !this.settled) this.controller.abort();
    }
  }
}

/** A range answer (blocks `from..to`) kept for later askers. */
export interface KeptRange<T> {
  from: number;
  to: number;
  call: SharedCall<T>;
  atMs: number;
  /** The askers it was handed to, where each may have it only once. */
  servedTo: Set<string>;
}

/**
 * Answers over block ranges, each in a scope (what makes answers comparable: the head they
 * were read under, or the kind of read), kept `keepMs` and at most `max` of them (the oldest go
 * first). A failed or abandoned request is never handed out. An answer whose range holds an
 * asker's first block serves it, up to the answer's end: markets at different cursors end up
 * asking the same ranges.
 */
export class RecentRanges<T> {
  private entries: Array<KeptRange<T> & { scope: string }> = [];

  constructor(
    private readonly keepMs: number,
    private readonly max: number,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  /**
   * The newest answer in `scope` whose range holds `from` (and reaches `reaching`, if given),
   * not handed to `asker` before (an asker that asks again wants the node's word now, not the
   * answer it had); it is noted as handed to `asker`. Undefined when none.
   */
  take(scope: string, from: number, asker: string | undefined, nowMs: number, reaching = from): KeptRange<T> | undefined {
    this.expire(nowMs);
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (e.scope !== scope || from < e.from || Math.max(from, reaching) > e.to || e.call.abandoned) continue;
      if (asker !== undefined) {
        if (e.servedTo.has(asker)) continue;
        e.servedTo.add(asker);
      }
      return e;
    }
    return undefined;
  }

  /** Keeps `call`, the answer over `from..to` in `scope`, handed to `asker`; dropped if it fails. */
  add(scope: string, from: number, to: number, call: SharedCall<T>, asker: string | undefined, nowMs: number): KeptRange<T> {
    this.expire(nowMs);
    const entry = { scope, from, to, call, atMs: nowMs, servedTo: new Set(asker === undefined ? [] : [asker]) };
    this.entries.push(entry);
    if (this.entries.length > this.max) this.entries.splice(0, this.entries.length - this.max);
    call.answer.catch(() => (this.entries = this.entries.filter((e) => e !== entry)));
    return entry;
  }

  private expire(nowMs: number): void {
    const live = this.entries.findIndex((e) => nowMs - e.atMs < this.keepMs);
    if (live !== 0) this.entries.splice(0, live === -1 ? this.entries.length : live);
  }
}

export type Outcome<V> = { ok: true; value: V } | { ok: false; error: unknown };

/**
 * Asks gathered into one batch: the first ask opens a batch that `run` answers `waitMs` later,
 * with every ask made meanwhile (an ask equal to one already in it, by `keyOf`, shares its
 * answer). Each ask gets its own outcome; a failure of `run` fails all of them.
 */
export class Gathered<A, V> {
  private open: { asks: A[]; byKey: Map<string, Promise<V>>; answers: Promise<Array<Outcome<V>>> } | null = null;

  constructor(
    private readonly waitMs: number,
    private readonly keyOf: (ask: A) => string,
    private readonly run: (asks: A[]) => Promise<Array<Outcome<V>>>,
  ) {}

  ask(ask: A): Promise<V> {
    if (this.open === null) {
      const batch = { asks: [] as A[], byKey: new Map<string, Promise<V>>(), answers: undefined as unknown as Promise<Array<Outcome<V>>> };
      batch.answers = new Promise((resolve) => setTimeout(resolve, this.waitMs)).then(() => {
        this.open = null;
        return this.run(batch.asks);
      });
      this.open = batch;
    }
    const batch = this.open;
    const key = this.keyOf(ask);
    const known = batch.byKey.get(key);
    if (known) return known;
    const index = batch.asks.push(ask) - 1;
    const answer = batch.answers.then((outcomes) => {
      const outcome = outcomes[index]!;
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    });
    batch.byKey.set(key, answer);
    return answer;
  }
}

/**
 * A check due once per period of the wall clock, per key: every key falls due at the same
 * moments (the period's start), so that checks of many keys can be gathered into one batch.
 */
export class DuePerPeriod {
  private readonly last = new Map<string, number>();

  constructor(private readonly periodMs: number) {}

  due(key: string, nowMs: number): boolean {
    return this.last.get(key) !== Math.floor(nowMs / this.periodMs);
  }

  done(key: string, nowMs: number): void {
    this.last.set(key, Math.floor(nowMs / this.periodMs));
  }
}
