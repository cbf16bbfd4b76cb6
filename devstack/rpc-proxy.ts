/**
 * A fault-injecting JSON-RPC proxy that tests put between seqflow and a real Hardhat node: it
 * forwards every call and, on demand, rewrites answers, answers JSON-RPC or gateway errors, or
 * answers late, to reproduce what real RPC providers do. It also repairs a Hardhat quirk: most
 * blocks made by one `hardhat_mine` call are "reserved" blocks whose parentHash is all zeros,
 * which no real chain does and which seqflow rightly refuses as a broken hash chain; through the
 * proxy they carry the hash of the block before, as a real node would answer.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One fault to inject; see RpcProxy.inject for which one applies when several match. */
export interface RpcFault {
  /** JSON-RPC method this fault applies to, e.g. 'eth_getLogs'. */
  method: string;
  /** Only calls whose params satisfy this are faulted (default: every call of the method). */
  when?: (params: unknown[]) => boolean;
  /** How many matching calls to fault; default: every matching call until removed. */
  times?: number;
  /** Rewrite the upstream answer: receives the real result (after forwarding) and the params; returns what the client gets. */
  result?: (upstream: unknown, params: unknown[]) => unknown | Promise<unknown>;
  /** Or answer this JSON-RPC error without forwarding. */
  error?: { code: number; message: string; data?: unknown };
  /** Or answer this HTTP status with an empty/plain body for the whole HTTP request (simulates a gateway error). */
  httpStatus?: number;
  /** Delay the answer of a matching call by this many ms (combinable with result/error, or alone). */
  delayMs?: number;
}

/** Handle on an injected fault. */
export interface InjectedFault {
  remove(): void;
  /** matching calls faulted so far */
  hits(): number;
}

/** One JSON-RPC call the proxy received. */
export interface RpcCall {
  method: string;
  params: unknown[];
  faulted: boolean;
  /** Date.now() on arrival. */
  at: number;
}

export interface RpcProxy {
  url: string;
  /** Every JSON-RPC call received (batch members counted one by one), in arrival order. */
  calls: RpcCall[];
  /**
   * Adds a fault. When several match a call, the first injected one with `times` left applies.
   * Within one fault, `httpStatus` wins over `error`, which wins over `result`.
   */
  inject(fault: RpcFault): InjectedFault;
  /** Removes every fault. */
  clear(): void;
  stop(): Promise<void>;
}

type JsonObject = Record<string, unknown>;

interface Reply {
  status: number;
  contentType: string;
  body: string;
}

interface ActiveFault {
  spec: RpcFault;
  /** Calls still to fault; undefined for no limit. */
  left: number | undefined;
  hits: number;
}

/** A well-formed call of one HTTP request, with the fault reserved for it, if any. */
interface Member {
  /** Position in the client's request; also the id it is forwarded upstream with. */
  index: number;
  request: JsonObject;
  call: RpcCall;
  fault: ActiveFault | undefined;
  /** Whether the fault did anything to this call; a reserved fault that did not is given back. */
  applied: boolean;
}

/** The upstream could not answer JSON-RPC: the client gets this reply for its whole HTTP request. */
class UpstreamFailure extends Error {
  constructor(readonly reply: Reply) {
    super(reply.body);
  }
}

const ZERO_HASH = `0x${'00'.repeat(32)}`;
const BLOCK_METHODS = new Set(['eth_getBlockByNumber', 'eth_getBlockByHash']);

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rpcError(id: unknown, code: number, message: string, data?: unknown): JsonObject {
  return { jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } };
}

