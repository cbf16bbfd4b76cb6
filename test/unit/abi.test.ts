import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Interface, id } from 'ethers';
import { dataMarketAbi, protocolState, protocolStateAbi, topics } from '../../src/chain/abi.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sharedData = path.resolve(repoRoot, '../shared/data');

/** The real upstream ABI; a missing file fails the test that needs it, loudly. */
function loadUpstreamAbi(file: string): Interface {
  const abiPath = path.join(sharedData, file);
  assert.ok(existsSync(abiPath), `upstream ABI not found at ${abiPath}: the comparison with the real contract cannot run`);
  const json: unknown = JSON.parse(readFileSync(abiPath, 'utf8'));
  assert.ok(Array.isArray(json) && json.length > 0, `${abiPath} is not a non-empty JSON ABI array`);
  return new Interface(json);
}

describe('ProtocolState topic hashes (upstream-collector.md §2.2)', () => {
  test('EpochReleased', () => {
    assert.equal(topics.EpochReleased, '0xf7d2257d4a1c445138ab52bd3c22425bfed29da81d0173961c697dc14fcba60c');
  });

  test('SnapshotBatchSubmitted', () => {
    assert.equal(topics.SnapshotBatchSubmitted, '0xcbd08c0021940d15cc732c670afbb27d5170795ee3a4ba0e47368452fae58c5d');
  });

  test('DayStartedEvent', () => {
    assert.equal(topics.DayStartedEvent, '0x9bf380fe36617cd5d995968abb4ae6d3657a763c126535d590b4503ff2542426');
  });

  test('not the DataMarket-contract variants (address-less)', () => {
    assert.notEqual(topics.EpochReleased, '0x108f87075a74f81fa2271fdf9fc0883a1811431182601fc65d24513970336640');
    assert.notEqual(topics.SnapshotBatchSubmitted, '0x3151fabdd1bacd216584de61e446f964f73b7864a351548f60ce030cb6242a0d');
  });

  test('keccak of the canonical signature text', () => {
    assert.equal(topics.EpochReleased, id('EpochReleased(address,uint256,uint256,uint256,uint256)'));
  });
});

describe('view selectors (neighbours.md §3.2)', () => {
  const expected: Array<[string, string]> = [
    ['snapshotSubmissionWindow', '0xf3354db0'],
    ['DAY_SIZE', '0x04a0a5bb'],
    ['dailySnapshotQuota', '0x095cb210'],
    ['dayCounter', '0x02143405'],
    ['epochsInADay', '0x0a1b7227'],
  ];
  for (const [name, selector] of expected) {
    test(`ProtocolState ${name} = ${selector}`, () => {
      assert.equal(protocolState.getFunction(name)!.selector, selector);
    });
  }

  test('DataMarket eligibleNodesForDay = 0x3b54c84e', () => {
    assert.equal(new Interface(dataMarketAbi).getFunction('eligibleNodesForDay')!.selector, '0x3b54c84e');
  });

  test('every view takes one argument and returns one uint256', () => {
    for (const fragment of protocolState.fragments) {
      if (fragment.type !== 'function') continue;
      const fn = protocolState.getFunction(fragment.format('sighash'))!;
      assert.equal(fn.stateMutability, 'view', fn.name);
      assert.deepEqual(
        fn.outputs.map((o) => o.type),
        ['uint256'],
        fn.name,
      );
    }
  });
});

describe('src/chain/abi.ts against the real upstream ABI (../shared/data)', () => {
  test('ProtocolState: every event has the same signature, indexed flags and topic hash', () => {
    const upstream = loadUpstreamAbi('ProtocolState.abi.json');
    let events = 0;
    for (const ours of protocolState.fragments) {
      if (ours.type !== 'event') continue;
      events++;
      const sighash = ours.format('sighash');
      const theirs = upstream.getEvent(sighash);
      assert.ok(theirs, `event ${sighash} is not in the upstream ProtocolState ABI`);
      const mine = protocolState.getEvent(sighash)!;
      assert.equal(mine.format('minimal'), theirs.format('minimal'), `indexed flags of ${sighash} differ`);
      assert.equal(mine.topicHash, theirs.topicHash);
      assert.equal(mine.anonymous, theirs.anonymous);
    }
    assert.equal(events, 3);
  });

  test('ProtocolState: every view has the same signature, mutability, outputs and selector', () => {
    const upstream = loadUpstreamAbi('ProtocolState.abi.json');
    let functions = 0;
    for (const ours of protocolState.fragments) {
      if (ours.type !== 'function') continue;
      functions++;
      const sighash = ours.format('sighash');
      const theirs = upstream.getFunction(sighash);
      assert.ok(theirs, `function ${sighash} is not in the upstream ProtocolState ABI`);
      const mine = protocolState.getFunction(sighash)!;
      assert.equal(mine.format('minimal'), theirs.format('minimal'));
      assert.equal(mine.selector, theirs.selector);
    }
    assert.equal(functions, 5);
  });

  test('every entry of protocolStateAbi was parsed (none silently dropped)', () => {
    assert.equal(protocolState.fragments.length, protocolStateAbi.length);
  });

  test('DataMarket: eligibleNodesForDay matches the upstream DataMarket ABI', () => {
    const upstream = loadUpstreamAbi('DataMarket.abi.json');
    const ours = new Interface(dataMarketAbi);
    assert.equal(ours.fragments.length, dataMarketAbi.length);
    for (const fragment of ours.fragments) {
      const sighash = fragment.format('sighash');
      const theirs = upstream.getFunction(sighash);
      assert.ok(theirs, `function ${sighash} is not in the upstream DataMarket ABI`);
      assert.equal(ours.getFunction(sighash)!.format('minimal'), theirs.format('minimal'));
    }
  });

  test('the topic hashes are the upstream ones', () => {
    const upstream = loadUpstreamAbi('ProtocolState.abi.json');
    for (const name of ['EpochReleased', 'SnapshotBatchSubmitted', 'DayStartedEvent'] as const) {
      // Only ProtocolState's variants (with the market address) are in this ABI.
      const candidates: string[] = [];
      upstream.forEachEvent((e) => {
        if (e.name === name) candidates.push(e.topicHash);
      });
      assert.deepEqual(candidates, [topics[name]], name);
    }
  });
});
