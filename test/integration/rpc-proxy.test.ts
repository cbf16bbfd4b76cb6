// Tests of the fault-injecting JSON-RPC proxy (devstack/rpc-proxy.ts) against a real Hardhat
// node: the tests that use it to simulate flaky providers must be able to trust it.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startHardhatNode, type HardhatNode } from '../../devstack/chain.js';
import { startRpcProxy, type RpcProxy } from '../../devstack/rpc-proxy.js';

interface RpcAnswer {
  jsonrpc: string;
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

interface Block {
  number: string;
  hash: string;
  parentHash: string;
}

const ZERO_HASH = `0x${'00'.repeat(32)}`;
const CHAIN_ID = '0x7a69'; // 31337, Hardhat's default
const hex = (n: number): string => `0x${n.toString(16)}`;

let node: HardhatNode | undefined;
/** The proxy under test, straight in front of Hardhat. */
let proxy: RpcProxy;
/** A non-repairing proxy straight in front of Hardhat. */
let raw: RpcProxy;
/** A repairing proxy in front of `raw`: `raw.calls` shows exactly what it sent upstream. */
let spied: RpcProxy;

async function post(url: string, body: unknown): Promise<{ status: number; contentType: string | null; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, contentType: res.headers.get('content-type'), text: await res.text() };
}

/** Posts a JSON-RPC request or batch and returns the parsed answer, which must be HTTP 200 JSON. */
async function rpc(url: string, body: unknown): Promise<unknown> {
  const res = await post(url, body);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.contentType, 'application/json');
  return JSON.parse(res.text) as unknown;
}

const request = (method: string, params: unknown[] = [], id: unknown = 1) => ({ jsonrpc: '2.0', id, method, params });
const call = async (url: string, method: string, params: unknown[] = [], id: unknown = 1): Promise<RpcAnswer> =>
  (await rpc(url, request(method, params, id))) as RpcAnswer;
const batchOf = async (url: string, requests: unknown[]): Promise<RpcAnswer[]> => (await rpc(url, requests)) as RpcAnswer[];
const head = async (): Promise<number> => Number((await call(node!.url, 'eth_blockNumber')).result);
/** The calls a proxy received since `from`, as [method, faulted] pairs. */
const callsSince = (p: RpcProxy, from: number) => p.calls.slice(from).map((c) => [c.method, c.faulted]);

before(async () => {
  node = await startHardhatNode({ intervalMs: 0 });
  // The chain moves only when a test mines, so direct and proxied answers are comparable.
  await call(node.url, 'evm_setIntervalMining', [0]);
  proxy = await startRpcProxy(node.url);
  raw = await startRpcProxy(node.url, { repairReservedParents: false });
  spied = await startRpcProxy(raw.url);
});

afterEach(() => {
  proxy.clear();
  spied.clear();
});

after(async () => {
  await Promise.all([proxy?.stop(), raw?.stop(), spied?.stop()]);
  await node?.stop();
});

test('a plain call and a batch pass through unchanged, client ids kept, answers in request order', async () => {
  const from = proxy.calls.length;
  for (const [method, params, id] of [
    ['eth_getBlockByNumber', ['0x0', true], 7],
    ['eth_chainId', [], 'abc'],
  ] as const) {
    const proxied = await call(proxy.url, method, [...params], id);
    assert.deepEqual(proxied, await call(node!.url, method, [...params], id));
    assert.equal(proxied.id, id);
  }
  assert.equal((await call(proxy.url, 'eth_chainId')).result, CHAIN_ID);

  // Decreasing and mixed-type ids: the answer follows the request order, not the ids.
  const batch = [
    request('eth_chainId', [], 3),
    request('eth_blockNumber', [], 2),
    request('eth_getBlockByNumber', ['0x0', false], 1),
    request('net_version', [], 'x'),
  ];
  const proxied = await batchOf(proxy.url, batch);
  const direct = await batchOf(node!.url, batch);
  assert.deepEqual(
    proxied.map((a) => a.id),
    [3, 2, 1, 'x'],
  );
  for (const answer of proxied) assert.deepEqual(answer, direct.find((d) => d.id === answer.id));
  assert.equal(proxied[0]!.result, CHAIN_ID);
  assert.deepEqual(callsSince(proxy, from), [
    ['eth_getBlockByNumber', false],
    ['eth_chainId', false],
    ['eth_chainId', false],
    ['eth_chainId', false],
    ['eth_blockNumber', false],
    ['eth_getBlockByNumber', false],
    ['net_version', false],
  ]);
  assert.deepEqual(proxy.calls.at(-2)?.params, ['0x0', false]);
});

