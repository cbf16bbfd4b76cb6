import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RejectedRpcAnswer, parseBlockHeader, parseLog, topicsMatch } from '../../src/chain/rpc.js';

const HASH_A = '0x' + 'ab'.repeat(32);
const HASH_B = '0x' + '0123456789abcdef'.repeat(4);
const TOPIC0 = '0xf7d2257d4a1c445138ab52bd3c22425bfed29da81d0173961c697dc14fcba60c';
const BLOOM = '0x' + '00'.repeat(255) + '80';

/** An eth_getBlockByNumber answer for block 0x1b4 = 436 (fields the parser ignores included). */
function rawBlock(): Record<string, unknown> {
  return {
    number: '0x1b4',
    hash: HASH_A,
    parentHash: HASH_B,
    timestamp: '0x6553f100',
    logsBloom: BLOOM,
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
    assert.ok(err instanceof RejectedRpcAnswer, `expected RejectedRpcAnswer, got ${String(err)}`);
    assert.equal(err.name, 'RejectedRpcAnswer');
    assert.match(err.message, message);
    return true;
  });
}

describe('parseBlockHeader', () => {
  test('a valid block gives its header with decimal numbers', () => {
    assert.deepEqual(parseBlockHeader(rawBlock(), 436), { number: 436, hash: HASH_A, parentHash: HASH_B, timestamp: 1_700_000_000, logsBloom: BLOOM });
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

  test('another block than asked for is RejectedRpcAnswer', () => {
    malformed(() => parseBlockHeader(rawBlock(), 437), /asked for block 437, got block 436/);
  });

  test('null (block not found) is RejectedRpcAnswer', () => {
    malformed(() => parseBlockHeader(null, 436), /block 436/);
  });

  test('a non-object answer is RejectedRpcAnswer', () => {
    malformed(() => parseBlockHeader('0x1b4', 436), /block 436/);
  });

  test('a missing hash is RejectedRpcAnswer', () => {
    const block = rawBlock();
    delete block.hash;
    malformed(() => parseBlockHeader(block, 436), /hash/);
  });

  test('a short hash is RejectedRpcAnswer', () => {
    malformed(() => parseBlockHeader({ ...rawBlock(), parentHash: '0x' + 'ab'.repeat(31) }, 436), /parentHash/);
  });

  test('a hash without 0x is RejectedRpcAnswer', () => {
    malformed(() => parseBlockHeader({ ...rawBlock(), hash: 'ab'.repeat(32) }, 436), /hash/);
  });

  test('a decimal timestamp (not hex) is RejectedRpcAnswer', () => {
    malformed(() => parseBlockHeader({ ...rawBlock(), timestamp: '1700000000' }, 436), /timestamp/);
  });

  test('a numeric timestamp (not a hex string) is RejectedRpcAnswer', () => {
    malformed(() => parseBlockHeader({ ...rawBlock(), timestamp: 1_700_000_000 }, 436), /timestamp/);
  });

  test('an empty quantity "0x" is RejectedRpcAnswer', () => {
    malformed(() => parseBlockHeader({ ...rawBlock(), timestamp: '0x' }, 436), /timestamp/);
  });

  test('a number beyond 2^53 is RejectedRpcAnswer, not a rounded number', () => {
    malformed(() => parseBlockHeader({ ...rawBlock(), timestamp: '0x20000000000001' }, 436), /out of range/);
  });

  test('a missing or short logsBloom is RejectedRpcAnswer; an upper-case one is normalised', () => {
    const block = rawBlock();
    delete block.logsBloom;
    malformed(() => parseBlockHeader(block, 436), /logsBloom/);
    malformed(() => parseBlockHeader({ ...rawBlock(), logsBloom: '0x' + '00'.repeat(255) }, 436), /logsBloom: expected 256 bytes/);
    assert.equal(parseBlockHeader({ ...rawBlock(), logsBloom: BLOOM.toUpperCase().replace('0X', '0x') }, 436).logsBloom, BLOOM);
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
    });
  });

  test('block hash, address and topics are normalised to lower case', () => {
    const log = parseLog({ ...rawLog(), blockHash: '0x' + 'AB'.repeat(32), address: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', topics: [TOPIC0.toUpperCase().replace('0X', '0x')] });
    assert.equal(log.blockHash, HASH_A);
    assert.equal(log.address, '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed');
    assert.deepEqual(log.topics, [TOPIC0]);
  });

  test('missing topics is RejectedRpcAnswer', () => {
    const log = rawLog();
    delete log.topics;
    malformed(() => parseLog(log), /topics/);
  });

  test('a non-string topic is RejectedRpcAnswer', () => {
    malformed(() => parseLog({ ...rawLog(), topics: [TOPIC0, 42] }), /topics/);
  });

  test('missing data is RejectedRpcAnswer', () => {
    const log = rawLog();
    delete log.data;
    malformed(() => parseLog(log), /data/);
  });

  test('a blockNumber that is not hex is RejectedRpcAnswer', () => {
    malformed(() => parseLog({ ...rawLog(), blockNumber: '255' }), /blockNumber/);
  });

  test('a null blockHash (pending log) is RejectedRpcAnswer', () => {
    malformed(() => parseLog({ ...rawLog(), blockHash: null }), /blockHash/);
  });

  test('a logIndex that is not hex is RejectedRpcAnswer', () => {
    malformed(() => parseLog({ ...rawLog(), logIndex: 3 }), /logIndex/);
  });

  test('null is RejectedRpcAnswer', () => {
    malformed(() => parseLog(null), /null/);
  });

  test('a log marked removed (its block left the chain) is RejectedRpcAnswer', () => {
    malformed(() => parseLog({ ...rawLog(), removed: true }), /removed/);
  });

  test('removed absent is a canonical log', () => {
    const log = rawLog();
    delete log.removed;
    assert.equal(parseLog(log).blockNumber, 255);
  });
});

describe('topicsMatch', () => {
  const log = { topics: [TOPIC0, HASH_A, HASH_B] };
  test('null matches any topic, a string that topic, an array any of its topics', () => {
    assert.equal(topicsMatch(log, [TOPIC0, null, HASH_B]), true);
    assert.equal(topicsMatch(log, [[HASH_B, TOPIC0], HASH_A]), true);
    assert.equal(topicsMatch(log, []), true);
  });
  test('a topic in another position, or a missing position, does not match', () => {
    assert.equal(topicsMatch(log, [HASH_A]), false);
    assert.equal(topicsMatch(log, [[HASH_A, HASH_B]]), false);
    assert.equal(topicsMatch({ topics: [TOPIC0] }, [TOPIC0, HASH_A]), false);
  });
});