function jsonReply(body: unknown): Reply {
  return { status: 200, contentType: 'application/json', body: JSON.stringify(body) };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** POSTs a JSON-RPC payload upstream and returns its answers, always as a list. */
async function postUpstream(upstreamUrl: string, payload: unknown): Promise<unknown[]> {
  let res: Response;
  try {
    res = await fetch(upstreamUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
  } catch (err) {
    throw new UpstreamFailure({ status: 502, contentType: 'text/plain', body: `rpc-proxy: upstream unreachable: ${String(err)}` });
  }
  const text = await res.text();
  if (!res.ok) throw new UpstreamFailure({ status: res.status, contentType: res.headers.get('content-type') ?? 'text/plain', body: text });
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new UpstreamFailure({ status: 502, contentType: 'text/plain', body: `rpc-proxy: upstream answered no JSON: ${text}` });
  }
  return Array.isArray(answer) ? answer : [answer];
}

/**
 * Starts the proxy on a free 127.0.0.1 port in front of `upstreamUrl`. With
 * `repairReservedParents` (default true), a block answer whose parentHash is all zeros gets
 * the upstream hash of the block before, before any fault rewrites it.
 */
export async function startRpcProxy(upstreamUrl: string, opts: { repairReservedParents?: boolean } = {}): Promise<RpcProxy> {
  const repairParents = opts.repairReservedParents ?? true;
  const calls: RpcCall[] = [];
  const faults: ActiveFault[] = [];
  // Child block hash -> parent hash: a block's parent never changes for a given block hash.
  const parentCache = new Map<string, string>();

  const reserveFault = (call: RpcCall): ActiveFault | undefined => {
    const fault = faults.find(
      (f) => f.spec.method === call.method && f.left !== 0 && (f.spec.when?.(call.params) ?? true),
    );
    if (!fault) return undefined;
    // Counted on selection, so concurrent calls cannot exceed `times`; given back if unused.
    if (fault.left !== undefined) fault.left--;
    fault.hits++;
    call.faulted = true;
    return fault;
  };

  const releaseFault = (member: Member): void => {
    if (!member.fault || member.applied) return;
    if (member.fault.left !== undefined) member.fault.left++;
    member.fault.hits--;
    member.call.faulted = false;
  };

  /** Fills the zero parentHash of Hardhat's reserved blocks, in place in `answers`. */
  const repairReserved = async (answers: Map<Member, JsonObject>): Promise<void> => {
    const broken: { member: Member; answer: JsonObject; block: JsonObject; hash: string; parent: number }[] = [];
    for (const [member, answer] of answers) {
      const block = answer.result;
      if (!BLOCK_METHODS.has(member.call.method) || !isObject(block) || block.parentHash !== ZERO_HASH) continue;
      const parent = Number(block.number) - 1;
      if (typeof block.hash === 'string' && parent >= 0) broken.push({ member, answer, block, hash: block.hash, parent });
    }
    const unknown = broken.filter((b) => !parentCache.has(b.hash));
    if (unknown.length > 0) {
      const numbers = [...new Set(unknown.map((b) => b.parent))];
      const fetched = await postUpstream(
        upstreamUrl,
        numbers.map((n, id) => ({ jsonrpc: '2.0', id, method: 'eth_getBlockByNumber', params: [`0x${n.toString(16)}`, false] })),
      );
      const hashOf = new Map<number, unknown>();
      for (const a of fetched) {
        if (isObject(a) && typeof a.id === 'number' && isObject(a.result)) hashOf.set(numbers[a.id]!, a.result.hash);
      }
      for (const b of unknown) {
        const parentHash = hashOf.get(b.parent);
        if (typeof parentHash !== 'string') throw new Error(`upstream has no block ${b.parent}, the parent of ${b.hash}`);
        parentCache.set(b.hash, parentHash);
      }
    }
    for (const b of broken) answers.set(b.member, { ...b.answer, result: { ...b.block, parentHash: parentCache.get(b.hash) } });
  };

  /** Answers the well-formed members (none faulted with httpStatus), in place in `answers`. */
  const answerMembers = async (members: Member[], batch: boolean, answers: (JsonObject | undefined)[]): Promise<void> => {
    const local = members.filter((m) => m.fault?.spec.error);
    const forwarded = members.filter((m) => !m.fault?.spec.error);
    const upstream = new Map<Member, JsonObject>();
    if (forwarded.length > 0) {
      // Forwarded with their positions as ids, so the answers match whatever ids the client
      // chose (duplicates, notifications) and whatever order the upstream answers in.
      const requests = forwarded.map((m) => ({ ...m.request, id: m.index }));
      const received = await postUpstream(upstreamUrl, batch ? requests : requests[0]);
      const byIndex = new Map(received.filter(isObject).map((a) => [a.id, a]));
      for (const m of forwarded) {
        upstream.set(m, byIndex.get(m.index) ?? rpcError(m.index, -32603, 'rpc-proxy: upstream sent no answer for this call'));
      }
    }
    if (repairParents) await repairReserved(upstream);
    for (const [m, answer] of upstream) {
      const rewrite = m.fault?.spec.result;
      let out = answer;
      // An upstream error answer passes through untouched.
      if (rewrite && 'result' in answer && !('error' in answer)) {
        out = { ...answer, result: await rewrite(answer.result, m.call.params) };
        m.applied = true;
      }
      if ('id' in m.request) answers[m.index] = { ...out, id: m.request.id };
    }
    for (const m of local) {
      const { code, message, data } = m.fault!.spec.error!;
      if ('id' in m.request) answers[m.index] = rpcError(m.request.id, code, message, data);
      m.applied = true;
    }
  };

  const handle = async (body: string): Promise<Reply> => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return jsonReply(rpcError(null, -32700, 'Parse error'));
    }
    const batch = Array.isArray(parsed);
    const items: unknown[] = Array.isArray(parsed) ? parsed : [parsed];
    if (items.length === 0) return jsonReply(rpcError(null, -32600, 'Invalid Request: empty batch'));

    // Positional; stays undefined for a notification (a request without id), which gets no answer.
    const answers: (JsonObject | undefined)[] = new Array<JsonObject | undefined>(items.length);
    const members: Member[] = [];
    try {
      items.forEach((item, index) => {
        if (!isObject(item) || typeof item.method !== 'string') {
          answers[index] = rpcError(isObject(item) ? (item.id ?? null) : null, -32600, 'Invalid Request');
          return;
        }
        const params = Array.isArray(item.params) ? item.params : item.params === undefined ? [] : [item.params];
        const call: RpcCall = { method: item.method, params, faulted: false, at: Date.now() };
        calls.push(call);
        members.push({ index, request: item, call, fault: reserveFault(call), applied: false });
      });

      const gateway = members.filter((m) => m.fault?.spec.httpStatus !== undefined);
      const delayed = gateway.length > 0 ? gateway : members.filter((m) => (m.fault?.spec.delayMs ?? 0) > 0);
      const delayMs = Math.max(0, ...delayed.map((m) => m.fault?.spec.delayMs ?? 0));
      if (delayMs > 0) await sleep(delayMs);
      for (const m of delayed) m.applied = true;
      if (gateway.length > 0) {
        return { status: gateway[0]!.fault!.spec.httpStatus!, contentType: 'text/plain', body: 'gateway error' };
      }

      await answerMembers(members, batch, answers);
      const out = answers.filter((a) => a !== undefined);
      if (out.length === 0) return { status: 204, contentType: 'application/json', body: '' };
      return jsonReply(batch ? out : out[0]);
    } catch (err) {
      if (err instanceof UpstreamFailure) return err.reply;
      return { status: 500, contentType: 'text/plain', body: `rpc-proxy: ${err instanceof Error ? err.message : String(err)}` };
    } finally {
      // A fault whose effect never reached the client (upstream failure, another member's
      // gateway error, an upstream error answer to rewrite) was not applied: give it back.
      for (const m of members) releaseFault(m);
    }
  };

  const server = http.createServer((req, res) => {
    if (req.method !== 'POST') {
      req.resume();
      res.writeHead(405, { 'content-type': 'text/plain' }).end('rpc-proxy: POST only');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handle(Buffer.concat(chunks).toString('utf8')).then((reply) => {
        res.writeHead(reply.status, { 'content-type': reply.contentType }).end(reply.body);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    inject(spec) {
      const fault: ActiveFault = { spec, left: spec.times, hits: 0 };
      faults.push(fault);
      return {
        remove() {
          const i = faults.indexOf(fault);
          if (i >= 0) faults.splice(i, 1);
        },
        hits: () => fault.hits,
      };
    },
    clear() {
      faults.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // close() alone waits for idle keep-alive connections (fetch keeps them open).
        server.closeAllConnections();
      }),
  };
}