test('a result fault with times: 2 rewrites exactly two answers, then real ones come back', async () => {
  const real = await head();
  const from = proxy.calls.length;
  const fault = proxy.inject({ method: 'eth_blockNumber', times: 2, result: (n) => hex(Number(n) + 1_000_000) });
  const seen: number[] = [];
  for (let i = 0; i < 3; i++) seen.push(Number((await call(proxy.url, 'eth_blockNumber')).result));
  assert.deepEqual(seen, [real + 1_000_000, real + 1_000_000, real]);
  assert.equal(fault.hits(), 2);
  assert.deepEqual(callsSince(proxy, from), [
    ['eth_blockNumber', true],
    ['eth_blockNumber', true],
    ['eth_blockNumber', false],
  ]);
});

test('an error fault on wide eth_getLogs ranges fails them while narrower ones pass through', async () => {
  const span = (params: unknown[]): number => {
    const filter = params[0];
    if (typeof filter !== 'object' || filter === null || !('fromBlock' in filter) || !('toBlock' in filter)) return 0;
    return Number(filter.toBlock) - Number(filter.fromBlock) + 1;
  };
  const error = { code: -32005, message: 'query returned more than 10000 results. Try with this block range [0x1, 0x64].' };
  const fault = proxy.inject({ method: 'eth_getLogs', when: (params) => span(params) > 100, error });
  const from = proxy.calls.length;

  const wide = await call(proxy.url, 'eth_getLogs', [{ fromBlock: '0x1', toBlock: '0x12c' }], 5);
  assert.deepEqual(wide, { jsonrpc: '2.0', id: 5, error });

  const narrow = [{ fromBlock: '0x0', toBlock: hex(await head()) }];
  const passed = await call(proxy.url, 'eth_getLogs', narrow, 6);
  assert.deepEqual(passed, await call(node!.url, 'eth_getLogs', narrow, 6));
  assert.ok(Array.isArray(passed.result));
  assert.equal(fault.hits(), 1);
  assert.deepEqual(callsSince(proxy, from), [
    ['eth_getLogs', true],
    ['eth_getLogs', false],
  ]);
});

test('inside a batch, an error-faulted member is answered locally and only the others go upstream', async () => {
  const error = { code: -32000, message: 'header not found', data: { retry: true } };
  const fault = spied.inject({ method: 'eth_getBlockByNumber', error });
  const upstreamFrom = raw.calls.length;
  const answers = await batchOf(spied.url, [
    request('eth_chainId', [], 10),
    request('eth_getBlockByNumber', ['0x0', false], 11),
    request('eth_blockNumber', [], 12),
  ]);
  assert.deepEqual(
    answers.map((a) => a.id),
    [10, 11, 12],
  );
  assert.equal(answers[0]!.result, CHAIN_ID);
  assert.deepEqual(answers[1], { jsonrpc: '2.0', id: 11, error });
  assert.equal(Number(answers[2]!.result), await head());
  assert.equal(fault.hits(), 1);
  assert.deepEqual(callsSince(raw, upstreamFrom), [
    ['eth_chainId', false],
    ['eth_blockNumber', false],
  ]);
});

test('an httpStatus fault fails the whole HTTP request with that status', async () => {
  const gateway = proxy.inject({ method: 'eth_gasPrice', httpStatus: 503 });
  const single = await post(proxy.url, request('eth_gasPrice'));
  assert.deepEqual(single, { status: 503, contentType: 'text/plain', text: 'gateway error' });

  // The other member's fault had no effect, so it is given back for the next call.
  const once = proxy.inject({ method: 'eth_chainId', times: 1, error: { code: -32000, message: 'once' } });
  const batch = await post(proxy.url, [request('eth_chainId', [], 1), request('eth_gasPrice', [], 2)]);
  assert.equal(batch.status, 503);
  assert.equal(batch.text, 'gateway error');
  assert.equal(once.hits(), 0);
  assert.equal(proxy.calls.at(-2)?.faulted, false);
  assert.equal(proxy.calls.at(-1)?.faulted, true);
  assert.deepEqual((await call(proxy.url, 'eth_chainId')).error, { code: -32000, message: 'once' });
  assert.equal((await call(proxy.url, 'eth_chainId')).result, CHAIN_ID);
  assert.equal(once.hits(), 1);
  assert.equal(gateway.hits(), 2);
});

test('delayMs delays the answer, alone or with an error', async () => {
  proxy.inject({ method: 'eth_chainId', delayMs: 400 });
  let t0 = Date.now();
  assert.deepEqual(await call(proxy.url, 'eth_chainId', [], 3), await call(node!.url, 'eth_chainId', [], 3));
  assert.ok(Date.now() - t0 >= 400, `answered after ${Date.now() - t0} ms`);

  const error = { code: -32603, message: 'slow failure' };
  proxy.inject({ method: 'net_version', delayMs: 300, error });
  t0 = Date.now();
  assert.deepEqual((await call(proxy.url, 'net_version')).error, error);
  assert.ok(Date.now() - t0 >= 300, `answered after ${Date.now() - t0} ms`);
});

