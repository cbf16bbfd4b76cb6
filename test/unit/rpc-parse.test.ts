import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MalformedRpcAnswer, parseBlockHeader, parseLog } from '../../src/chain/rpc.js';

const HASH_A = '0x' + 'ab'.repeat(32);
const HASH_B = '0x' + '0123456789abcdef'.repeat(4);
const TOPIC0 = '0xf7d2257d4a1c445138ab52bd3c22425bfed29da81d0173961c697dc14fcba60c';

/** An eth_getBlockByNumber answer for block 0x1b4 = 436 (fields the parser ignores included). */
function rawBlock(): Record<string, unknown> {
  return {
    number: '0x1b4',
    hash: HASH_A,
    parentHash: HASH_B,
    timestamp: '0x6553f100',
    miner: '0x0000000000000000000000000000000000000000',
    transactions: [],
  };
}

function rawLog(): Record<string, unknown> {
  return {
    address: '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed',
    topics: [TOPIC0, '0x' + '00'.repeat(31) + '2a'],
    data: '0x' + '00'.repeat(96),
    blockNumber: '0xff',
    blockHash: HASH_A,
    logIndex: '0x3',
    transactionHash: HASH_B,
    removed: false,
  };
}

function malformed(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof MalformedRpcAnswer, `expected MalformedRpcAnswer, got ${String(err)}`);
    assert.equal(err.name, 'MalformedRpcAnswer');
    assert.match(err.message, message);
    return true;
  });
}

describe('parseBlockHeader', () => {
  test('a valid block gives its header with decimal numbers', () => {
    assert.deepEqual(parseBlockHeader(rawBlock(), 436), { number: 436, hash: HASH_A, parentHash: HASH_B, timestamp: 1_700_000_000 });
  });

  test('block 0 (0x0) parses', () => {
    assert.deepEqual(parseBlockHeader({ ...rawBlock(), number: '0x0' }, 0).number, 0);
  });

  test('upper-case hashes are normalised to lower case', () => {
    const header = parseBlockHeader({ ...rawBlock(), hash: '0x' + 'AB'.repeat(32), parentHash: HASH_B.toUpperCase().replace('0X', '0x') }, 436);
    assert.equal(header.hash, HASH_A);
    assert.equal(header.parentHash, HASH_B);
  });

  test('upper-case hex quantities parse', () => {
    assert.equal(parseBlockHeader({ ...rawBlock(), number: '0x1B4' }, 436).number, 436);
  });

  test('another block than asked for is MalformedRpcAnswer', () => {
    malformed(() => parseBlockHeader(rawBlock(), 437), /asked for block 437, got block 436/);
  });

  test('null (block not found) is MalformedRpcAnswer', () => {
    malformed(() => parseBlockHeader(null, 436), /block 436/);
  });

  test('a non-object answer is MalformedRpcAnswer', () => {
    malformed(() => parseBlockHeader('0x1b4', 436), /block 436/);
  });

  test('a missing hash is MalformedRpcAnswer', () => {
    const block = rawBlock();
    delete block.hash;
    malformed(() => parseBlockHeader(block, 436), /hash/);
  });

  test('a short hash is MalformedRpcAnswer', () => {
    malformed(() => parseBlockHeader({ ...rawBlock(), parentHash: '0x' + 'ab'.repeat(31) }, 436), /parentHash/);
  });

  test('a hash without 0x is MalformedRpcAnswer', () => {
    malformed(() => parseBlockHeader({ ...rawBlock(), hash: 'ab'.repeat(32) }, 436), /hash/);
  });

  test('a decimal timestamp (not hex) is MalformedRpcAnswer', () => {
    malformed(() => parseBlockHeader({ ...rawBlock(), timestamp: '1700000000' }, 436), /timestamp/);
  });

  test('a numeric timestamp (not a hex string) is MalformedRpcAnswer', () => {
    malformed(() => parseBlockHeader({ ...rawBlock(), timestamp: 1_700_000_000 }, 436), /timestamp/);
  });

  test('an empty quantity "0x" is MalformedRpcAnswer', () => {
    malformed(() => parseBlockHeader({ ...rawBlock(), timestamp: '0x' }, 436), /timestamp/);
  });

  test('a number beyond 2^53 is MalformedRpcAnswer, not a rounded number', () => {
    malformed(() => parseBlockHeader({ ...rawBlock(), timestamp: '0x20000000000001' }, 436), /out of range/);
  });
});

describe('parseLog', () => {
  test('a valid log', () => {
    assert.deepEqual(parseLog(rawLog()), {
      address: '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed',
      topics: [TOPIC0, '0x' + '00'.repeat(31) + '2a'],
      data: '0x' + '00'.repeat(96),
      blockNumber: 255,
      blockHash: HASH_A,
      logIndex: 3,
      removed: false,
    });
  });

  test('the block hash is normalised to lower case', () => {
    assert.equal(parseLog({ ...rawLog(), blockHash: '0x' + 'AB'.repeat(32) }).blockHash, HASH_A);
  });

  test('missing topics is MalformedRpcAnswer', () => {
    const log = rawLog();
    delete log.topics;
    malformed(() => parseLog(log), /topics/);
  });

  test('a non-string topic is MalformedRpcAnswer', () => {
    malformed(() => parseLog({ ...rawLog(), topics: [TOPIC0, 42] }), /topics/);
  });

  test('missing data is MalformedRpcAnswer', () => {
    const log = rawLog();
    delete log.data;
    malformed(() => parseLog(log), /data/);
  });

  test('a blockNumber that is not hex is MalformedRpcAnswer', () => {
    malformed(() => parseLog({ ...rawLog(), blockNumber: '255' }), /blockNumber/);
  });

  test('a null blockHash (pending log) is MalformedRpcAnswer', () => {
    malformed(() => parseLog({ ...rawLog(), blockHash: null }), /blockHash/);
  });

  test('a logIndex that is not hex is MalformedRpcAnswer', () => {
    malformed(() => parseLog({ ...rawLog(), logIndex: 3 }), /logIndex/);
  });

  test('null is MalformedRpcAnswer', () => {
    malformed(() => parseLog(null), /null/);
  });

  test('removed: true is kept', () => {
    assert.equal(parseLog({ ...rawLog(), removed: true }).removed, true);
  });

  test('removed absent means false', () => {
    const log = rawLog();
    delete log.removed;
    assert.equal(parseLog(log).removed, false);
  });
});
