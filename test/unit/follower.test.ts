/**
 * The chain follower's pure logic: log blooms, the eth_getLogs span that adapts to each
 * provider's refusals, and the chain-shape checks of the fork-point walk.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { JsonRpcError, RpcTransportError } from '../../src/chain/jsonrpc.js';
import { BrokenHashChain, type BlockHeader } from '../../src/chain/rpc.js';
import { bloomMayContain, bloomMayMatch, bloomOfLogs, parseBloom } from '../../src/follower/bloom.js';
import { assertLinked, findForkPoint } from '../../src/follower/fork.js';
import { AdaptiveRange, REGROW_AFTER, rangeRefusalOf } from '../../src/follower/range.js';

describe('log blooms', () => {
  // A published vector (breadwallet-core's bloom test, from the Ethereum test suite's log
  // tests): a log of address 0x095e…2d87 with one all-zero topic, and the bloom it makes.
  const ADDRESS = '0x095e7baea6a6c7c4c2dfeb977efac326af552d87';
  const ZERO_ITEM = '0x' + '00'.repeat(32);
  const EXPECTED =
    '0x00000000000000001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000020000000000000000000800000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000020000000000040000000000000000000000000000000000000000000000000000000';

  test('the bloom of a log is the published one', () => {
    assert.equal(EXPECTED.length, 2 + 512);
    assert.equal(bloomOfLogs([{ address: ADDRESS, topics: [ZERO_ITEM] }]), EXPECTED);
  });

  test('no logs make the empty bloom; the order of logs and items does not matter', () => {
    assert.equal(bloomOfLogs([]), '0x' + '00'.repeat(256));
    const a = { address: ADDRESS, topics: [ZERO_ITEM] };
    const b = { address: '0x' + '11'.repeat(20), topics: ['0x' + '22'.repeat(32), '0x' + '33'.repeat(32)] };
    assert.equal(bloomOfLogs([a, b]), bloomOfLogs([b, a]));
    assert.notEqual(bloomOfLogs([a, b]), bloomOfLogs([a]), 'a missing log changes the bloom');
  });

  test('bloomMayContain: every item added is in; an item never added is not (6 bits set of 2048)', () => {
    const bloom = parseBloom(EXPECTED);
    assert.equal(bloomMayContain(bloom, ADDRESS), true);
    assert.equal(bloomMayContain(bloom, ZERO_ITEM), true);
    assert.equal(bloomMayContain(bloom, '0x' + '00'.repeat(20)), false, 'the 20-byte zero address is another item than the 32-byte zero topic');
    assert.equal(bloomMayContain(bloom, '0x' + 'ab'.repeat(20)), false);
  });

  test('bloomMayMatch: the address and, per position, one of the topics', () => {
    const market = '0x' + '00'.repeat(12) + 'cd'.repeat(20);
    const [released, dayStarted, other] = ['0x' + 'f7'.repeat(32), '0x' + '9b'.repeat(32), '0x' + '5e'.repeat(32)];
    const bloom = parseBloom(bloomOfLogs([{ address: ADDRESS, topics: [released, market] }]));
    assert.equal(bloomMayMatch(bloom, ADDRESS, [[released, dayStarted], [market]]), true);
    assert.equal(bloomMayMatch(bloom, ADDRESS, [[dayStarted, other], [market]]), false, 'no followed topic0');
    assert.equal(bloomMayMatch(bloom, ADDRESS, [null, [market]]), true, 'null is any topic');
    assert.equal(bloomMayMatch(bloom, '0x' + 'ab'.repeat(20), [[released], [market]]), false, 'another contract');
    assert.equal(bloomMayMatch(parseBloom('0x' + '00'.repeat(256)), ADDRESS, []), false);
  });

  test('parseBloom refuses anything but 256 bytes', () => {
    assert.throws(() => parseBloom('0x' + '00'.repeat(255)), /256 bytes, got 255/);
  });
});

describe('eth_getLogs span refusals, as providers word them', () => {
  const rpc = (code: number, message: string, data?: unknown) => new JsonRpcError('eth_getLogs', code, message, data);
  const cases: Array<[string, unknown, ReturnType<typeof rangeRefusalOf>]> = [
    ['Infura -32005 with data {from, to}', rpc(-32005, 'query returned more than 10000 results', { from: '0x1', to: '0x64', limit: 10000 }), { maxBlocks: 100, fixedLimit: false }],
    ['Infura -32005 with a range in the message', rpc(-32005, 'query returned more than 10000 results. Try with this block range [0x1, 0x64].'), { maxBlocks: 100, fixedLimit: false }],
    ['a bare -32005', rpc(-32005, 'query returned more than 10000 results'), { fixedLimit: false }],
    [
      'Alchemy -32602 with a suggested range',
      rpc(-32602, 'Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response. Based on your parameters, this block range should work: [0x1c2f5b0, 0x1c2fd7f]'),
      { maxBlocks: 2000, fixedLimit: false },
    ],
    ['-32602 block range too large', rpc(-32602, 'block range too large'), { fixedLimit: false }],
    ['QuickNode -32614 limited to a 10,000 range', rpc(-32614, 'eth_getLogs is limited to a 10,000 range'), { maxBlocks: 10_000, fixedLimit: true }],
    ['geth-based nodes: exceed maximum block range', rpc(-32000, 'exceed maximum block range: 5000'), { maxBlocks: 5000, fixedLimit: true }],
    ['reth: max results, retry with a decimal range', rpc(-32602, 'query exceeds max results 20000, retry with the range 18000000-18000100'), { maxBlocks: 101, fixedLimit: false }],
    ['reth: max block range', rpc(-32602, 'query exceeds max block range 100000'), { maxBlocks: 100_000, fixedLimit: true }],
    ['Besu: range exceeds maximum range limit', rpc(-32000, 'Requested range exceeds maximum range limit'), { fixedLimit: false }],
    ['a limit in k blocks', rpc(-32000, 'eth_getLogs range is too large, max is 1k blocks'), { maxBlocks: 1000, fixedLimit: true }],
    ['a limit of N blocks', rpc(-32600, 'Requested range exceeds the limit of 1000 blocks'), { maxBlocks: 1000, fixedLimit: true }],
    ['Ankr: block range is too wide', rpc(-32600, 'block range is too wide'), { fixedLimit: false }],
    ['ranges over N blocks are not supported', rpc(35, 'ranges over 10000 blocks are not supported on freetier'), { maxBlocks: 10_000, fixedLimit: true }],
    ['a request that timed out', new RpcTransportError('eth_getLogs: no answer from http://node within 30000 ms', true), { fixedLimit: false }],
  ];
  for (const [name, err, expected] of cases) {
    test(name, () => assert.deepEqual(rangeRefusalOf(err), expected));
  }

  test('other failures are no refusal of the span: a narrower range would not help', () => {
    assert.equal(rangeRefusalOf(new RpcTransportError('eth_getLogs: http://node: ECONNREFUSED')), null);
    assert.equal(rangeRefusalOf(rpc(-32000, 'header not found')), null);
    assert.equal(rangeRefusalOf(rpc(-32601, 'the method eth_getLogs does not exist/is not available')), null);
    assert.equal(rangeRefusalOf(new Error('boom')), null);
  });
});

describe('AdaptiveRange', () => {
  test('starts at 1000 (or the cap), doubles after each answer up to the cap while no refusal came', () => {
    const range = new AdaptiveRange(5000);
    assert.equal(range.size, 1000);
    range.grow();
    assert.equal(range.size, 2000);
    range.grow();
    range.grow();
    assert.equal(range.size, 5000);
    assert.equal(new AdaptiveRange(300).size, 300);
  });

  test('a refusal without a span halves what was asked; with a smaller span takes it', () => {
    const range = new AdaptiveRange(2000, 2000);
    range.shrink(2000, { fixedLimit: false });
    assert.equal(range.size, 1000);
    range.shrink(1000, { maxBlocks: 100, fixedLimit: false });
    assert.equal(range.size, 100);
    range.shrink(100, { maxBlocks: 500, fixedLimit: false });
    assert.equal(range.size, 50, 'a suggestion above what was refused is no help: half');
    for (let i = 0; i < 10; i++) range.shrink(range.size, { fixedLimit: false });
    assert.equal(range.size, 1, 'never below one block');
  });

  test('after a refusal the span holds for REGROW_AFTER answers, then grows back (a result count depends on the blocks)', () => {
    const dense = new AdaptiveRange(2000, 2000);
    dense.shrink(2000, { maxBlocks: 100, fixedLimit: false });
    for (let i = 0; i < REGROW_AFTER - 1; i++) dense.grow();
    assert.equal(dense.size, 100, 'held');
    dense.grow();
    assert.equal(dense.size, 200);
    for (let i = 0; i < 4; i++) dense.grow();
    assert.equal(dense.size, 2000, 'back to the cap');
  });

  test('a stated limit caps growth from then on', () => {
    const limited = new AdaptiveRange(2000, 2000);
    limited.shrink(2000, { maxBlocks: 100, fixedLimit: true });
    for (let i = 0; i < REGROW_AFTER + 5; i++) limited.grow();
    assert.equal(limited.size, 100);
  });

  test('the cap must be a positive integer', () => {
    assert.throws(() => new AdaptiveRange(0), /positive integer/);
  });
});

describe('fork-point walk', () => {
  const hash = (n: number, fork = 'a') => `0x${fork.repeat(2)}${n.toString(16).padStart(62, '0')}`;
  const chain = (from: number, to: number, fork = 'a', forkFrom = Infinity): BlockHeader[] =>
    Array.from({ length: to - from + 1 }, (_, i) => {
      const n = from + i;
      const f = (m: number) => (m >= forkFrom ? fork : 'a');
      return { number: n, hash: hash(n, f(n)), parentHash: hash(n - 1, f(n - 1)), timestamp: n, logsBloom: '0x' + '00'.repeat(256) };
    });

  test('assertLinked accepts a chain, and one that continues the anchor', () => {
    assertLinked(chain(10, 20));
    assertLinked(chain(10, 20), { number: 9, hash: hash(9) });
    assertLinked([]);
  });

  test('assertLinked refuses a parentHash that is not the block before, naming the block', () => {
    const broken = chain(10, 20);
    broken[5] = { ...broken[5]!, parentHash: hash(99) };
    assert.throws(() => assertLinked(broken), (err: unknown) => err instanceof BrokenHashChain && err.atBlock === 15 && /block 15's parentHash/.test(err.message));
    assert.throws(() => assertLinked(chain(10, 12), { number: 9, hash: hash(9, 'b') }), (err: unknown) => err instanceof BrokenHashChain && err.atBlock === 10);
  });

  test('assertLinked refuses a gap', () => {
    const gap = [...chain(10, 12), ...chain(14, 15)];
    assert.throws(() => assertLinked(gap), /skip from block 12 to 14/);
  });

  test('findForkPoint: the highest block whose hash is the recorded one', () => {
    const recorded = new Map(chain(0, 50).map((h) => [h.number, h.hash]));
    const node = chain(0, 50, 'b', 46); // blocks 46.. replaced
    assert.equal(findForkPoint(node, (n) => recorded.get(n)), 45);
    assert.equal(findForkPoint(chain(0, 50), (n) => recorded.get(n)), 50, 'no fork: the top block');
  });

  test('findForkPoint: null when no block of the answer is the recorded one, or nothing is recorded', () => {
    const recorded = new Map(chain(0, 50).map((h) => [h.number, h.hash]));
    assert.equal(findForkPoint(chain(20, 50, 'b', 0), (n) => recorded.get(n)), null);
    assert.equal(findForkPoint(chain(20, 50), () => undefined), null);
  });
});
