/**
 * JSON-RPC 2.0 over HTTP for one node: single calls and batches through `fetch`, with a
 * timeout, answers decoded by `JSON.parse` of the whole body (native speed; ethers' transport
 * decodes UTF-8 in JavaScript, which dominated the follower's CPU on large answers). Each HTTP
 * request is a client span when a trace is active (src/tracing/spans.ts).
 */
import type { Attributes } from '@opentelemetry/api';
import { clientSpan, serverAttributes } from '../tracing/spans.js';

/** The node answered with a JSON-RPC error object: `{code, message, data}` as sent. */
export class JsonRpcError extends Error {
  override name = 'JsonRpcError';
  constructor(
    readonly method: string,
    readonly code: number,
    /** The node's own message. */
    readonly rpcMessage: string,
    readonly data?: unknown,
  ) {
    super(`${method}: ${rpcMessage} (code ${code})`);
  }
}

/** No usable answer: connection refused, HTTP status other than 200, timeout, or a body that is no JSON-RPC answer. */
export class RpcTransportError extends Error {
  override name = 'RpcTransportError';
  constructor(
    message: string,
    readonly timedOut = false,
  ) {
    super(message);
  }
}

export interface RpcRequest {
  method: string;
  params: unknown[];
}

/**
 * Told of every HTTP request to a node (the worker's metrics): `outcome` is `ok`, `error` (a
 * JSON-RPC error answer) or `transport` (no usable answer); a batch is one request, named by
 * its first method. Cancelled requests are not reported. And of every answer refused as wrong.
 */
export interface RpcObserver {
  rpcRequest(node: string, method: string, outcome: 'ok' | 'error' | 'transport', seconds: number): void;
  rpcRejected(node: string): void;
}

export type RpcOutcome = { ok: true; result: unknown } | { ok: false; error: JsonRpcError };

interface Answer {
  id?: unknown;
  result?: unknown;
  error?: { code?: unknown; message?: unknown; data?: unknown };
}

function outcomeOf(method: string, answer: Answer): RpcOutcome {
  if (answer.error !== undefined && answer.error !== null) {
    const { code, message, data } = answer.error;
    return { ok: false, error: new JsonRpcError(method, typeof code === 'number' ? code : 0, typeof message === 'string' ? message : JSON.stringify(answer.error), data) };
  }
  if (!('result' in answer)) throw new RpcTransportError(`${method}: answer has neither result nor error`);
  return { ok: true, result: answer.result };
}

/** One JSON-RPC endpoint. `url` identifies the node in logs (it may carry an API key: see `label`). */
export class JsonRpcEndpoint {
  private nextId = 1;
  /** The URL without credentials or path, for logs and problem details. */
  readonly label: string;
  /** The node in every span of its requests: `label` and its host, never the URL (it may carry an API key). */
  private readonly spanAttributes: Attributes;

  constructor(
    readonly url: string,
    private readonly timeoutMs: number,
    private readonly observer?: RpcObserver,
  ) {
    const parsed = new URL(url);
    this.label = `${parsed.protocol}//${parsed.host}`;
    this.spanAttributes = { 'rpc.system': 'jsonrpc', 'rpc.jsonrpc.version': '2.0', ...serverAttributes(url), 'seqflow.rpc.node': this.label };
  }

  private async post(body: unknown, what: string, signal?: AbortSignal): Promise<unknown> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let text: string;
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      text = await res.text();
      if (res.status !== 200) throw new RpcTransportError(`${what}: HTTP ${res.status} from ${this.label}: ${text.slice(0, 200)}`);
    } catch (err) {
      if (err instanceof RpcTransportError) throw err;
      if (signal?.aborted) throw err; // cancellation is not a node failure
      const timedOut = timeout.aborted;
      throw new RpcTransportError(`${what}: ${timedOut ? `no answer from ${this.label} within ${this.timeoutMs} ms` : `${this.label}: ${String((err as Error).cause ?? err)}`}`, timedOut);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new RpcTransportError(`${what}: ${this.label} answered no JSON: ${text.slice(0, 200)}`);
    }
  }

  /** Runs one HTTP request (a batch of `batchSize` calls, if given) in its span, telling the observer how it went. */
  private observed<T>(method: string, signal: AbortSignal | undefined, request: (mark: (outcome: 'ok' | 'error') => void) => Promise<T>, batchSize?: number): Promise<T> {
    const attributes = { ...this.spanAttributes, 'rpc.method': method, ...(batchSize === undefined ? {} : { 'seqflow.rpc.batch_size': batchSize }) };
    return clientSpan(batchSize === undefined ? method : `${method} (batch)`, attributes, async (span) => {
      const started = performance.now();
      let outcome: 'ok' | 'error' | 'transport' = 'transport';
      try {
        return await request((o) => (outcome = o));
      } finally {
        span?.setAttribute('seqflow.rpc.outcome', outcome);
        if (!signal?.aborted) this.observer?.rpcRequest(this.label, method, outcome, (performance.now() - started) / 1000);
      }
    });
  }

  /** One call; its JSON-RPC error is thrown as JsonRpcError. */
  call(method: string, params: unknown[], signal?: AbortSignal): Promise<unknown> {
    return this.observed(method, signal, async (mark) => {
      const answer = await this.post({ jsonrpc: '2.0', id: this.nextId++, method, params }, method, signal);
      if (answer === null || typeof answer !== 'object' || Array.isArray(answer)) throw new RpcTransportError(`${method}: ${this.label} answered ${JSON.stringify(answer).slice(0, 200)}`);
      const outcome = outcomeOf(method, answer as Answer);
      mark(outcome.ok ? 'ok' : 'error');
      if (!outcome.ok) throw outcome.error;
      return outcome.result;
    });
  }

  /** Several calls in one HTTP request; each outcome in request order (a node may answer a batch in any order). */
  async batch(requests: readonly RpcRequest[], signal?: AbortSignal): Promise<RpcOutcome[]> {
    if (requests.length === 0) return [];
    const first = this.nextId;
    this.nextId += requests.length;
    const what = `batch of ${requests.length} ${requests[0]!.method}`;
    return this.observed(requests[0]!.method, signal, async (mark) => {
      const answer = await this.post(requests.map((r, i) => ({ jsonrpc: '2.0', id: first + i, method: r.method, params: r.params })), what, signal);
      if (!Array.isArray(answer)) throw new RpcTransportError(`${what}: ${this.label} answered no batch: ${JSON.stringify(answer).slice(0, 200)}`);
      const byId = new Map<unknown, Answer>();
      for (const a of answer as Answer[]) if (a !== null && typeof a === 'object') byId.set(a.id, a);
      const outcomes = requests.map((r, i) => {
        const a = byId.get(first + i);
        if (!a) throw new RpcTransportError(`${what}: ${this.label} left call ${i} (${r.method}) unanswered`);
        return outcomeOf(r.method, a);
      });
      mark(outcomes.every((o) => o.ok) ? 'ok' : 'error');
      return outcomes;
    }, requests.length);
  }
}