test('reserved blocks of hardhat_mine get their real parentHash, before faults apply', async () => {
  const first = await head();
  await call(node!.url, 'hardhat_mine', [hex(50)]);
  const numbers = Array.from({ length: 51 }, (_, i) => first + i);
  const blocks = numbers.map((n, i) => request('eth_getBlockByNumber', [hex(n), false], i));
  const resultsOf = (answers: RpcAnswer[]) => answers.map((a) => a.result as Block);

  // The quirk is real: straight from Hardhat, mined blocks have zero parent hashes.
  const directAnswers = await batchOf(node!.url, blocks);
  const direct = resultsOf(directAnswers);
  const zeroParents = direct.filter((b) => b.parentHash === ZERO_HASH && Number(b.number) > 0);
  assert.ok(zeroParents.length >= 40, `${zeroParents.length} of 50 mined blocks have a zero parentHash`);
  assert.deepEqual(await batchOf(raw.url, blocks), directAnswers);

  // Through the proxy the hash chain is whole and nothing else changed.
  const proxied = resultsOf(await batchOf(proxy.url, blocks));
  for (let i = 1; i < proxied.length; i++) {
    assert.equal(proxied[i]!.parentHash, proxied[i - 1]!.hash, `parent of block ${numbers[i]}`);
    assert.deepEqual({ ...proxied[i], parentHash: direct[i]!.parentHash }, direct[i]);
  }

  // Single calls and eth_getBlockByHash too; the parent is fetched once per block hash.
  const reserved = zeroParents.at(-1)!;
  const parentHash = direct[numbers.indexOf(Number(reserved.number) - 1)]!.hash;
  const upstreamFrom = raw.calls.length;
  for (let i = 0; i < 2; i++) {
    const byNumber = (await call(spied.url, 'eth_getBlockByNumber', [reserved.number, false])).result as Block;
    assert.deepEqual(byNumber, { ...reserved, parentHash });
    const byHash = (await call(spied.url, 'eth_getBlockByHash', [reserved.hash, false])).result as Block;
    assert.deepEqual(byHash, { ...reserved, parentHash });
  }
  assert.deepEqual(
    raw.calls.slice(upstreamFrom).map((c) => [c.method, c.params[0]]),
    [
      ['eth_getBlockByNumber', reserved.number],
      ['eth_getBlockByNumber', hex(Number(reserved.number) - 1)],
      ['eth_getBlockByHash', reserved.hash],
      ['eth_getBlockByNumber', reserved.number],
      ['eth_getBlockByHash', reserved.hash],
    ],
  );

  // A fault sees the repaired block and can still break the chain on purpose.
  const broken = `0x${'ab'.repeat(32)}`;
  let seenParent: unknown;
  proxy.inject({
    method: 'eth_getBlockByNumber',
    when: (params) => params[0] === reserved.number,
    result: (block) => {
      assert.ok(typeof block === 'object' && block !== null && 'parentHash' in block);
      seenParent = block.parentHash;
      return { ...block, parentHash: broken };
    },
  });
  const faulted = (await call(proxy.url, 'eth_getBlockByNumber', [reserved.number, false])).result as Block;
  assert.equal(seenParent, parentHash);
  assert.deepEqual(faulted, { ...reserved, parentHash: broken });
});

test('remove() and clear() restore pass-through', async () => {
  const error = { code: -32000, message: 'down' };
  const fault = proxy.inject({ method: 'eth_chainId', error });
  assert.deepEqual((await call(proxy.url, 'eth_chainId')).error, error);
  fault.remove();
  assert.equal((await call(proxy.url, 'eth_chainId')).result, CHAIN_ID);
  assert.equal(fault.hits(), 1);

  proxy.inject({ method: 'eth_chainId', error });
  proxy.inject({ method: 'eth_blockNumber', result: () => '0x0' });
  proxy.clear();
  const from = proxy.calls.length;
  const answers = await batchOf(proxy.url, [request('eth_chainId', [], 1), request('eth_blockNumber', [], 2)]);
  assert.equal(answers[0]!.result, CHAIN_ID);
  assert.equal(Number(answers[1]!.result), await head());
  assert.deepEqual(callsSince(proxy, from), [
    ['eth_chainId', false],
    ['eth_blockNumber', false],
  ]);
});

test('a malformed body gets a -32700 answer and the proxy keeps serving', async () => {
  const from = proxy.calls.length;
  assert.deepEqual(await rpc(proxy.url, '{"jsonrpc":"2.0","id":1,"method":'), {
    jsonrpc: '2.0',
    id: null,
    error: { code: -32700, message: 'Parse error' },
  });
  // A batch member that is no request is refused on its own; the rest is answered.
  const answers = await batchOf(proxy.url, [42, request('eth_chainId', [], 9)]);
  assert.deepEqual(answers, [
    { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request' } },
    { jsonrpc: '2.0', id: 9, result: CHAIN_ID },
  ]);
  assert.equal((await call(proxy.url, 'eth_chainId')).result, CHAIN_ID);
  assert.deepEqual(callsSince(proxy, from), [
    ['eth_chainId', false],
    ['eth_chainId', false],
  ]);
});
